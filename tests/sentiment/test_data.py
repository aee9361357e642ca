import hashlib
import http.server
import io
import re
import subprocess
import sys
import tarfile
import threading
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from apps.sentiment.data import (DATASETS, IMDB, Example, Splits, embedding_corpus,
                                 load_splits, read_examples)
from shared.datasets import RemoteDataset
from shared.errors import DataError, SeqappsError
from tests.datafiles import raises_at, write

REPO_ROOT = Path(__file__).resolve().parents[2]


def labelled(count, labels=("neg", "pos")):
    """``count`` distinct examples cycling through ``labels``."""
    return [Example(f"review number {n} says {labels[n % len(labels)]}", labels[n % len(labels)])
            for n in range(count)]


def as_fasttext(examples):
    return "".join(f"__label__{e.label} {e.text}\n" for e in examples)


# --- formats -----------------------------------------------------------------------------


def test_fasttext_lines_with_several_labels_and_blank_lines(tmp_path):
    path = write(tmp_path / "reviews.txt",
                 "__label__pos  a fine film \n\n__label__neg __label__bad dull\n   \n"
                 "__label__neutral it was a film\n")
    assert read_examples(path) == [Example("a fine film", "pos"), Example("dull", "neg"),
                                   Example("it was a film", "neutral")]


@pytest.mark.parametrize("options", [dict(gz=True), dict(bom=True), dict(crlf=True),
                                     dict(gz=True, bom=True, crlf=True)],
                         ids=["gzip", "bom", "crlf", "all"])
def test_fasttext_encodings_and_line_endings(tmp_path, options):
    path = write(tmp_path / "reviews.ft", "__label__pos great\n__label__neg awful\n", **options)
    assert read_examples(path) == [Example("great", "pos"), Example("awful", "neg")]


def test_tsv_label_then_text(tmp_path):
    path = write(tmp_path / "reviews.tsv", "pos\tgood, really\t(tab kept)\nneg\tbad\n",
                 crlf=True, bom=True)
    assert read_examples(path) == [Example("good, really\t(tab kept)", "pos"),
                                   Example("bad", "neg")]


def test_tsv_with_header_row_like_sst2(tmp_path):
    path = write(tmp_path / "train.tsv", 'sentence\tlabel\n"quoted" start\t1\nmeh\t0\n')
    assert read_examples(path) == [Example('"quoted" start', "1"), Example("meh", "0")]


def test_csv_quoting_extra_columns_and_column_choice(tmp_path):
    path = write(tmp_path / "reviews.csv",
                 'id,text,label,review,sentiment\n'
                 '1,ignored,x,"Funny, sad, ""great""",positive\n'
                 '2,ignored,x,"line one\nline two",negative\n', crlf=True)
    assert read_examples(path) == [Example('Funny, sad, "great"', "positive"),
                                   Example("line one\r\nline two", "negative")]


def test_csv_gzip_bom_and_multiclass(tmp_path):
    rows = "".join(f'"text {n}, with comma",{label}\n'
                   for n, label in enumerate(["pos", "neg", "neutral", "mixed"]))
    path = write(tmp_path / "reviews.csv.gz", "text,polarity\n" + rows, gz=True, bom=True)
    examples = read_examples(path)
    assert [e.label for e in examples] == ["pos", "neg", "neutral", "mixed"]
    assert examples[0].text == "text 0, with comma"


def test_csv_without_csv_suffix_is_detected_by_its_header(tmp_path):
    path = write(tmp_path / "reviews.data", 'review,sentiment\n"ok, fine",positive\n')
    assert read_examples(path) == [Example("ok, fine", "positive")]


def test_label_folders_aclimdb_style(tmp_path):
    root = tmp_path / "train"
    write(root / "pos" / "0_9.txt", "Loved it.<br /><br />Really.\n")
    write(root / "pos" / "1_8.txt", "Great", bom=True)
    write(root / "neg" / "0_2.txt", "Hated it", crlf=True)
    write(root / "neutral" / "5_5.txt", "Fine")
    write(root / "unsup" / "0_0.txt", "no label")
    write(root / "urls_pos.txt", "http://www.imdb.com/title/tt0453418/usercomments\n")
    write(root / "labeledBow.feat", "9 0:9 1:1\n")
    write(root / "pos" / "notes.md", "not an example")
    examples = read_examples(root)
    assert Counter(e.label for e in examples) == {"pos": 2, "neg": 1, "neutral": 1}
    assert Example("Loved it.<br /><br />Really.", "pos") in examples
    assert Example("Great", "pos") in examples and Example("Hated it", "neg") in examples


