"""Sentiment corpora as they are distributed, read through ``load_splits`` (what ``--data`` uses).

Each fixture is written here from the format's description: GLUE SST-2's TSV, Zhang et al.'s
Yelp and Amazon polarity CSVs, fastText lines and the aclImdb folder tree. Each is detected
without a flag, the log names the layout, and a broken line is reported at ``file:line``.
"""

from collections import Counter

import pytest

from apps.sentiment.data import Example, load_splits, read_examples
from shared.errors import DataError
from tests.datafiles import raises_at, write

GOOD = ["a warm and funny film", "the best tacos in town", "friendly staff and fair prices",
        "a joy from start to finish", "sharp writing and a great cast"]
BAD = ["cold food and a long wait", "the plot goes nowhere", "rude staff and a dirty table",
       "two hours i will never get back", "flat jokes and a dull cast"]


def loaded(path):
    """``(every example of every split, logged lines)`` of ``load_splits(path)``."""
    logged = []
    splits = load_splits(path, log=logged.append)
    return splits.train + splits.validation + splits.test, logged


def by_text(examples):
    return {example.text: example.label for example in examples}


# --- GLUE SST-2 ---------------------------------------------------------------------------


def sst2(rows):
    return "sentence\tlabel\n" + "".join(f"{text} \t{label}\n" for text, label in rows)


def test_sst2_tsv_with_its_header(tmp_path):
    path = write(tmp_path / "SST-2" / "train.tsv", sst2([(t, 1) for t in GOOD] + [(t, 0) for t in BAD]))
    examples, logged = loaded(path)
    assert by_text(examples) == {**{t: "1" for t in GOOD}, **{t: "0" for t in BAD}}
    assert logged == [f"{path}: read as a TSV with a header naming the text and label columns (GLUE SST-2 layout)"]


def test_sst2_row_without_its_label_is_named(tmp_path):
    path = write(tmp_path / "train.tsv", sst2([(t, 1) for t in GOOD]).replace(f"{GOOD[2]} \t1", GOOD[2]))
    with raises_at(path, 4) as caught:
        load_splits(path, log=None)
    assert "row has 1 field(s), the header has 2" in str(caught.value)


def test_sst2_unlabelled_test_file_is_refused_at_its_header(tmp_path):
    path = write(tmp_path / "test.tsv", "index\tsentence\n0\tuneasy mishmash of styles\n")
    with raises_at(path, 1) as caught:
        read_examples(path)
    assert "no label column" in str(caught.value)


# --- Yelp / Amazon polarity -----------------------------------------------------------------


def csv_field(text):
    return '"' + text.replace('"', '""') + '"'


def test_yelp_polarity_csv_without_header(tmp_path):
    rows = [("2", 'The "best" tacos in town, no doubt.\\nWill be back!')] + [("2", t) for t in GOOD[1:]] \
        + [("1", "Cold food, rude staff.\\n\\nNever again.")] + [("1", t) for t in BAD[1:]]
    path = write(tmp_path / "yelp_review_polarity_csv" / "train.csv",
                 "".join(f"{csv_field(label)},{csv_field(text)}\n" for label, text in rows))
    examples, logged = loaded(path)
    labels = by_text(examples)
    assert labels['The "best" tacos in town, no doubt.\nWill be back!'] == "2"
    assert labels["Cold food, rude staff.\n\nNever again."] == "1"
    assert Counter(labels.values()) == {"1": 5, "2": 5}
    assert logged == [f"{path}: read as a headerless CSV 'label,[title,]text' (Yelp/Amazon polarity layout: "
                      "label 1 = negative, 2 = positive)"]


def test_amazon_polarity_csv_joins_title_and_text(tmp_path):
    rows = [("2", "Great CD", "My family loved it, every song.")] + [("2", "", t) for t in GOOD[1:]] \
        + [("1", "Broke in a week", "Cheap plastic.")] + [("1", "Meh", t) for t in BAD[1:]]
    path = write(tmp_path / "train.csv", "".join(",".join(map(csv_field, row)) + "\n" for row in rows))
    labels = by_text(loaded(path)[0])
    assert labels["Great CD\nMy family loved it, every song."] == "2"
    assert labels["Broke in a week\nCheap plastic."] == "1" and labels[GOOD[1]] == "2"


def test_a_polarity_folder_uses_its_train_and_test_files(tmp_path):
    folder = tmp_path / "amazon_review_polarity_csv"
    write(folder / "readme.txt", "Amazon review polarity dataset\n")
    write(folder / "train.csv", "".join(f'"{1 + n % 2}","title","{t}"\n' for n, t in enumerate(GOOD + BAD)))
    write(folder / "test.csv", '"1","t","awful"\n"2","t","lovely"\n')
    splits = load_splits(folder, log=None)
    assert [e.text for e in splits.test] in (["t\nawful", "t\nlovely"], ["t\nlovely", "t\nawful"])
    assert splits.labels == ["1", "2"]


