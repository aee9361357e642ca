"""BLEU against hand-worked examples and against sacrebleu 2.6.0 on random and real corpora.

The hand-checked cases each pin one rule (clipping by the best single reference, the
closest reference length with ties going to the shorter, cumulative geometric means, corpus
sums rather than averaged sentence scores), with the arithmetic in a comment, so a failure
names the rule that broke. The sacrebleu cases then check that the rules add up to the
numbers everybody publishes.
"""

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bleu import corpus_bleu, format_bleu, paired_bootstrap, sentence_bleu


def words(text):
    return text.split()


# ---------------------------------------------------------------------------------------
# Hand-checked corpus BLEU
# ---------------------------------------------------------------------------------------


def test_clipping_uses_the_most_generous_single_reference():
    # Papineni et al.'s example: "the" is 7 of 7 hypothesis words, but occurs at most twice in
    # one reference (once in the other), so only 2 count: p1 = 2/7, not 7/7 (no clipping) and
    # not 3/7 (counts summed over references). No bigram "the the" matches, so p2 = 0.
    scores = corpus_bleu([words("the the the the the the the")],
                         [[words("the cat is on the mat"), words("there is a cat on the mat")]])
    assert scores["precisions"][:2] == [2 / 7, 0.0]
    # c = 7 and the references have 6 and 7 words: the closest is 7, so no penalty.
    assert scores["reference_length"] == 7 and scores["brevity_penalty"] == 1.0
    assert scores["bleu_1"] == pytest.approx(2 / 7, abs=1e-12)
    assert scores["bleu_2"] == scores["bleu_3"] == scores["bleu_4"] == 0.0


def test_reference_length_is_the_closest_one_per_segment_shorter_on_ties():
    # Segment 1: c = 4, references of 9, 2 and 5 words: closest is 5 (not the first, 9; not the
    # shortest, 2; not the mean, 5.33). Segment 2: c = 5, references of 6 and 4 words, both one
    # away: the tie goes to 4. So r = 5 + 4 = 9.
    hypotheses = [list("abcd"), list("abcde")]
    references = [[list("abcdefghi"), list("ab"), list("abcde")], [list("abcdef"), list("abcd")]]
    scores = corpus_bleu(hypotheses, references)
    assert (scores["hypothesis_length"], scores["reference_length"]) == (9, 9)
    assert scores["brevity_penalty"] == 1.0


def test_brevity_penalty_applies_only_to_short_hypotheses():
    # c = 4 against a closest r = 5: BP = exp(1 - 5/4). Every n-gram matches, so BLEU-n = BP.
    short = corpus_bleu([list("abcd")], [[list("abcdefghi"), list("ab"), list("abcde")]])
    assert short["reference_length"] == 5
    assert short["brevity_penalty"] == pytest.approx(math.exp(-0.25), abs=1e-12)
    assert short["bleu_4"] == pytest.approx(math.exp(-0.25), abs=1e-12)
    # c = 3 against 1 and 5, both two away: the tie goes to 1, so c > r and there is no penalty
    # (taking the longer one, 5, would give exp(1 - 5/3)).
    tie = corpus_bleu([list("abc")], [[list("abcde"), list("a")]])
    assert (tie["reference_length"], tie["brevity_penalty"]) == (1, 1.0)
    # Equal lengths and longer hypotheses are not penalised either.
    assert corpus_bleu([list("abc")], [[list("abc")]])["brevity_penalty"] == 1.0
    assert corpus_bleu([list("abcdef")], [[list("abc")]])["brevity_penalty"] == 1.0


def test_zero_four_gram_precision_zeroes_bleu_4_but_not_lower_orders():
    # Hypothesis "the cat sat on mat" against "the cat sat down on mat":
    #   p1 = 5/5; p2: the-cat, cat-sat, on-mat of 4 bigrams = 3/4;
    #   p3: the-cat-sat of 3 trigrams = 1/3; p4: neither 4-gram = 0/2.
    #   c = 5, r = 6, BP = exp(1 - 6/5) = exp(-0.2).
    scores = corpus_bleu([words("the cat sat on mat")], [[words("the cat sat down on mat")]])
    penalty = math.exp(-0.2)
    assert scores["precisions"] == [1.0, 3 / 4, 1 / 3, 0.0]
    assert scores["brevity_penalty"] == pytest.approx(penalty, abs=1e-12)
    assert scores["bleu_1"] == pytest.approx(penalty, abs=1e-12)
    # Cumulative, not individual: BLEU-2 is the geometric mean of p1 and p2, not p2.
    assert scores["bleu_2"] == pytest.approx(penalty * math.sqrt(3 / 4), abs=1e-12)
    assert scores["bleu_3"] == pytest.approx(penalty * (1 * 3 / 4 * 1 / 3) ** (1 / 3), abs=1e-12)
    assert scores["bleu_4"] == 0.0


