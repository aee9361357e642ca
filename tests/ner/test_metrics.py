"""Entity scores against answers worked out by hand from conlleval's chunk rules.

Each expected value is derived in a comment from the rules (a chunk ends after E/S, after
B/I followed by B/S/O, or on a type change; it starts at B/S, at I/E after O/E/S, or on a
type change; sentence edges act as O), so a failure points at a rule, not at a number.
"""

import json
import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.ner.metrics import entity_scores, format_report, split_tag, tag_chunks


def counts(scores):
    s = scores["overall"]
    return s["gold_entities"], s["predicted_entities"], s["correct_entities"]


# ---------------------------------------------------------------------------------------
# Chunking one sentence
# ---------------------------------------------------------------------------------------


def test_iob2_chunks_with_exclusive_ends():
    assert tag_chunks(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    assert tag_chunks([]) == []
    assert tag_chunks(["O", "O"]) == []


def test_iob1_input():
    # IOB1 only uses B- between two adjacent entities of one type: I-PER I-PER is one chunk,
    # and the B-PER after I-PER ends it (prev I, tag B) and starts a second one.
    assert tag_chunks(["I-PER", "I-PER", "B-PER"]) == [("PER", 0, 2), ("PER", 2, 3)]
    # A type change both ends and starts a chunk, so IOB1 needs no B- here.
    assert tag_chunks(["I-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 2)]


def test_stray_inside_tag_after_outside_starts_a_chunk():
    # prev O, tag I starts a chunk: the lenient rule keeps the ill-formed ORG entity.
    assert tag_chunks(["O", "I-ORG", "I-ORG", "O"]) == [("ORG", 1, 3)]
    # I-ORG after B-PER: the type change closes PER and opens ORG.
    assert tag_chunks(["B-PER", "I-ORG"]) == [("PER", 0, 1), ("ORG", 1, 2)]


def test_iobes_input():
    tags = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "O", "B-ORG", "E-ORG"]
    # S always ends; E-LOC ends LOC(1,4), and S-LOC right after is a separate chunk.
    assert tag_chunks(tags) == [("PER", 0, 1), ("LOC", 1, 4), ("LOC", 4, 5), ("ORG", 6, 8)]
    # E ends its chunk even when the same type follows: E E, S S, E B, S I are two chunks each.
    assert tag_chunks(["E-PER", "E-PER"]) == [("PER", 0, 1), ("PER", 1, 2)]
    assert tag_chunks(["S-PER", "S-PER"]) == [("PER", 0, 1), ("PER", 1, 2)]
    assert tag_chunks(["E-PER", "B-PER"]) == [("PER", 0, 1), ("PER", 1, 2)]
    assert tag_chunks(["S-PER", "I-PER"]) == [("PER", 0, 1), ("PER", 1, 2)]
    # A B without its E is closed by the O after it (prev B, tag O), and by the sentence end.
    assert tag_chunks(["B-PER", "O", "B-LOC", "I-LOC"]) == [("PER", 0, 1), ("LOC", 2, 4)]


def test_type_may_contain_hyphens():
    # conlleval splits at the first hyphen only.
    assert split_tag("B-MISC-X") == ("B", "MISC-X")
    assert split_tag("O") == ("O", "")
    assert tag_chunks(["B-MISC-X", "I-MISC-X"]) == [("MISC-X", 0, 2)]


@pytest.mark.parametrize("bad", ["X-PER", "B", "B-", "PER", "o", "O-PER", "", None])
def test_malformed_tags_are_refused_with_their_position(bad):
    with pytest.raises(ValueError, match="position 1") as error:
        tag_chunks(["O", bad])
    assert repr(bad) in str(error.value)


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


def test_perfect_prediction():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    scores = entity_scores(gold, [list(s) for s in gold])
    assert counts(scores) == (3, 3, 3)
    assert scores["overall"]["precision"] == scores["overall"]["recall"] == scores["overall"]["f1"] == 1.0
    assert scores["token_accuracy"] == 1.0
    assert (scores["sentences"], scores["tokens"]) == (2, 6)


def test_boundary_error_gets_no_credit():
    # gold PER(0,3), predicted PER(0,2): same type and start, different end -> not correct.
    gold = [["B-PER", "I-PER", "I-PER", "O"]]
    predicted = [["B-PER", "I-PER", "O", "O"]]
    scores = entity_scores(gold, predicted)
    assert counts(scores) == (1, 1, 0)
    assert scores["overall"]["precision"] == scores["overall"]["recall"] == scores["overall"]["f1"] == 0.0
    assert scores["token_accuracy"] == 3 / 4


def test_type_error():
    # gold PER(0,2) LOC(3,4); predicted ORG(0,2) LOC(3,4): only LOC is right.
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted = [["B-ORG", "I-ORG", "O", "B-LOC"]]
    scores = entity_scores(gold, predicted)
    assert counts(scores) == (2, 2, 1)
    assert scores["overall"]["precision"] == scores["overall"]["recall"] == scores["overall"]["f1"] == 0.5
    assert scores["token_accuracy"] == 2 / 4
    per_type = scores["per_type"]
    assert list(per_type) == ["LOC", "ORG", "PER"]  # gold types and predicted-only types
    assert per_type["LOC"]["f1"] == 1.0
    # ORG was predicted but never gold: precision 0/1, recall 0/0 -> 0.
    assert per_type["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                               "gold_entities": 0, "predicted_entities": 1, "correct_entities": 0}
    # PER was gold but never predicted: precision 0/0 -> 0, recall 0/1.
    assert per_type["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                               "gold_entities": 1, "predicted_entities": 0, "correct_entities": 0}


def test_iob1_prediction_against_iob2_gold():
    # Both read as PER(0,2) PER(2,3): entity F1 is 1 although one tag string differs.
    gold = [["B-PER", "I-PER", "B-PER"]]
    predicted = [["I-PER", "I-PER", "B-PER"]]
    scores = entity_scores(gold, predicted)
    assert counts(scores) == (2, 2, 2)
    assert scores["overall"]["f1"] == 1.0
    assert scores["token_accuracy"] == 2 / 3


def test_iobes_prediction_against_iob2_gold():
    # B-PER E-PER = B-PER I-PER = PER(0,2); S-LOC = B-LOC = LOC(3,4). The chunks are equal,
    # the tag strings at positions 1 and 3 are not.
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted = [["B-PER", "E-PER", "O", "S-LOC"]]
    scores = entity_scores(gold, predicted)
    assert counts(scores) == (2, 2, 2)
    assert scores["overall"]["f1"] == 1.0
    assert scores["token_accuracy"] == 2 / 4


def test_stray_inside_prediction_is_scored_as_an_entity():
    # Predicted "O I-ORG" is ORG(1,2), which matches gold B-ORG at 1.
    scores = entity_scores([["O", "B-ORG", "O"]], [["O", "I-ORG", "O"]])
    assert counts(scores) == (1, 1, 1)
    assert scores["overall"]["f1"] == 1.0


def test_empty_prediction_divides_by_nothing():
    scores = entity_scores([["B-PER", "O"]], [["O", "O"]])
    assert counts(scores) == (1, 0, 0)
    assert scores["overall"]["precision"] == 0.0  # 0 / 0 predicted, as conlleval prints it
    assert scores["overall"]["recall"] == 0.0
    assert scores["overall"]["f1"] == 0.0
    assert scores["per_type"]["PER"]["precision"] == 0.0


def test_no_entities_anywhere():
    scores = entity_scores([["O", "O"]], [["O", "O"]])
    assert counts(scores) == (0, 0, 0)
    assert scores["overall"]["f1"] == 0.0
    assert scores["per_type"] == {}
    assert scores["token_accuracy"] == 1.0
    assert entity_scores([], [])["token_accuracy"] == 0.0


def test_per_type_numbers():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"],
            ["B-LOC", "I-LOC", "O", "B-PER"]]
    predicted = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC"],   # ORG mistaken for LOC
                 ["B-LOC", "O", "O", "B-PER"]]                     # LOC cut short
    # gold:      PER s0(0,2) LOC s0(3,4) ORG s0(5,6) LOC s1(0,2) PER s1(3,4)   -> 5
    # predicted: PER s0(0,2) LOC s0(3,4) LOC s0(5,6) LOC s1(0,1) PER s1(3,4)   -> 5
    # correct:   both PER and LOC s0(3,4)                                     -> 3
    scores = entity_scores(gold, predicted)
    assert counts(scores) == (5, 5, 3)
    assert scores["overall"]["precision"] == pytest.approx(3 / 5)
    assert scores["overall"]["recall"] == pytest.approx(3 / 5)
    assert scores["overall"]["f1"] == pytest.approx(3 / 5)
    per_type = scores["per_type"]
    assert per_type["PER"]["f1"] == 1.0
    # LOC: 1 of 3 predicted is right, 1 of 2 gold is found; F1 = 2(1/3)(1/2)/(5/6) = 2/5.
    assert (per_type["LOC"]["gold_entities"], per_type["LOC"]["predicted_entities"],
            per_type["LOC"]["correct_entities"]) == (2, 3, 1)
    assert per_type["LOC"]["precision"] == pytest.approx(1 / 3)
    assert per_type["LOC"]["recall"] == pytest.approx(1 / 2)
    assert per_type["LOC"]["f1"] == pytest.approx(2 / 5)
    assert per_type["ORG"]["recall"] == 0.0 and per_type["ORG"]["predicted_entities"] == 0
    # Tokens: s0 misses only position 5, s1 only position 1 -> 8 of 10.
    assert scores["token_accuracy"] == pytest.approx(8 / 10)
    assert scores["tokens"] == 10


def test_sentence_boundaries_close_chunks():
    # The I-PER opening sentence 1 follows an implicit O, so it starts a new chunk:
    # two entities, where the same tags in one sentence would be one.
    gold = [["B-PER", "I-PER"], ["I-PER", "O"]]
    assert counts(entity_scores(gold, gold)) == (2, 2, 2)
    assert tag_chunks(["B-PER", "I-PER", "I-PER", "O"]) == [("PER", 0, 3)]
    # Equal spans in different sentences are different entities.
    scores = entity_scores([["B-PER", "O"], ["O", "O"]], [["O", "O"], ["B-PER", "O"]])
    assert counts(scores) == (1, 1, 0)


def test_scores_are_json_ready_floats():
    scores = entity_scores([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    assert json.loads(json.dumps(scores)) == scores
    for block in [scores["overall"], *scores["per_type"].values()]:
        for key in ("precision", "recall", "f1"):
            assert type(block[key]) is float
    assert type(scores["token_accuracy"]) is float


def test_mismatched_input_is_refused():
    with pytest.raises(ValueError, match="sentence 1"):
        entity_scores([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="2 sentences"):
        entity_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 1, position 0: tag 'B_PER'"):
        entity_scores([["O"], ["B_PER"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="list of tags"):
        entity_scores(["B-PER O"], [["B-PER", "O"]])


def test_format_report():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"],
            ["B-LOC", "I-LOC", "O", "B-PER"]]
    predicted = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC"],
                 ["B-LOC", "O", "O", "B-PER"]]
    report = format_report(entity_scores(gold, predicted))
    lines = report.splitlines()
    assert "processed 10 tokens" in lines[0] and "5 gold entities" in lines[0]
    assert "found 5" in lines[0] and "3 correct" in lines[0]
    assert "80.00%" in lines[1]
    overall = next(line for line in lines if line.startswith("overall"))
    assert overall.split()[1:4] == ["60.00%", "60.00%", "60.00"]
    loc = next(line for line in lines if line.startswith("LOC"))
    assert loc.split()[1:] == ["33.33%", "50.00%", "40.00", "2", "3", "1"]
    assert any(line.startswith("ORG") for line in lines)
    assert any(line.startswith("PER") for line in lines)


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------

IOB2_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
ALL_TAGS = ["O"] + [f"{prefix}-{type_}" for prefix in "BIES" for type_ in ("PER", "LOC")]


def reference_iob2_chunks(tags):
    """A plain left-to-right IOB2 reader: B- or a new type opens, O closes, I- continues.

    A stray I- (after O or after another type) opens a chunk, which is conlleval's leniency.
    """
    chunks, current = [], None  # current = [type, start]
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, type_ = tag.partition("-")
        continues = current is not None and prefix == "I" and current[0] == type_
        if current is not None and not continues:
            chunks.append((current[0], current[1], i))
            current = None
        if prefix in ("B", "I") and not continues:
            current = [type_, i]
    return chunks


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(IOB2_TAGS), max_size=20))
def test_chunks_agree_with_a_plain_iob2_reader(tags):
    assert tag_chunks(tags) == reference_iob2_chunks(tags)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.lists(st.sampled_from(ALL_TAGS), max_size=12), max_size=4))
def test_a_sequence_scores_perfectly_against_itself(sentences):
    scores = entity_scores(sentences, sentences)
    if scores["overall"]["gold_entities"]:
        assert scores["overall"]["f1"] == 1.0
        assert all(block["f1"] == 1.0 for block in scores["per_type"].values())
    else:
        assert scores["overall"]["f1"] == 0.0


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.sampled_from(ALL_TAGS), max_size=20))
def test_every_entity_token_lies_in_exactly_one_chunk(tags):
    covered = [0] * len(tags)
    for type_, start, end in tag_chunks(tags):
        assert 0 <= start < end <= len(tags)
        for i in range(start, end):
            covered[i] += 1
            assert tags[i].endswith("-" + type_)
    assert covered == [0 if tag == "O" else 1 for tag in tags]