def test_encoding_parameter_reads_latin1(tmp_path):
    path = tmp_path / "latin.tsv"
    path.write_bytes("pos\tclichés welcome\n".encode("latin-1"))
    assert read_examples(path, encoding="latin-1") == [Example("clichés welcome", "pos")]


# --- malformed input ---------------------------------------------------------------------


def test_tsv_line_without_tab(tmp_path):
    path = write(tmp_path / "reviews.tsv", "pos\tgood\n\nneg\tbad\nthis line has no tab\n")
    with raises_at(path, 4) as caught:
        read_examples(path)
    assert "label<TAB>text" in str(caught.value) and "this line has no tab" in str(caught.value)


def test_fasttext_line_not_in_fasttext_format(tmp_path):
    path = write(tmp_path / "reviews.txt", "__label__pos good\nneg\tbad\n")
    with raises_at(path, 2) as caught:
        read_examples(path)
    assert "__label__" in str(caught.value)


def test_fasttext_label_without_text(tmp_path):
    path = write(tmp_path / "reviews.txt", "__label__pos good\n__label__neg  \n", crlf=True)
    with raises_at(path, 2) as caught:
        read_examples(path)
    assert "no text" in str(caught.value)


def test_csv_missing_label_column(tmp_path):
    path = write(tmp_path / "reviews.csv", "\nreview,rating\ngood,9\n")
    with raises_at(path, 2) as caught:
        read_examples(path)
    message = str(caught.value)
    assert "sentiment, label, polarity" in message and "review,rating" in message


def test_csv_empty_label_is_reported_at_the_row_start_after_multiline_fields(tmp_path):
    path = write(tmp_path / "reviews.csv",
                 'review,sentiment\n"spans\nthree\nlines",positive\n"next",\n')
    with raises_at(path, 5) as caught:
        read_examples(path)
    assert "empty label" in str(caught.value)


def test_csv_short_row_and_empty_text(tmp_path):
    path = write(tmp_path / "short.csv", "text,label\nfine,pos\nonly-one-field\n")
    with raises_at(path, 3):
        read_examples(path)
    path = write(tmp_path / "empty_text.csv", "text,label\n  ,pos\n")
    with raises_at(path, 2) as caught:
        read_examples(path)
    assert "empty text" in str(caught.value)


def test_unknown_format(tmp_path):
    path = write(tmp_path / "reviews.txt", "\n\njust some prose, no labels\n")
    with raises_at(path, 3) as caught:
        read_examples(path)
    message = str(caught.value)
    assert "unknown format" in message and "__label__" in message and "TAB" in message


@pytest.mark.parametrize("name, content", [("empty.txt", ""), ("blank.txt", "\n  \n\n"),
                                           ("header_only.csv", "review,sentiment\n"),
                                           ("empty.csv", "")])
def test_no_examples(tmp_path, name, content):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match="^" + re.escape(f"{path}: no examples found")):
        read_examples(path)