def test_counts_are_summed_over_the_corpus_before_dividing():
    # A perfect 4-word segment and a wrong 1-word one: p1 = (4 + 0) / (4 + 1) = 0.8, where the
    # mean of the two sentence precisions would be (1 + 0) / 2 = 0.5.
    scores = corpus_bleu([list("abcd"), ["x"]], [[list("abcd")], [["y"]]])
    assert scores["precisions"][0] == 0.8 and scores["brevity_penalty"] == 1.0
    assert scores["bleu_1"] == pytest.approx(0.8, abs=1e-12)


def test_short_hypotheses_have_no_high_order_n_grams_to_match():
    scores = corpus_bleu([list("ab")], [[list("ab")]])
    assert scores["precisions"] == [1.0, 1.0, 0.0, 0.0]
    assert (scores["bleu_1"], scores["bleu_2"], scores["bleu_3"], scores["bleu_4"]) == (1.0, 1.0, 0.0, 0.0)


def test_identical_corpus_scores_one_and_empty_hypotheses_score_zero():
    corpus = [words("a man rides a horse on the beach"), words("two dogs play in the snow")]
    perfect = corpus_bleu(corpus, [[tokens] for tokens in corpus])
    assert all(perfect[f"bleu_{n}"] == pytest.approx(1.0, abs=1e-12) for n in range(1, 5))
    empty = corpus_bleu([[], []], [[tokens] for tokens in corpus])
    assert empty["hypothesis_length"] == 0 and empty["brevity_penalty"] == 0.0
    assert all(empty[f"bleu_{n}"] == 0.0 for n in range(1, 5))
    # Nothing against nothing: c = r = 0 is not "too short", so BP = 1 as in sacrebleu, but with
    # no n-grams at all every precision, hence every BLEU, is still 0.
    nothing = corpus_bleu([[]], [[[]]])
    assert nothing["brevity_penalty"] == 1.0 and nothing["bleu_1"] == 0.0


def test_max_order_sets_the_reported_orders_without_changing_them():
    hypotheses = [words("a dog runs on the grass"), words("a man in red")]
    references = [[words("a dog runs on grass"), words("the dog is running")], [words("a man in a red shirt")]]
    four = corpus_bleu(hypotheses, references)
    two = corpus_bleu(hypotheses, references, max_order=2)
    assert set(two) == {"bleu_1", "bleu_2", "precisions", "brevity_penalty", "hypothesis_length",
                        "reference_length"}
    assert (two["bleu_1"], two["bleu_2"]) == (four["bleu_1"], four["bleu_2"])
    assert len(corpus_bleu(hypotheses, references, max_order=6)["precisions"]) == 6


def test_tokens_may_be_ids_as_well_as_strings():
    hypotheses = [words("a dog runs on the grass")]
    references = [[words("a dog runs on grass"), words("the dog is running")]]
    ids = {token: index for index, token in enumerate(sorted({*hypotheses[0], *itertools.chain(*references[0])}))}
    as_ids = corpus_bleu([[ids[t] for t in hypotheses[0]]], [[[ids[t] for t in ref] for ref in references[0]]])
    assert as_ids == corpus_bleu(hypotheses, references)


def test_shape_mistakes_raise_clear_errors():
    with pytest.raises(ValueError, match="2 hypotheses but references for 1 segments"):
        corpus_bleu([["a"], ["b"]], [[["a"]]])
    with pytest.raises(ValueError, match=r"references\[1\] is empty"):
        corpus_bleu([["a"], ["b"]], [[["a"]], []])
    with pytest.raises(ValueError, match=r"references\[0\] must be a list of token lists"):
        corpus_bleu([["a", "b"]], [["a", "b"]])  # one token list where a list of references belongs
    with pytest.raises(ValueError, match=r"hypotheses\[0\] is a str; pass a list of tokens"):
        corpus_bleu(["a b"], [[["a", "b"]]])
    with pytest.raises(ValueError, match="max_order must be a positive integer"):
        corpus_bleu([["a"]], [[["a"]]], max_order=0)
    with pytest.raises(ValueError, match="at least one reference"):
        sentence_bleu(["a"], [])


# ---------------------------------------------------------------------------------------
# Sentence BLEU and formatting
# ---------------------------------------------------------------------------------------