@pytest.mark.parametrize("row, message", [('"pos","a fine film"', "with a numeric label"),
                                          ('"2","a","b","c"', "got 4 field(s)"),
                                          ('"2",""', "empty title and text")])
def test_polarity_row_that_breaks_the_layout_is_named(tmp_path, row, message):
    path = write(tmp_path / "train.csv", '"2","good"\n"1","bad"\n' + row + '\n"1","worse"\n')
    with raises_at(path, 3) as caught:
        read_examples(path)
    assert message in str(caught.value)


def test_polarity_row_with_an_unclosed_quote_is_named_where_it_starts(tmp_path):
    path = write(tmp_path / "train.csv", '"2","good"\n"1","bad"\n"1","never closed\n"2","fine"\n')
    with raises_at(path, 3) as caught:
        read_examples(path)
    assert "malformed CSV" in str(caught.value)


# --- fastText -------------------------------------------------------------------------------


def test_fasttext_polarity_lines(tmp_path):
    path = write(tmp_path / "train.ft.txt.gz", "".join(f"__label__2 {t}\n" for t in GOOD)
                 + "".join(f"__label__1 {t}\n" for t in BAD), gz=True)
    examples, logged = loaded(path)
    assert by_text(examples) == {**{t: "2" for t in GOOD}, **{t: "1" for t in BAD}}
    assert logged == [f"{path}: read as fastText lines '__label__LABEL text'"]


def test_fasttext_line_without_a_label_is_named(tmp_path):
    path = write(tmp_path / "train.ft.txt", "__label__2 good\n\n__label__1 bad\nforgot the label\n")
    with raises_at(path, 4) as caught:
        load_splits(path, log=None)
    assert "expected a fastText line" in str(caught.value)


# --- aclImdb --------------------------------------------------------------------------------


def aclimdb(root):
    """The extracted archive's layout: ``<id>_<rating>.txt`` per review, plus the extra files."""
    for split in ("train", "test"):
        for number, text in enumerate(GOOD):
            write(root / split / "pos" / f"{number}_{7 + number % 4}.txt", f"{text}.<br /><br />{split}")
        for number, text in enumerate(BAD):
            write(root / split / "neg" / f"{number}_{1 + number % 4}.txt", f"{text}. {split}")
        write(root / split / "urls_pos.txt", "http://www.imdb.com/title/tt0000001/usercomments\n")
        write(root / split / "labeledBow.feat", "9 0:9 1:1\n")
    write(root / "train" / "unsup" / "0_0.txt", "no label here")
    write(root / "imdb.vocab", "the\nand\n")
    write(root / "README", "Large Movie Review Dataset v1.0\n")


def test_aclimdb_tree_keeps_its_official_split(tmp_path):
    aclimdb(tmp_path / "aclImdb")
    logged = []
    splits = load_splits(tmp_path / "aclImdb", log=logged.append)
    assert len(splits.test) == 10 and len(splits.train) + len(splits.validation) == 10
    assert Example("a warm and funny film.<br /><br />train", "pos") in splits.train + splits.validation
    assert all(e.text.endswith("test") for e in splits.test) and splits.labels == ["neg", "pos"]
    layout = "read as label folders (aclImdb layout: one subfolder of .txt files per label)"
    assert logged == [f"{tmp_path / 'aclImdb' / 'train'}: {layout}", f"{tmp_path / 'aclImdb' / 'test'}: {layout}"]


def test_aclimdb_empty_review_file_is_named(tmp_path):
    aclimdb(tmp_path / "aclImdb")
    empty = write(tmp_path / "aclImdb" / "test" / "neg" / "12_3.txt", "  \n")
    with pytest.raises(DataError, match=f"^{empty}:1: empty file"):
        load_splits(tmp_path / "aclImdb", log=None)


def test_glue_sst2_folder_tests_on_dev_because_its_test_file_has_no_labels(tmp_path):
    folder = tmp_path / "SST-2"
    write(folder / "train.tsv", sst2([(t, 1) for t in GOOD] + [(t, 0) for t in BAD]))
    write(folder / "dev.tsv", sst2([("a lovely surprise", 1), ("a tired mess", 0)]))
    write(folder / "test.tsv", "index\tsentence\n0\tuneasy mishmash of styles\n")
    splits = load_splits(folder, log=None)
    assert sorted(e.text for e in splits.test) == ["a lovely surprise", "a tired mess"]
    assert len(splits.train) + len(splits.validation) == 10 and splits.validation
    assert "test.tsv has no labels, so dev.tsv is the test set" in splits.source
