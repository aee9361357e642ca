"""Tag schemes, and a file's scheme decided by the evidence of its own tags.

A file is read in the scheme its sentences break least; the sentences that break it anyway
are repaired when they are at most 0.1% of the file (at least one always may be), with a
warning naming each file:line, and are an error naming them when they are more.
"""

import pytest

from apps.ner.data import load_splits
from apps.ner.formats import Sentence
from apps.ner.schemes import (READ_SCHEMES, canonical, convert_tags, least_broken, scheme_break, scheme_evidence,
                              spans_to_tags, split_tag, tags_to_spans)
from apps.ner.tolerance import tolerated_breaks
from shared.errors import DataError
from tests.datafiles import raises_at

# Sentences as (tokens, entity spans). No two entities of one type touch, so every scheme,
# bare types included, can spell them.
TEMPLATES = [
    (("Ana", "Lee", "visited", "New", "York", "."), [("PER", 0, 2), ("LOC", 3, 5)]),
    (("Reuters", "said", "so", "."), [("ORG", 0, 1)]),
    (("It", "rained", "."), []),
    (("The", "Bank", "of", "Spain", "met", "Bo"), [("ORG", 1, 4), ("PER", 5, 6)]),
    (("Paris", "Lyon", "draw"), [("ORG", 0, 1), ("LOC", 1, 2)]),
]


def corpus(count):
    """``count`` (tokens, spans) sentences cycling through the templates."""
    return [TEMPLATES[n % len(TEMPLATES)] for n in range(count)]


def text_of(sentences, scheme, stray=()):
    """File text of ``sentences`` spelled in ``scheme``; sentence indexes in ``stray`` become
    ``vive O / en O / Madrid I-LOC``: an ``I-`` right after ``O``. Also the line of each stray tag."""
    lines, stray_lines = [], []
    for index, (tokens, spans) in enumerate(sentences):
        if index in stray:
            tokens, tags = ("vive", "en", "Madrid"), ("O", "O", "I-LOC")
            stray_lines.append(len(lines) + 3)
        else:
            tags = spans_to_tags(spans, len(tokens), scheme)
        lines += [f"{token} {tag}" for token, tag in zip(tokens, tags)] + [""]
    return "\n".join(lines), stray_lines


def write_three(tmp_path, text):
    """The same text as train, validation and test (nothing carved): their paths."""
    paths = [tmp_path / name for name in ("train.txt", "dev.txt", "test.txt")]
    for path in paths:
        path.write_text(text, encoding="utf-8")
    return paths


# --- spelling and reading ------------------------------------------------------------------

SPANS = [("PER", 0, 2), ("LOC", 3, 4), ("ORG", 4, 5), ("MISC", 6, 7)]
SPELLINGS = {
    "iob1": ("I-PER", "I-PER", "O", "I-LOC", "I-ORG", "O", "I-MISC"),
    "iob2": ("B-PER", "I-PER", "O", "B-LOC", "B-ORG", "O", "B-MISC"),
    "iobes": ("B-PER", "E-PER", "O", "S-LOC", "S-ORG", "O", "S-MISC"),
    "bilou": ("B-PER", "L-PER", "O", "U-LOC", "U-ORG", "O", "U-MISC"),
    "plain": ("PER", "PER", "O", "LOC", "ORG", "O", "MISC"),
}


@pytest.mark.parametrize("scheme", READ_SCHEMES)
def test_every_scheme_spells_and_reads_the_same_entities(scheme):
    assert spans_to_tags(SPANS, 7, scheme) == SPELLINGS[scheme]
    assert tags_to_spans(SPELLINGS[scheme], scheme) == SPANS
    for other in READ_SCHEMES:
        assert convert_tags(SPELLINGS[scheme], scheme, other) == SPELLINGS[other]
        assert (scheme_break(SPELLINGS[scheme], other) is None) == (other == scheme)