def test_sentence_bleu_basic_properties():
    caption = words("a black dog is running through the grass")
    others = [words("a dog runs in a field"), words("the black dog runs across green grass")]
    assert sentence_bleu(caption, [caption]) == pytest.approx(1.0, abs=1e-12)
    assert sentence_bleu(caption, [words("two children swim in blue water")]) == 0.0  # no shared word
    assert sentence_bleu(caption, others) == sentence_bleu(caption, others[::-1])
    # Unsmoothed, a sentence without a matching 4-gram scores 0; smoothed, it can still be ranked.
    assert corpus_bleu([caption], [others])["bleu_4"] == 0.0
    assert sentence_bleu(caption, others, smooth=0) == 0.0
    assert 0.0 < sentence_bleu(caption, others) < 0.5
    assert sentence_bleu(caption, others) < sentence_bleu(caption, others + [words("a black dog is running")])


def test_sentence_bleu_smoothing_is_add_one_on_orders_two_and_up():
    # "the cat sat on mat" vs "the cat sat down on mat" (counts in the corpus test above):
    # p1 = 5/5, p2 = (3+1)/(4+1), p3 = (1+1)/(3+1), p4 = (0+1)/(2+1), BP = exp(-0.2).
    expected = math.exp(-0.2) * (1 * 4 / 5 * 2 / 4 * 1 / 3) ** (1 / 4)
    got = sentence_bleu(words("the cat sat on mat"), [words("the cat sat down on mat")])
    assert got == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="smooth must be >= 0"):
        sentence_bleu(["a"], [["a"]], smooth=-1)


def test_format_bleu_is_one_line_in_order():
    scores = {"bleu_1": 0.6123, "bleu_2": 0.4209, "bleu_3": 0.29, "bleu_4": 0.19849, "precisions": [],
              "brevity_penalty": 1.0}
    assert format_bleu(scores) == "BLEU-1 0.612  BLEU-2 0.421  BLEU-3 0.290  BLEU-4 0.198"
    assert format_bleu(corpus_bleu([["a"]], [[["a"]]], max_order=2)) == "BLEU-1 1.000  BLEU-2 0.000"


# ---------------------------------------------------------------------------------------
# Cross-check with sacrebleu 2.6.0
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sacrebleu_scorers():
    """sacrebleu scorers for orders 1..4 on our tokens: no tokenising, casing or smoothing."""
    metrics = pytest.importorskip("sacrebleu.metrics", reason="sacrebleu not installed: cross-check skipped")
    options = dict(tokenize="none", smooth_method="none", lowercase=False, force=True, effective_order=False)
    return {n: metrics.BLEU(max_ngram_order=n, **options) for n in range(1, 5)}


def reference_streams(references):
    """sacrebleu's layout: one stream per reference position, None where a segment has fewer.

    sacrebleu drops None but keeps "" as a real, empty reference (it can win the closest-length
    choice), and it zips the streams, so every stream must cover every segment.
    """
    width = max(len(segment) for segment in references)
    return [[" ".join(segment[i]) if i < len(segment) else None for segment in references] for i in range(width)]


def assert_agrees_with_sacrebleu(scorers, hypotheses, references):
    ours = corpus_bleu(hypotheses, references)
    joined, streams = [" ".join(tokens) for tokens in hypotheses], reference_streams(references)
    for n, scorer in scorers.items():
        theirs = scorer.corpus_score(joined, streams)
        assert ours[f"bleu_{n}"] == pytest.approx(theirs.score / 100, abs=1e-9), f"BLEU-{n}"
    assert ours["precisions"] == pytest.approx([p / 100 for p in theirs.precisions], abs=1e-9)
    assert ours["brevity_penalty"] == pytest.approx(theirs.bp, abs=1e-12)
    assert (ours["hypothesis_length"], ours["reference_length"]) == (theirs.sys_len, theirs.ref_len)
    return ours


@st.composite
def small_vocabulary_corpora(draw):
    """1-6 segments of 0-12 tokens from 2-5 words, so n-grams repeat and clipping matters."""
    vocabulary = draw(st.sampled_from(["ab", "abc", "abcde"]))
    token_lists = st.lists(st.sampled_from(vocabulary), max_size=12)
    segments = draw(st.integers(1, 6))
    hypotheses = [draw(token_lists) for _ in range(segments)]
    references = [draw(st.lists(token_lists, min_size=1, max_size=5)) for _ in range(segments)]
    return hypotheses, references


@settings(max_examples=300, deadline=None, database=None)
@given(small_vocabulary_corpora())
def test_agrees_with_sacrebleu_on_small_vocabulary_corpora(sacrebleu_scorers, corpus):
    assert_agrees_with_sacrebleu(sacrebleu_scorers, *corpus)


