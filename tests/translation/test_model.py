"""The translator's graphs agree with each other, and its decoders with an independent loop."""

import numpy as np
import pytest
import tensorflow as tf

from apps.translation.evaluate import translate_function, translate_ids
from apps.translation.model import ATTENTIONS, Translator
from shared.decoding import step_function
from shared.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID

SOURCE = np.array([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0], [13, 0, 0, 0, 0]], np.int32)
TARGET_IN = np.array([[BOS_ID, 5, 6, 7], [BOS_ID, 8, 9, 0], [BOS_ID, 4, 0, 0]], np.int32)


def small_translator(attention, **options):
    return Translator(source_vocab_size=20, target_vocab_size=15, embedding_dim=8, units=12, attention_dim=6,
                      attention=attention, **options)


def suppressed_log_softmax(logits):
    """What the step model outputs: log-probabilities with [PAD], [UNK] and [BOS] ruled out."""
    logits = np.array(logits, np.float64)
    logits[..., [PAD_ID, UNK_ID, BOS_ID]] = -np.inf
    return logits - np.log(np.sum(np.exp(logits - logits.max(-1, keepdims=True)), -1, keepdims=True)) \
        - logits.max(-1, keepdims=True)


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell, bidirectional, layers", [("lstm", True, 1), ("gru", False, 2)])
def test_stepping_the_decoder_reproduces_the_teacher_forced_graph(attention, cell, bidirectional, layers):
    translator = small_translator(attention, cell=cell, bidirectional=bidirectional, layers=layers)
    logits = translator.training_model({"source": SOURCE, "target_in": TARGET_IN}, training=False)["logits"].numpy()
    state = {name: value.numpy() for name, value in translator.encoder_model()({"source": SOURCE}).items()}
    assert set(state) == set(translator.state_names)
    step = step_function(lambda feed: {k: v.numpy() for k, v in translator.step_model()(
        {k: tf.constant(v) for k, v in feed.items()}).items()})
    for t in range(TARGET_IN.shape[1]):
        log_probs, state = step(TARGET_IN[:, t], state)
        expected = suppressed_log_softmax(logits[:, t])
        allowed = np.isfinite(expected)
        np.testing.assert_allclose(log_probs[allowed], expected[allowed], atol=1e-5)
        assert np.all(log_probs[~allowed] < -1e8)


@pytest.mark.parametrize("attention", ("luong", "bahdanau"))
def test_attention_never_looks_at_padding_and_sums_to_one(attention):
    translator = small_translator(attention)
    weights = translator.attention_model()({"source": SOURCE, "target_in": TARGET_IN})["attention"].numpy()
    assert weights.shape == (3, 4, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[1, :, 3:] == 0) and np.all(weights[2, :, 1:] == 0)


def greedy_by_hand(translator, source, max_length):
    """An independent greedy loop: one row at a time, argmax of the step model, stop at [EOS]."""
    encoder, step = translator.encoder_model(), translator.step_model()
    rows = []
    for ids in source:
        ids = [token for token in ids if token != PAD_ID] or [PAD_ID]
        state = encoder({"source": tf.constant([ids], tf.int32)})
        token, row = BOS_ID, []
        for _ in range(max_length):
            outputs = step({"token": tf.constant([token], tf.int32), **state})
            token = int(np.argmax(outputs["log_probs"].numpy()[0]))
            row.append(token)
            state = {**state, "h": outputs["new_h"], "c": outputs["new_c"]}
            if token == EOS_ID:
                break
        rows.append(row + [PAD_ID] * (max_length - len(row)))
    return np.array(rows)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_beam_of_width_one_equals_greedy_decoding_by_hand(attention):
    translator = small_translator(attention)
    run = translate_function(translator, beam_size=1, max_length=6)
    tokens, _ = translate_ids(run, [list(row[row != 0]) for row in SOURCE])
    np.testing.assert_array_equal(np.array(tokens), greedy_by_hand(translator, SOURCE, 6))


def test_a_wider_beam_never_scores_below_greedy():
    translator = small_translator("luong")
    sources = [list(row[row != 0]) for row in SOURCE]
    _, greedy = translate_ids(translate_function(translator, beam_size=1, max_length=6), sources)
    _, beam = translate_ids(translate_function(translator, beam_size=4, max_length=6), sources)
    assert np.all(beam >= greedy - 1e-5)


def test_an_empty_source_decodes_without_nan():
    translator = small_translator("bahdanau")
    tokens, scores = translate_function(translator, beam_size=3, max_length=5)(tf.constant([[0]], tf.int32))
    assert np.isfinite(scores.numpy()).all() and tokens.shape == (1, 5)