def test_bilou_and_plain_read_leniently_and_plain_merges_touching_entities():
    assert tags_to_spans(("B-PER", "O", "L-LOC", "U-LOC"), "bilou") == [("PER", 0, 1), ("LOC", 2, 3), ("LOC", 3, 4)]
    assert spans_to_tags([("LOC", 0, 1), ("LOC", 1, 2)], 2, "plain") == ("LOC", "LOC")
    assert tags_to_spans(("LOC", "LOC", "PER"), "plain") == [("LOC", 0, 2), ("PER", 2, 3)]
    # canonical reads any prefix: how a file's repaired sentences are converted
    assert canonical(("O", "I-LOC", "S-PER", "ORG", "E-ORG"), "iob2") == ("O", "B-LOC", "B-PER", "B-ORG", "I-ORG")
    with pytest.raises(ValueError, match="not valid in the plain scheme"):
        tags_to_spans(("B-PER",), "plain")


@pytest.mark.parametrize("tag, parsed", [
    ("O", ("O", None)), ("B-PER", ("B", "PER")), ("U-creative-work", ("U", "creative-work")),
    ("I-LOCderiv", ("I", "LOCderiv")), ("PER", ("", "PER")), ("geo-loc", ("", "geo-loc")),
    ("B", None), ("X-PER", None), ("b-per", None), ("B_PER", None), ("B-", None), ("", None), (None, None),
    ("B-person,B-person", None), ("I-PER|LOC", None),
])
def test_split_tag(tag, parsed):
    assert split_tag(tag) == parsed


# --- evidence -------------------------------------------------------------------------------


def test_evidence_counts_the_sentences_that_break_each_scheme():
    sequences = [("B-PER", "I-PER", "O"), ("O", "I-LOC"), ("O", "O"), ("B-ORG", "B-ORG")]
    evidence = scheme_evidence(sequences)
    assert evidence["iob2"] == [(1, 1, "B-LOC")]
    assert evidence["iob1"] == [(0, 0, "I-PER"), (3, 0, "I-ORG")]
    assert evidence["iobes"] == [(0, 1, "E-PER"), (1, 1, "S-LOC"), (3, 0, "S-ORG")]
    assert [index for index, *_ in evidence["bilou"]] == [0, 1, 3]
    assert [index for index, *_ in evidence["plain"]] == [0, 1, 3]
    assert least_broken(evidence) == "iob2"


def test_ties_go_to_the_more_common_scheme():
    """IOB2, IOB1, IOBES, BILOU, plain: a file without entities is IOB2."""
    assert least_broken({scheme: [] for scheme in READ_SCHEMES}) == "iob2"
    assert least_broken({**{scheme: [1] for scheme in READ_SCHEMES}, "bilou": [], "plain": []}) == "bilou"


@pytest.mark.parametrize("scheme", READ_SCHEMES)
def test_a_file_in_each_scheme_is_detected(tmp_path, scheme):
    sentences = corpus(40)
    text, _ = text_of(sentences, scheme)
    warnings = []
    splits = load_splits(write_three(tmp_path, text), warn=warnings.append)
    expected = [Sentence(tokens, spans_to_tags(spans, len(tokens), "iob2")) for tokens, spans in sentences]
    assert splits.train == splits.test == expected and warnings == []
    converted = f"tags converted from {scheme} to iob2" if scheme != "iob2" else None
    assert converted in splits.source if converted else "converted" not in splits.source


def test_a_real_iob1_file_with_b_between_touching_entities_is_iob1(tmp_path):
    text = "Paris I-LOC\nLyon B-LOC\nand O\nNice I-LOC\n\nAna I-PER\nLee I-PER\n\nsaid O\n"
    splits = load_splits(write_three(tmp_path, text), warn=pytest.fail)
    assert splits.train[0].tags == ("B-LOC", "B-LOC", "O", "B-LOC") and splits.train[1].tags == ("B-PER", "I-PER")
    assert "tags converted from iob1 to iob2" in splits.source


# --- tolerance ------------------------------------------------------------------------------


def test_tolerance_rule():
    assert [tolerated_breaks(n) for n in (1, 300, 1999, 2000, 8323, 100_000)] == [1, 1, 1, 2, 8, 100]