def noisy_copy(rng, tokens, vocabulary):
    """A hypothesis made from a reference by dropping, swapping and inserting words."""
    out = []
    for token in tokens:
        roll = rng.random()
        if roll < 0.15:
            continue
        out.append(rng.choice(vocabulary) if roll < 0.35 else token)
        if rng.random() < 0.1:
            out.append(rng.choice(vocabulary))
    return out


def random_translation_corpus(rng, vocabulary):
    references, hypotheses = [], []
    for _ in range(rng.randint(1, 8)):
        segment = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 15))] for _ in range(rng.randint(1, 5))]
        references.append(segment)
        hypotheses.append(noisy_copy(rng, rng.choice(segment), vocabulary))
    return hypotheses, references


def test_agrees_with_sacrebleu_on_noisy_copies_of_references(sacrebleu_scorers):
    rng = random.Random(2002)
    vocabulary = [f"w{i}" for i in range(8)]
    penalised = bleu_4_positive = 0
    for _ in range(300):
        scores = assert_agrees_with_sacrebleu(sacrebleu_scorers, *random_translation_corpus(rng, vocabulary))
        penalised += scores["brevity_penalty"] < 1
        bleu_4_positive += scores["bleu_4"] > 0
    # The corpora must exercise both sides of the brevity penalty and non-zero 4-gram scores.
    assert 30 < penalised < 270 and bleu_4_positive > 100


def flickr8k_captions(shared_data):
    captions = {}
    with open(shared_data / "captioning" / "images_captions.token.txt", encoding="utf-8") as lines:
        for line in lines:
            name, caption = line.rstrip("\n").split("\t")
            image, number = name.split("#")
            captions.setdefault(image, {})[int(number)] = caption.lower().split()
    return captions


def test_agrees_with_sacrebleu_on_flickr8k_captions(shared_data, sacrebleu_scorers):
    captions = flickr8k_captions(shared_data)
    images = sorted(captions)
    hypotheses = [captions[image][0] for image in images]
    references = [[captions[image][k] for k in range(1, 5)] for image in images]
    scores = assert_agrees_with_sacrebleu(sacrebleu_scorers, hypotheses, references)
    assert scores["bleu_1"] > scores["bleu_2"] > scores["bleu_3"] > scores["bleu_4"] > 0.05
    # The same captions with 1 to 4 references per image (None-padded streams for sacrebleu).
    varied = [segment[: 1 + i % 4] for i, segment in enumerate(references)]
    assert_agrees_with_sacrebleu(sacrebleu_scorers, hypotheses, varied)


@pytest.fixture(scope="module")
def sacrebleu_add_one():
    """sacrebleu's BLEU-4 with "add-k" smoothing, k = 1, which is Lin & Och's +1 smoothing."""
    metrics = pytest.importorskip("sacrebleu.metrics", reason="sacrebleu not installed: cross-check skipped")
    return metrics.BLEU(tokenize="none", smooth_method="add-k", smooth_value=1, lowercase=False, force=True,
                        effective_order=False)


@settings(max_examples=200, deadline=None, database=None)
@given(small_vocabulary_corpora())
def test_sentence_bleu_agrees_with_sacrebleu_add_one(sacrebleu_add_one, corpus):
    hypotheses, references = corpus
    hypothesis, segment = hypotheses[0], references[0]
    theirs = sacrebleu_add_one.corpus_score([" ".join(hypothesis)], [[" ".join(reference)] for reference in segment])
    assert sentence_bleu(hypothesis, segment) == pytest.approx(theirs.score / 100, abs=1e-9)


def test_paired_bootstrap_separates_a_clear_winner_from_a_tie():
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(30)]
    references = [[[rng.choice(vocabulary) for _ in range(10)] for _ in range(3)] for _ in range(60)]
    good = [refs[0][:9] + [rng.choice(vocabulary)] for refs in references]
    bad = [[rng.choice(vocabulary) for _ in range(10)] for _ in references]
    clear = paired_bootstrap(good, bad, references, samples=200, seed=1)
    assert clear["a_wins"] == 1.0 and clear["ci95"][0] > 0
    assert clear["difference"] == pytest.approx(corpus_bleu(good, references)["bleu_4"]
                                                - corpus_bleu(bad, references)["bleu_4"])
    tie = paired_bootstrap(good, good, references, samples=200, seed=1)
    assert tie["a_wins"] == 0.0 and tie["difference"] == 0.0 and tie["ci95"] == [0.0, 0.0]
    swapped = paired_bootstrap(bad, good, references, samples=200, seed=1)
    assert swapped["a_wins"] == 0.0 and swapped["ci95"][1] < 0