# ---------------------------------------------------------------------------------------
# Cross-check with seqeval, whose default mode reproduces conlleval
# ---------------------------------------------------------------------------------------


def random_sentences(rng, tags):
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 10))] for _ in range(rng.randint(1, 4))]
    gold[0][0] = "B-PER"  # seqeval's report needs at least one entity
    # Predictions copy gold with noise, so that some entities are right and some are not.
    predicted = [[tag if rng.random() < 0.6 else rng.choice(tags) for tag in sentence] for sentence in gold]
    return gold, predicted


def test_agrees_with_seqeval_default_mode():
    try:
        from seqeval.metrics import (accuracy_score, classification_report, f1_score,
                                     precision_score, recall_score)
    except ImportError:
        pytest.skip("seqeval not installed: the cross-check against it is skipped")
    tags = ["O"] + [f"{prefix}-{type_}" for prefix in "BIES" for type_ in ("PER", "LOC", "ORG")]
    rng = random.Random(2003)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about 0/0 per-type precision
        for _ in range(300):
            gold, predicted = random_sentences(rng, tags)
            ours = entity_scores(gold, predicted)
            theirs = classification_report(gold, predicted, output_dict=True)
            overall = ours["overall"]
            assert overall["precision"] == pytest.approx(precision_score(gold, predicted))
            assert overall["recall"] == pytest.approx(recall_score(gold, predicted))
            assert overall["f1"] == pytest.approx(f1_score(gold, predicted))
            assert ours["token_accuracy"] == pytest.approx(accuracy_score(gold, predicted))
            types = set(theirs) - {"micro avg", "macro avg", "weighted avg"}
            assert types == set(ours["per_type"])
            for type_ in types:
                mine, reference = ours["per_type"][type_], theirs[type_]
                assert mine["precision"] == pytest.approx(reference["precision"])
                assert mine["recall"] == pytest.approx(reference["recall"])
                assert mine["f1"] == pytest.approx(reference["f1-score"])
                assert mine["gold_entities"] == reference["support"]