def test_one_stray_tag_deep_in_an_iob2_file_is_repaired_counted_and_named(tmp_path):
    """CoNLL-2002 Spanish as distributed: IOB2 with one ``I-LOC`` right after ``O``."""
    text, (line,) = text_of(corpus(400), "iob2", stray={350})
    path = tmp_path / "esp.train"
    path.write_text(text, encoding="utf-8")
    warnings = []
    splits = load_splits([path, path, path], warn=warnings.append)
    assert "converted" not in splits.source  # read as IOB2, not IOB1
    assert f"repaired the tags of 1 sentence(s) that broke IOB2 in esp.train (first at line {line})" in splits.source
    assert splits.train[350] == Sentence(("vive", "en", "Madrid"), ("O", "O", "B-LOC"))
    assert len(warnings) == 3 and warnings[0].startswith(f"{path}: repaired 1 of 400 sentence(s) that break the IOB2")
    assert f"{path}:{line} tag 'I-LOC' after 'O' (expected 'B-LOC')" in warnings[0]


@pytest.mark.parametrize("size, breaks, tolerated", [(300, 1, True), (300, 2, False), (2000, 2, True),
                                                     (2000, 3, False)])
def test_both_sides_of_the_tolerance(tmp_path, size, breaks, tolerated):
    stray = set(range(100, 100 + 3 * breaks, 3))
    text, lines = text_of(corpus(size), "iob2", stray=stray)
    path = tmp_path / "train.txt"
    path.write_text(text, encoding="utf-8")
    warnings = []
    if tolerated:
        splits = load_splits([path, path, path], warn=warnings.append)
        assert f"repaired the tags of {breaks} sentence(s)" in splits.source
        assert all(f"{path}:{line} " in warnings[0] for line in lines)
        return
    with raises_at(path, lines[0]) as caught:
        load_splits([path, path, path], warn=warnings.append)
    assert f"{breaks} of {size:,} sentences break it, more than the {tolerated_breaks(size)} tolerated" in str(
        caught.value)
    assert warnings == []


def test_many_breaks_stop_with_an_error_naming_the_first_lines(tmp_path):
    text, lines = text_of(corpus(50), "iob2", stray=set(range(0, 50, 5)))
    path = tmp_path / "train.txt"
    path.write_text(text, encoding="utf-8")
    with raises_at(path, lines[0]) as caught:
        load_splits(path)
    message = str(caught.value)
    assert ("tag 'I-LOC' after 'O' breaks the IOB2 scheme, the one the file's tags break least: "
            "expected 'B-LOC'") in message
    assert "10 of 50 sentences break it" in message and "pass --repair-tags" in message
    assert f"next at {path}:{lines[1]} tag 'I-LOC' after 'O' (expected 'B-LOC'), {path}:{lines[2]} " in message
    assert f"{path}:{lines[5]} " in message and f"{path}:{lines[6]} " not in message  # the first six lines, then ...
    assert message.endswith("(got: 'Madrid I-LOC')")
    warnings = []
    forced = load_splits(path, repair_tags=True, warn=warnings.append)
    assert "repaired the tags of 10 sentence(s) that broke IOB2" in forced.source
    assert "(--repair-tags)" in warnings[0] and warnings[0].endswith(", ...")


def test_bare_tags_without_any_o_are_not_ner_tags(tmp_path):
    path = tmp_path / "pos.txt"
    path.write_text("The DT\ncat NN\nsat VBD\n\nIt PRP\nran VBD\n\nGo VB\n", encoding="utf-8")
    with raises_at(path, 1) as caught:
        load_splits(path)
    assert "does not look like named-entity tags" in str(caught.value)


def test_a_stray_bare_tag_in_a_prefixed_file_is_a_tolerated_break(tmp_path):
    text, _ = text_of(corpus(20), "iob2")
    warnings = []
    splits = load_splits(write_three(tmp_path, text + "\n\nBo PER\nsaid O\n"), warn=warnings.append)
    assert splits.train[-1].tags == ("B-PER", "O")
    assert "'PER' after the sentence start (expected 'B-PER')" in warnings[0]
    with pytest.raises(DataError, match="2 of 22 sentences break it"):
        load_splits(write_three(tmp_path, text + "\n\nBo PER\nsaid O\n\nAl LOC\n"))
