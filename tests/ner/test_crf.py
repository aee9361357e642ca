"""The CRF against brute force: every tag sequence of a tiny problem enumerated."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from apps.ner.crf import log_likelihood, log_partition, viterbi_decode

NUM_TAGS = 3


def _problem(seed, batch=4, time=5):
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(batch, time, NUM_TAGS)).astype(np.float32)
    transitions = rng.normal(size=(NUM_TAGS, NUM_TAGS)).astype(np.float32)
    start, end = rng.normal(size=NUM_TAGS).astype(np.float32), rng.normal(size=NUM_TAGS).astype(np.float32)
    lengths = np.array([time, 3, 1, 0][:batch])
    mask = np.arange(time)[None, :] < lengths[:, None]
    return emissions, mask, transitions, start, end, lengths


def _path_score(emission, path, transitions, start, end):
    score = start[path[0]] + end[path[-1]] + sum(emission[t, tag] for t, tag in enumerate(path))
    return score + sum(transitions[a, b] for a, b in zip(path, path[1:]))


def _all_paths(length):
    return list(itertools.product(range(NUM_TAGS), repeat=length))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_partition_and_likelihood_equal_brute_force(seed):
    emissions, mask, transitions, start, end, lengths = _problem(seed)
    log_z = log_partition(tf.constant(emissions), tf.constant(mask), transitions, start, end).numpy()
    rng = np.random.default_rng(seed + 100)
    gold = rng.integers(0, NUM_TAGS, size=mask.shape)
    gold[~mask] = -1
    likelihood = log_likelihood(tf.constant(emissions), tf.constant(gold, tf.int32), tf.constant(mask),
                                transitions, start, end).numpy()
    for row, length in enumerate(lengths):
        if length == 0:
            assert log_z[row] == 0.0 and likelihood[row] == 0.0
            continue
        scores = [_path_score(emissions[row], path, transitions, start, end) for path in _all_paths(length)]
        expected_log_z = np.log(np.sum(np.exp(np.array(scores, np.float64))))
        assert log_z[row] == pytest.approx(expected_log_z, abs=1e-4)
        gold_score = _path_score(emissions[row], tuple(gold[row, :length]), transitions, start, end)
        assert likelihood[row] == pytest.approx(gold_score - expected_log_z, abs=1e-4)


def test_probabilities_of_all_paths_sum_to_one():
    emissions, mask, transitions, start, end, _ = _problem(7, batch=1, time=4)
    paths = np.array(_all_paths(4), np.int32)
    repeated = np.repeat(emissions, len(paths), axis=0)
    likelihood = log_likelihood(tf.constant(repeated), tf.constant(paths), tf.constant(np.ones_like(paths, bool)),
                                transitions, start, end).numpy()
    assert np.exp(likelihood.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_viterbi_equals_brute_force_argmax(seed):
    emissions, mask, transitions, start, end, lengths = _problem(seed)
    decoded = viterbi_decode(tf.constant(emissions), tf.constant(mask), transitions, start, end).numpy()
    assert decoded.dtype == np.int32 and decoded.shape == mask.shape
    for row, length in enumerate(lengths):
        assert (decoded[row, length:] == 0).all()
        if length == 0:
            continue
        best = max(_all_paths(length), key=lambda path: _path_score(emissions[row], path, transitions, start, end))
        assert tuple(decoded[row, :length]) == best


def test_transitions_can_forbid_a_tag_pair():
    """A huge penalty on 0 -> 1 must keep Viterbi off that pair even when emissions favour it."""
    emissions = np.array([[[5.0, 0.0, 0.0], [0.0, 5.0, 0.0]]], np.float32)
    transitions = np.zeros((3, 3), np.float32)
    transitions[0, 1] = -100.0
    zeros = np.zeros(3, np.float32)
    decoded = viterbi_decode(tf.constant(emissions), tf.constant(np.ones((1, 2), bool)), transitions, zeros, zeros)
    assert tuple(decoded.numpy()[0]) != (0, 1)


# Inside a graph whose time dimension is unknown, as in training: a batch whose longest
# sentence has one token (or none) once left the forward loop no step to stack.
GRAPH_SIGNATURE = [tf.TensorSpec([None, None, NUM_TAGS], tf.float32), tf.TensorSpec([None, None], tf.int32),
                   tf.TensorSpec([None, None], tf.bool)]


@pytest.mark.parametrize("time", [1, 0])
def test_one_token_and_empty_batches_in_a_graph_equal_brute_force(time):
    emissions, _, transitions, start, end, _ = _problem(5, batch=3, time=time)
    lengths = np.array([time, 0, time])
    mask = np.arange(time)[None, :] < lengths[:, None]
    gold = np.where(mask, 2, -1).astype(np.int32)

    @tf.function(input_signature=GRAPH_SIGNATURE)
    def scores(emissions, tags, mask):
        return (log_partition(emissions, mask, transitions, start, end),
                log_likelihood(emissions, tags, mask, transitions, start, end))

    log_z, likelihood = (value.numpy() for value in scores(emissions, gold, mask))
    for row, length in enumerate(lengths):
        if length == 0:
            assert log_z[row] == 0.0 and likelihood[row] == 0.0
            continue
        paths = [_path_score(emissions[row], path, transitions, start, end) for path in _all_paths(length)]
        expected_log_z = np.log(np.sum(np.exp(np.array(paths, np.float64))))
        assert log_z[row] == pytest.approx(expected_log_z, abs=1e-4)
        gold_score = _path_score(emissions[row], (2,) * length, transitions, start, end)
        assert likelihood[row] == pytest.approx(gold_score - expected_log_z, abs=1e-4)
