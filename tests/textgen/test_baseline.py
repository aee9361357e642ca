"""The Kneser-Ney trigram baseline: proper distributions, sensible preferences."""

import math

import numpy as np
import pytest

from apps.textgen.baseline import KneserNeyTrigram
from shared.text import BOS_ID, EOS_ID

VOCAB = 12
DOCUMENTS = [[4, 5, 6, 7], [4, 5, 6, 8], [4, 5, 9], [10, 5, 6, 7, 4, 5], [6, 6, 6]]


@pytest.fixture(scope="module")
def model():
    return KneserNeyTrigram(VOCAB).fit(DOCUMENTS)


@pytest.mark.parametrize("context", [(4, 5), (5, 6), (BOS_ID, BOS_ID), (BOS_ID, 4), (9, 5), (11, 11), (7, 11), (6, 6)])
def test_probabilities_over_the_vocabulary_sum_to_one(model, context):
    distribution = model.distribution(*context)
    assert distribution.shape == (VOCAB,)
    assert np.all(distribution > 0)
    assert distribution.sum() == pytest.approx(1.0, abs=1e-12)


def test_seen_continuations_beat_unseen_ones(model):
    assert model.prob(6, 4, 5) > model.prob(9, 4, 5) > model.prob(11, 4, 5)
    assert model.prob(EOS_ID, 6, 7) > model.prob(11, 6, 7)


def test_score_counts_every_token_and_the_end(model):
    log_prob, tokens = model.score([4, 5, 6, 7])
    expected = sum(math.log(model.prob(w, u, v)) for u, v, w in
                   [(BOS_ID, BOS_ID, 4), (BOS_ID, 4, 5), (4, 5, 6), (5, 6, 7), (6, 7, EOS_ID)])
    assert tokens == 5 and log_prob == pytest.approx(expected)
    result = model.evaluate([[4, 5, 6, 7], []])
    assert result["tokens"] == 6
    assert result["perplexity"] == pytest.approx(math.exp(-(log_prob + model.score([])[0]) / 6))


def test_an_empty_model_is_uniform():
    model = KneserNeyTrigram(7).fit([])
    assert model.distribution(4, 5) == pytest.approx(np.full(7, 1 / 7))
