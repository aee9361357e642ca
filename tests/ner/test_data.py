import re
from collections import Counter

import pytest

from apps.ner.data import Splits, load_splits
from apps.ner.demo import DEMO_SOURCE, demo_sentences, embedding_corpus
from apps.ner.formats import Sentence, read_conll
from apps.ner.schemes import SCHEMES, convert_tags, detect_scheme, spans_to_tags, tags_to_spans
from apps.ner.writing import write_conll
from shared.errors import DataError, SeqappsError
from tests.datafiles import raises_at, write

CONLL2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O
"""


def tagged(*pairs):
    """A sentence from ``"token/TAG"`` strings."""
    tokens, tags = zip(*(pair.rsplit("/", 1) for pair in pairs))
    return Sentence(tokens, tags)


def numbered(count, prefix="word"):
    """``count`` distinct IOB2 sentences, every third one with a PER entity."""
    return [Sentence((f"{prefix}{n}", "Smith"), ("O", "B-PER" if n % 3 == 0 else "O"))
            for n in range(count)]


# --- reading -----------------------------------------------------------------------------


def test_four_columns_with_docstart_lines(tmp_path):
    sentences, scheme = read_conll(write(tmp_path / "eng.txt", CONLL2003))
    assert scheme == "iob2"
    assert sentences == [
        tagged("EU/B-ORG", "rejects/O", "German/B-MISC", "call/O", "./O"),
        tagged("Peter/B-PER", "Blackburn/I-PER"),
        tagged("BRUSSELS/B-LOC", "1996-08-22/O"),
    ]
    assert [sentence.line for sentence in sentences] == [3, 9, 14]


def test_two_column_tsv_keeps_spaces_inside_tokens(tmp_path):
    path = write(tmp_path / "train.tsv", "New York\tB-LOC\nis\tO\n\nRome \t B-LOC\n")
    sentences, _ = read_conll(path)
    assert sentences == [tagged("New York/B-LOC", "is/O"), tagged("Rome/B-LOC")]


def test_missing_final_newline_whitespace_lines_and_blank_runs(tmp_path):
    path = write(tmp_path / "data.txt",
                 "\n\nA O\nB B-PER\n   \nC O\n\t\n\n\nD B-LOC\nE I-LOC")
    sentences, _ = read_conll(path)
    assert [s.tokens for s in sentences] == [("A", "B"), ("C",), ("D", "E")]
    assert sentences[-1].tags == ("B-LOC", "I-LOC")
    assert [s.line for s in sentences] == [3, 6, 10]


@pytest.mark.parametrize("options", [dict(crlf=True), dict(gz=True), dict(gz=True, crlf=True)],
                         ids=["crlf", "gzip", "both"])
def test_crlf_and_gzip(tmp_path, options):
    path = write(tmp_path / "eng.train.gz", CONLL2003, **options)
    sentences, scheme = read_conll(path)
    assert len(sentences) == 3 and scheme == "iob2"
    assert sentences[0].tokens[0] == "EU" and sentences[-1].tags[-1] == "O"


@pytest.mark.parametrize("text, line, expected", [
    ("EU B-ORG\nrejects O\nBRUSSELS\n", 3, "expected 2 whitespace-separated columns"),
    ("EU NNP B-NP B-ORG\n\nrejects VBZ O\n", 3, "expected 4 whitespace-separated columns"),
    ("EU\tB-ORG\nrejects\tNN\tO\n", 2, "expected 2 tab-separated columns"),
    ("A O\n\nEU\n", 3, "expected 2 whitespace-separated columns"),
    ("EU\nrejects O\n", 1, "expected at least 2 columns"),
    ("A O\nEU B_PER\n", 2, "bad NER tag 'B_PER'"),
    ("A O\n\nEU X-PER\n", 3, "bad NER tag 'X-PER'"),
    ("EU B-\n", 1, "bad NER tag 'B-'"),
    ("EU b-per\n", 1, "bad NER tag 'b-per'"),
], ids=["one-column", "three-of-four", "tsv-three", "short-later", "first-line-short",
        "underscore", "unknown-prefix", "empty-type", "lowercase"])
def test_malformed_lines_name_file_line_and_content(tmp_path, text, line, expected):
    path = write(tmp_path / "broken.conll", text)
    with raises_at(path, line) as caught:
        read_conll(path)
    message = str(caught.value)
    assert expected in message
    content = text.splitlines()[line - 1]
    assert f"(got: {content!r})" in message
    assert caught.value.line == line


def test_bad_tag_message_says_the_expected_form(tmp_path):
    path = write(tmp_path / "broken.txt", "EU X-PER\n")
    with raises_at(path, 1) as caught:
        read_conll(path)
    assert "expected 'O' or PREFIX-TYPE" in str(caught.value)


def test_explicit_scheme_refuses_prefixes_it_does_not_use(tmp_path):
    path = write(tmp_path / "mixed.txt", "Ann B-PER\nLee I-PER\n\nBo S-PER\n\nAl S-LOC\n")
    with raises_at(path, 4) as caught:
        read_conll(path, scheme="iob2")
    assert "does not fit the iob2 scheme" in str(caught.value)
    assert read_conll(path, scheme="iobes")[1] == "iobes"
    assert read_conll(path)[1] == "iobes"
    with pytest.raises(SeqappsError, match="unknown tag scheme"):
        read_conll(path, scheme="bio")


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- -X- -X- O\n\n"],
                         ids=["empty", "blank", "docstart-only"])
def test_no_sentences(tmp_path, text):
    path = write(tmp_path / "empty.txt", text)
    with pytest.raises(DataError, match="no sentences found") as caught:
        read_conll(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'nope.txt'}: file not found")):
        read_conll(tmp_path / "nope.txt")


def test_sentence_needs_one_tag_per_token():
    with pytest.raises(ValueError, match="one tag per token"):
        Sentence(("a", "b"), ("O",))
    assert Sentence(["a"], ["O"], line=7) == Sentence(("a",), ("O",))  # line is not compared


# --- tag schemes -------------------------------------------------------------------------


def test_detect_scheme():
    """The scheme the sequences break least (tests/ner/test_schemes.py has the evidence)."""
    assert detect_scheme([("B-PER", "I-PER", "O"), ("B-LOC", "B-LOC")]) == "iob2"
    assert detect_scheme([("I-PER", "I-PER", "O"), ("I-LOC", "B-LOC")]) == "iob1"
    # One sequence breaking IOB1 (B-ORG after O) and IOB2 (I-PER after B-ORG) alike: the
    # tie goes to the more common IOB2 (the old rule said IOB1 on any I- after another type).
    assert detect_scheme([("O", "B-ORG", "I-PER")]) == "iob2"
    assert detect_scheme([("B-PER", "E-PER"), ("S-LOC",)]) == "iobes"
    assert detect_scheme([("O",), ("S-MISC",)]) == "iobes"
    assert detect_scheme([("O", "O"), ()]) == "iob2"  # nothing to tell: the default
    assert detect_scheme(iter([("I-PER",)])) == "iob1"  # a generator is read once


# The same entities in every scheme: adjacent same-type entities, single tokens, a
# different type right after, and an entity at the very end.
TAGGINGS = {
    "iob1": ("I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "B-ORG", "I-ORG", "O", "I-MISC"),
    "iob2": ("B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "B-ORG", "I-ORG", "O", "B-MISC"),
    "iobes": ("B-PER", "E-PER", "S-PER", "O", "S-LOC", "S-ORG", "B-ORG", "E-ORG", "O", "S-MISC"),
}
SPANS = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5), ("ORG", 5, 6), ("ORG", 6, 8),
         ("MISC", 9, 10)]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_spans_in_every_scheme(scheme):
    assert tags_to_spans(TAGGINGS[scheme], scheme) == SPANS
    assert spans_to_tags(SPANS, 10, scheme) == TAGGINGS[scheme]
    assert detect_scheme([TAGGINGS[scheme]]) == scheme


@pytest.mark.parametrize("source", SCHEMES)
@pytest.mark.parametrize("target", SCHEMES)
def test_conversions_round_trip(source, target):
    converted = convert_tags(TAGGINGS[source], source, target)
    assert converted == TAGGINGS[target]
    assert convert_tags(converted, target, source) == TAGGINGS[source]


def test_lenient_reading_of_ill_formed_sequences():
    # a stray I- starts an entity, as conlleval reads it
    stray = ("O", "I-PER", "I-PER", "O", "B-LOC", "I-ORG")
    assert tags_to_spans(stray, "iob2") == [("PER", 1, 3), ("LOC", 4, 5), ("ORG", 5, 6)]
    assert convert_tags(stray, "iob2", "iob2") == ("O", "B-PER", "I-PER", "O", "B-LOC", "B-ORG")
    assert convert_tags(stray, "iob2", "iobes") == ("O", "B-PER", "E-PER", "O", "S-LOC", "S-ORG")
    # IOBES: E-/I- without an open entity start one; B-/S- close an open one
    broken = ("E-PER", "B-LOC", "B-LOC", "I-LOC", "S-PER", "I-PER", "O", "B-ORG")
    assert tags_to_spans(broken, "iobes") == [("PER", 0, 1), ("LOC", 1, 2), ("LOC", 2, 4),
                                              ("PER", 4, 5), ("PER", 5, 6), ("ORG", 7, 8)]
    # IOB1: B-X after O simply starts X
    assert tags_to_spans(("O", "B-PER", "I-PER"), "iob1") == [("PER", 1, 3)]
    assert convert_tags(("O", "B-PER", "I-PER"), "iob1", "iob1") == ("O", "I-PER", "I-PER")


def test_scheme_and_span_errors():
    with pytest.raises(ValueError, match="not valid in the iob2 scheme"):
        tags_to_spans(("S-PER",), "iob2")
    with pytest.raises(ValueError, match="not valid"):
        tags_to_spans(("B_PER",), "iobes")
    with pytest.raises(ValueError, match="unknown tag scheme"):
        tags_to_spans(("O",), "bio")
    with pytest.raises(ValueError, match="overlap"):
        spans_to_tags([("PER", 0, 2), ("LOC", 1, 3)], 3, "iob2")
    with pytest.raises(ValueError, match="not inside"):
        spans_to_tags([("PER", 2, 4)], 3, "iob2")
    assert tags_to_spans((), "iob2") == [] and spans_to_tags([], 2, "iobes") == ("O", "O")


# --- writing -----------------------------------------------------------------------------


def test_write_read_round_trip(tmp_path):
    sentences = [tagged("New York/B-LOC", "'s/O", "Ann/B-PER"), tagged("./O"),
                 tagged("Bank/B-ORG", "of/I-ORG", "England/I-ORG")]
    path = write_conll(tmp_path / "out" / "data.tsv", sentences)
    assert path.read_text() == ("New York\tB-LOC\n's\tO\nAnn\tB-PER\n\n.\tO\n\n"
                                "Bank\tB-ORG\nof\tI-ORG\nEngland\tI-ORG\n\n")
    assert read_conll(path) == (sentences, "iob2")
    assert [s.line for s in read_conll(path)[0]] == [1, 5, 7]


def test_write_with_predictions_for_conlleval(tmp_path):
    sentences = [tagged("New York/B-LOC", "is/O"), tagged("Ann/B-PER")]
    path = write_conll(tmp_path / "predicted.txt", sentences,
                       predicted=[("B-LOC", "B-ORG"), ["O"]])
    assert path.read_text() == "New_York B-LOC B-LOC\nis O B-ORG\n\nAnn B-PER O\n\n"
    with pytest.raises(ValueError, match="predicted sequence"):
        write_conll(tmp_path / "x.txt", sentences, predicted=[("O", "O")])
    with pytest.raises(ValueError, match="predicted tag"):
        write_conll(tmp_path / "x.txt", sentences, predicted=[("O",), ("O",)])


def test_write_refuses_what_would_not_read_back(tmp_path):
    for bad in [Sentence(("a\tb",), ("O",)), Sentence(("",), ("O",)), Sentence((), ()),
                Sentence(("a",), ("PER",))]:
        with pytest.raises(ValueError):
            write_conll(tmp_path / "bad.txt", [bad])
    assert not (tmp_path / "bad.txt").exists()


# --- splits ------------------------------------------------------------------------------


def conll_text(sentences, iob1=False):
    """4-column text for ``sentences``, optionally re-tagged as IOB1."""
    lines = ["-DOCSTART- -X- -X- O", ""]
    for sentence in sentences:
        tags = convert_tags(sentence.tags, "iob2", "iob1") if iob1 else sentence.tags
        lines += [f"{token} NN B-NP {tag}" for token, tag in zip(sentence.tokens, tags)] + [""]
    return "\n".join(lines)


def test_folder_with_train_valid_test(tmp_path):
    write(tmp_path / "train.txt", conll_text(numbered(12)))
    write(tmp_path / "valid.txt", conll_text(numbered(3, "v")))
    write(tmp_path / "test.txt.gz", conll_text(numbered(4, "t")), gz=True)
    write(tmp_path / "README.md", "not data\n")
    splits = load_splits(tmp_path)
    assert isinstance(splits, Splits) and not splits.is_demo
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (12, 3, 4)
    assert splits.train == numbered(12)  # file order kept
    assert splits.tags == ["O", "B-PER"] and splits.scheme == "iob2"
    assert "train.txt" in splits.source and "valid.txt" in splits.source
    assert "test.txt.gz" in splits.source and "carved" not in splits.source


def test_conll2003_original_names_in_iob1_are_converted(tmp_path):
    ann = [Sentence(("Ann", "Lee", "Bo"), ("B-PER", "I-PER", "B-PER")), *numbered(9)]
    write(tmp_path / "eng.train", conll_text(ann, iob1=True))
    write(tmp_path / "eng.testa", conll_text(numbered(2, "a"), iob1=True))
    write(tmp_path / "eng.testb", conll_text(numbered(5, "b"), iob1=True))
    assert read_conll(tmp_path / "eng.train")[1] == "iob1"
    splits = load_splits(tmp_path)
    assert splits.train == ann and len(splits.validation) == 2 and len(splits.test) == 5
    assert splits.validation[0].tokens == ("a0", "Smith")
    assert "converted from iob1 to iob2" in splits.source
    iobes = load_splits(tmp_path, scheme="iobes")
    assert iobes.train[0].tags == ("B-PER", "E-PER", "S-PER")
    assert iobes.tags == ["O", "B-PER", "E-PER", "S-PER"] and iobes.scheme == "iobes"


def test_each_file_scheme_is_detected_on_its_own(tmp_path):
    write(tmp_path / "train.tsv", "Ann\tB-PER\nLee\tI-PER\n\nBo\tB-PER\n")
    write(tmp_path / "dev.tsv", "Ann\tB-PER\nLee\tE-PER\n\nBo\tS-PER\n")
    write(tmp_path / "test.tsv", "Ann\tI-PER\nLee\tI-PER\n\nBo\tI-PER\n")
    splits = load_splits(tmp_path)
    assert splits.train == splits.validation == splits.test
    assert splits.test[0].tags == ("B-PER", "I-PER")
    assert "converted from iob1, iobes to iob2" in splits.source


def test_folder_without_validation_or_test_carves_them(tmp_path):
    write(tmp_path / "my_train.conll", conll_text(numbered(30)))
    splits = load_splits(tmp_path, seed=3)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (24, 3, 3)
    assert "validation carved from train" in splits.source
    assert "test carved from train" in splits.source
    write(tmp_path / "dev.txt", conll_text(numbered(2, "d")))
    splits = load_splits(tmp_path, seed=3)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (27, 2, 3)


def test_folder_without_train_file_lists_files_and_accepted_names(tmp_path):
    write(tmp_path / "data.txt", "A O\n")
    write(tmp_path / "test.txt", "A O\n")
    with pytest.raises(DataError, match="no training file found") as caught:
        load_splits(tmp_path)
    message = str(caught.value)
    assert "data.txt, test.txt" in message and "eng.train" in message and "dev*" in message


def test_several_candidates_are_chosen_by_exact_name(tmp_path):
    write(tmp_path / "train_small.txt", conll_text(numbered(2)))
    write(tmp_path / "train.txt", conll_text(numbered(10)))
    write(tmp_path / "testa.txt", conll_text(numbered(1, "a")))
    write(tmp_path / "test.txt", conll_text(numbered(4, "t")))
    splits = load_splits(tmp_path)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (10, 1, 4)
    assert "ignored train_small.txt" in splits.source


def test_single_file_splits_80_10_10_deterministically(tmp_path):
    path = write(tmp_path / "all.txt", conll_text(numbered(100)))
    splits = load_splits(path)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (80, 10, 10)
    everything = splits.train + splits.validation + splits.test
    assert sorted(s.tokens for s in everything) == sorted(s.tokens for s in numbered(100))
    assert load_splits(str(path)) == splits
    other = load_splits(path, seed=7)
    assert other.test != splits.test and len(other.test) == 10
    assert splits.train == sorted(splits.train, key=lambda s: int(s.tokens[0][4:]))


def test_tiny_file_keeps_at_least_one_sentence_per_split(tmp_path):
    splits = load_splits(write(tmp_path / "tiny.txt", conll_text(numbered(3))))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (1, 1, 1)
    with pytest.raises(DataError, match="too few sentences"):
        load_splits(write(tmp_path / "two.txt", conll_text(numbered(2))))


def test_list_of_files_and_comma_separated_paths(tmp_path):
    train = write(tmp_path / "a.txt", conll_text(numbered(20)))
    dev = write(tmp_path / "b.txt", conll_text(numbered(4, "v")))
    test = write(tmp_path / "c.txt", "x\tB-LOC\n")  # a 2-column file, a tag unseen in train
    splits = load_splits([train, dev, test])
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (20, 4, 1)
    assert splits.tags == ["O", "B-LOC", "B-PER"]
    assert load_splits(f"{train}, {dev},{test}") == splits
    two = load_splits(f"{train},{dev}")
    assert (len(two.train), len(two.validation), len(two.test)) == (18, 4, 2)
    assert "test carved from train" in two.source
    with pytest.raises(SeqappsError, match="1 to 3 paths"):
        load_splits([train, dev, test, train])


def test_limit_keeps_the_first_training_sentences(tmp_path):
    write(tmp_path / "train.txt", conll_text(numbered(10)))
    write(tmp_path / "valid.txt", conll_text(numbered(3, "v")))
    write(tmp_path / "test.txt", conll_text(numbered(3, "t")))
    splits = load_splits(tmp_path, limit=4)
    assert splits.train == numbered(4) and len(splits.validation) == 3
    assert "first 4 training sentences" in splits.source
    assert load_splits(tmp_path, limit=50) == load_splits(tmp_path)
    with pytest.raises(SeqappsError, match="limit"):
        load_splits(tmp_path, limit=0)


def test_missing_data_path_says_conll2003_is_not_downloaded(tmp_path):
    with pytest.raises(DataError, match="not found") as caught:
        load_splits(tmp_path / "conll2003")
    assert str(tmp_path / "conll2003") in str(caught.value)
    assert "Reuters" in str(caught.value) and "obtain it yourself" in str(caught.value)
    with pytest.raises(SeqappsError, match="unknown tag scheme"):
        load_splits(None, scheme="bio")


def test_demo_data():
    splits = load_splits()
    assert splits.is_demo and splits.source.startswith(DEMO_SOURCE)
    assert "not a real corpus" in splits.source
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (320, 40, 40)
    assert splits.tags == ["O"] + sorted(f"{p}-{t}" for p in "BI"
                                         for t in ("PER", "ORG", "LOC", "MISC"))
    assert load_splits() == splits
    assert load_splits(seed=1).test != splits.test


def test_demo_sentences_are_varied_and_deterministic():
    sentences = demo_sentences()
    assert len(sentences) == 400 and sentences == demo_sentences()
    assert demo_sentences(seed=1) != sentences and len(demo_sentences(5)) == 5
    assert detect_scheme(s.tags for s in sentences) == "iob2"
    spans = [(kind, s.tokens[start:end]) for s in sentences
             for kind, start, end in tags_to_spans(s.tags, "iob2")]
    assert {kind for kind, _ in spans} == {"PER", "ORG", "LOC", "MISC"}
    assert any(len(tokens) > 1 for kind, tokens in spans if kind == "LOC")
    assert any(len(tokens) > 2 for kind, tokens in spans if kind == "ORG")
    assert sum(all(tag == "O" for tag in s.tags) for s in sentences) > 20
    assert len({s.tokens for s in sentences}) > 300
    assert {s.tokens[-1] for s in sentences} >= {"."}
    # the same word is a person in one sentence and a place in another
    kinds = {}
    for kind, tokens in spans:
        for token in tokens:
            kinds.setdefault(token, set()).add(kind)
    assert any(len(found) > 1 for found in kinds.values())


def test_embedding_corpus_is_the_demo_text():
    corpus = embedding_corpus()
    assert len(corpus) == 400 and corpus[0] == " ".join(demo_sentences()[0].tokens)


# --- real data ---------------------------------------------------------------------------


def test_real_conll2003(shared_data):
    folder = shared_data / "ner" / "conll2003"
    expected = {"train": (14_041, 203_621), "valid": (3_250, 51_362), "test": (3_453, 46_435)}
    bio = {"O"} | {f"{p}-{t}" for p in "BI" for t in ("PER", "ORG", "LOC", "MISC")}
    for name, (count, tokens) in expected.items():
        sentences, scheme = read_conll(folder / f"{name}.txt")
        assert (len(sentences), sum(len(s.tokens) for s in sentences)) == (count, tokens)
        assert scheme == "iob2"
        assert {tag for s in sentences for tag in s.tags} == bio
    splits = load_splits(folder)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (14_041, 3_250, 3_453)
    assert splits.tags == ["O"] + sorted(bio - {"O"}) and "converted" not in splits.source
    assert splits.train[0] == Sentence(("EU", "rejects", "German", "call", "to", "boycott",
                                        "British", "lamb", "."),
                                       ("B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"))
    # SOURCE.md counts 170,524 O tags in train, including the 946 -DOCSTART- lines
    counts = Counter(tag for s in splits.train for tag in s.tags)
    assert counts["O"] == 170_524 - 946 and counts["B-PER"] == 6_600