def test_folder_without_label_folders(tmp_path):
    write(tmp_path / "data" / "readme.md", "nothing here")
    with pytest.raises(DataError, match="no examples found"):
        read_examples(tmp_path / "data")
    with pytest.raises(DataError, match="found no data in this folder"):
        load_splits(tmp_path / "data")


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"__label__pos good\n__label__neg clich\xe9\n")
    with raises_at(path, 2) as caught:
        read_examples(path)
    assert "UTF-8" in str(caught.value)
    csv_path = tmp_path / "reviews.csv"
    csv_path.write_bytes(b'review,sentiment\n"a\nb",pos\n"clich\xe9",neg\n')
    with raises_at(csv_path, 4):
        read_examples(csv_path)


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        read_examples(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no such file or folder.*imdb"):
        load_splits(tmp_path / "nope.csv")


def test_unseen_label_in_test_data(tmp_path):
    train = write(tmp_path / "train.txt", as_fasttext(labelled(20)))
    test = write(tmp_path / "test.txt", "__label__pos ok\n__label__neutral hmm\n")
    with pytest.raises(DataError, match="^" + re.escape(f"{test}:2: label 'neutral' never occurs")):
        load_splits(train, test_data=test)


def test_single_label(tmp_path):
    path = write(tmp_path / "train.txt", as_fasttext(labelled(20, labels=("pos",))))
    with pytest.raises(DataError, match="at least 2"):
        load_splits(path)


def test_bad_fractions():
    with pytest.raises(SeqappsError, match="below 1"):
        load_splits(validation_fraction=0.5, test_fraction=0.5)


# --- demo data ---------------------------------------------------------------------------


def test_demo_default():
    splits = load_splits()
    assert isinstance(splits, Splits) and splits.is_demo
    assert splits.labels == ["neg", "pos"]
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (160, 20, 20)
    assert "demo data" in splits.source and "Pang & Lee" in splits.source
    everything = splits.train + splits.validation + splits.test
    assert Counter(e.label for e in everything) == {"neg": 100, "pos": 100}


def test_embedding_corpus_is_the_demo_text_decoded_as_cp1252():
    corpus = embedding_corpus()
    assert len(corpus) == 200
    assert corpus[0] == "simplistic , silly and tedious ."
    joined = "\n".join(corpus)
    assert "clichés" in joined and "\u2014" in joined  # 0xe9 and 0x97 in Windows-1252
    assert not any("\x80" <= char <= "\x9f" for char in joined)


# --- splitting ---------------------------------------------------------------------------


def texts(examples):
    return [e.text for e in examples]


def test_split_is_deterministic_disjoint_and_complete(tmp_path):
    path = write(tmp_path / "all.tsv", "".join(f"{e.label}\t{e.text}\n" for e in labelled(100)))
    first, again, other = load_splits(path), load_splits(path), load_splits(path, seed=7)
    assert first == again
    assert texts(first.train) != texts(other.train)
    parts = [set(texts(first.train)), set(texts(first.validation)), set(texts(first.test))]
    assert [len(part) for part in parts] == [80, 10, 10]
    assert set.union(*parts) == set(texts(labelled(100)))
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert not first.is_demo and first.labels == ["neg", "pos"]


def test_split_does_not_depend_on_the_hash_seed(tmp_path):
    path = write(tmp_path / "all.txt", as_fasttext(labelled(50)))
    code = ("from apps.sentiment.data import load_splits; "
            f"print([e.text for e in load_splits({str(path)!r}).test])")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=REPO_ROOT,
                              env={"PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1


def test_sorted_input_is_shuffled(tmp_path):
    ordered = sorted(labelled(200), key=lambda e: e.label)
    path = write(tmp_path / "sorted.txt", as_fasttext(ordered))
    splits = load_splits(path)
    assert len({e.label for e in splits.train[:20]}) == 2
    assert len({e.label for e in splits.test}) == 2


def test_aclimdb_root_layout_uses_the_official_split(tmp_path):
    root = tmp_path / "aclImdb"
    for split, count in (("train", 30), ("test", 20)):
        for n, example in enumerate(labelled(count)):
            write(root / split / example.label / f"{n}_7.txt",
                  f"{split}: {example.text}")
        write(root / split / "urls_pos.txt", "http://example.invalid\n")
        write(root / split / "unsup" / "0_0.txt", "unlabelled")
    write(root / "imdb.vocab", "the\n")
    splits = load_splits(root)
    assert len(splits.test) == 20 and all(t.startswith("test: ") for t in texts(splits.test))
    assert len(splits.train) + len(splits.validation) == 30
    assert len(splits.validation) == 3
    assert splits.labels == ["neg", "pos"] and "official" in splits.source
    with pytest.raises(DataError, match="train/ and test/"):
        read_examples(root)


def test_folder_of_split_files_with_dev(tmp_path):
    folder = tmp_path / "sst"
    write(folder / "train.tsv", "sentence\tlabel\n" + "".join(
        f"{e.text}\t{e.label}\n" for e in labelled(40, labels=("0", "1"))))
    write(folder / "dev.tsv", "sentence\tlabel\ndev one\t0\ndev two\t1\n")
    write(folder / "test.tsv", "sentence\tlabel\ntest one\t1\n")
    write(folder / "README.md", "about")
    splits = load_splits(folder)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (40, 2, 1)
    assert sorted(texts(splits.validation)) == ["dev one", "dev two"]
    assert "train.tsv / dev.tsv / test.tsv" in splits.source


def test_test_data_overrides_and_validation_is_carved_from_train(tmp_path):
    train = write(tmp_path / "mine.txt", as_fasttext(labelled(50)))
    test = write(tmp_path / "held_out.csv", "text,label\nnew one,pos\nnew two,neg\n")
    splits = load_splits(train, test_data=test, validation_fraction=0.2)
    assert sorted(texts(splits.test)) == ["new one", "new two"]
    assert (len(splits.train), len(splits.validation)) == (40, 10)
    assert "held_out.csv" in splits.source


def test_limit_keeps_proportional_slices(tmp_path):
    path = write(tmp_path / "all.txt", as_fasttext(labelled(100)))
    full, small = load_splits(path), load_splits(path, limit=8)
    assert (len(small.train), len(small.validation), len(small.test)) == (8, 1, 1)
    assert small.train == full.train[:8]
    assert load_splits(path, limit=1000) == full


# --- the registry and the real IMDB ------------------------------------------------------


def test_imdb_registry_entry():
    assert DATASETS["imdb"] is IMDB
    assert IMDB.url == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert IMDB.filename == "aclImdb_v1.tar.gz" and IMDB.extract
    assert IMDB.sha256 == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"


def test_imdb_offline_with_empty_cache_says_how_to_pass_data(isolated_dirs, monkeypatch):
    monkeypatch.setenv("SEQAPPS_OFFLINE", "1")
    monkeypatch.chdir(isolated_dirs)
    with pytest.raises(SeqappsError) as caught:
        load_splits("imdb")
    message = str(caught.value)
    assert "--data" in message and IMDB.url in message


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_imdb_name_fetches_and_reads_the_archive(isolated_dirs, monkeypatch):
    """The whole ``data="imdb"`` path, against a tiny aclImdb archive on a local server."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for split in ("train", "test"):
            for n, example in enumerate(labelled(10)):
                payload = f"{split} {example.text}".encode()
                info = tarfile.TarInfo(f"aclImdb/{split}/{example.label}/{n}_7.txt")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    archive = buffer.getvalue()
    www = isolated_dirs / "www"
    www.mkdir()
    (www / "aclImdb_v1.tar.gz").write_bytes(archive)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(QuietHandler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        fake = RemoteDataset(name="imdb", filename="aclImdb_v1.tar.gz", extract=True,
                             url=f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz",
                             sha256=hashlib.sha256(archive).hexdigest())
        monkeypatch.setitem(DATASETS, "imdb", fake)
        monkeypatch.setenv("SEQAPPS_OFFLINE", "0")
        monkeypatch.chdir(isolated_dirs)
        splits = load_splits("imdb")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(splits.test) == 10 and len(splits.train) + len(splits.validation) == 10
    assert splits.labels == ["neg", "pos"] and splits.source.startswith("imdb")
    monkeypatch.setenv("SEQAPPS_OFFLINE", "1")
    assert load_splits("imdb") == splits  # from the cache, server gone


def test_real_imdb_csvs_official_split(shared_data):
    splits = load_splits(shared_data / "sentiment")
    assert len(splits.test) == 25_000
    assert len(splits.train) + len(splits.validation) == 25_000
    assert len(splits.validation) == 2_500
    assert splits.labels == ["negative", "positive"]
    assert Counter(e.label for e in splits.test) == {"negative": 12_500, "positive": 12_500}
    assert len({e.label for e in splits.train[:50]}) == 2  # the CSV is sorted by label
    assert "imdb_train.csv.gz" in splits.source and not splits.is_demo
    assert any(e.text.startswith("Story of a man who has unnatural feelings for a pig")
               for e in splits.train + splits.validation)


def test_real_imdb_slice(shared_data):
    splits = load_splits(shared_data / "sentiment", limit=1_000)
    assert len(splits.train) == 1_000
    assert len(splits.validation) == 111 and len(splits.test) == 1_111
    assert {e.label for e in splits.test} == {"negative", "positive"}
