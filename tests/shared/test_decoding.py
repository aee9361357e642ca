"""Decoding: the TensorFlow and NumPy twins agree token for token, and both decode right."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.decoding import (
    beam_search_np,
    beam_search_tf,
    decode_np,
    decode_tf,
    greedy_decode_np,
    greedy_decode_tf,
)
from shared.text import BOS_ID, EOS_ID, PAD_ID

A, B = 4, 5  # two ordinary tokens for hand-built cases


class TableStep:
    """``log_probs = table[row, min(clock, T - 1), previous token]``, in both frameworks.

    Pure lookups, so the TensorFlow and NumPy versions give bit-identical float32 values and
    any disagreement between the decoders is the decoders' own. The state has two entries of
    different ranks, so beam search must tile and gather each of them right.
    """

    def __init__(self, table):
        self.table = np.asarray(table, np.float32)
        self.calls = 0

    def state(self, rows):
        rows = np.asarray(rows, np.int32)
        return {"row": rows, "clock": np.zeros((len(rows), 1), np.int32)}

    def numpy(self, tokens, state):
        self.calls += 1
        clock = np.minimum(state["clock"][:, 0], self.table.shape[1] - 1)
        log_probs = self.table[state["row"], clock, tokens]
        return log_probs, {"row": state["row"], "clock": state["clock"] + 1}

    def tensorflow(self, tokens, state):
        self.calls += 1
        clock = tf.minimum(state["clock"][:, 0], self.table.shape[1] - 1)
        index = tf.stack([state["row"], clock, tokens], axis=1)
        return tf.gather_nd(tf.constant(self.table), index), {"row": state["row"], "clock": state["clock"] + 1}


def log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    return (shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))).astype(np.float32)


def random_table(seed=7, rows=5, steps=8, vocab=12):
    """Random log-probs; pad is never generated, so only EOS ends a row."""
    logits = np.random.default_rng(seed).normal(0.0, 2.0, size=(rows, steps, vocab, vocab))
    logits[..., PAD_ID] = -30.0
    logits[..., EOS_ID] += 0.5
    return log_softmax(logits)


def distribution(probabilities, vocab=6):
    """Log-probs with the given ``{token: probability}`` and the rest spread evenly."""
    p = np.full(vocab, 0.0)
    for token, value in probabilities.items():
        p[token] = value
    rest = [token for token in range(vocab) if token not in probabilities]
    p[rest] = max(1.0 - p.sum(), 1e-6) / len(rest)
    return np.log(p / p.sum()).astype(np.float32)


def hand_table(rules, steps, rows=1, vocab=6, default=None):
    """A ``[rows, steps, vocab, vocab]`` table from ``{(row, clock, previous): {token: p}}``."""
    default = distribution(default or {EOS_ID: 0.9}, vocab)
    table = np.tile(default, (rows, steps, vocab, 1))
    for (row, clock, previous), probabilities in rules.items():
        table[row, clock, previous] = distribution(probabilities, vocab)
    return table


def decode_both(kind, table, rows, **options):
    """Run the TF (eagerly) and the NumPy decoder of one kind on the same table step."""
    step = TableStep(table)
    if kind == "greedy":
        tf_out = greedy_decode_tf(step.tensorflow, step.state(rows), **options)
        np_out = greedy_decode_np(step.numpy, step.state(rows), **options)
    else:
        tf_out = beam_search_tf(step.tensorflow, step.state(rows), **options)
        np_out = beam_search_np(step.numpy, step.state(rows), **options)
    return (tf_out[0].numpy(), tf_out[1].numpy()), np_out


def assert_same(tf_out, np_out):
    assert tf_out[0].dtype == np_out[0].dtype == np.int32
    assert tf_out[1].dtype == np_out[1].dtype == np.float32
    np.testing.assert_array_equal(tf_out[0], np_out[0])
    # Same float32 additions in the same order: the sums agree to the bit, not just closely.
    np.testing.assert_array_equal(tf_out[1], np_out[1])


def assert_well_formed(tokens):
    """Pad after the first EOS and nowhere before it; rows without EOS fill every position."""
    for row in tokens:
        ends = np.flatnonzero(row == EOS_ID)
        end = ends[0] + 1 if len(ends) else len(row)
        assert (row[end:] == PAD_ID).all(), row
        assert (row[:end] != PAD_ID).all(), row


ROWS = [0, 1, 2, 3, 4]


def test_random_table_is_a_meaningful_fixture():
    step = TableStep(random_table())
    tokens, _ = greedy_decode_np(step.numpy, step.state(ROWS), max_length=8)
    finished = (tokens == EOS_ID).any(axis=1)
    assert 0 < finished.sum() < len(ROWS), "want rows that end early and rows that fill max_length"
    assert len({tuple(row) for row in tokens}) == len(ROWS)


def test_greedy_tf_equals_numpy():
    tf_out, np_out = decode_both("greedy", random_table(), ROWS, max_length=8)
    assert tf_out[0].shape == (5, 8)
    assert_same(tf_out, np_out)
    assert_well_formed(np_out[0])


@pytest.mark.parametrize("beam_size", [1, 2, 4])
@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0, 2.0])
def test_beam_search_tf_equals_numpy(beam_size, length_penalty):
    tf_out, np_out = decode_both("beam", random_table(), ROWS, beam_size=beam_size, max_length=8,
                                 length_penalty=length_penalty)
    assert tf_out[0].shape == (5, 8) and tf_out[1].shape == (5,)
    assert_same(tf_out, np_out)
    assert_well_formed(np_out[0])


def test_beam_search_is_no_worse_than_greedy_and_wider_beams_differ():
    table = random_table()
    greedy = decode_both("greedy", table, ROWS, max_length=8)[1]
    wide = decode_both("beam", table, ROWS, beam_size=4, max_length=8)[1]
    assert (wide[1] >= greedy[1] - 1e-6).all()
    assert (wide[1] > greedy[1] + 1e-3).any(), "the fixture should give beam search something to find"


@pytest.mark.parametrize("beam_size", [2, 4])
@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_ties_break_the_same_way(beam_size, length_penalty):
    """Whole-number log-probs tie constantly; both twins must still agree exactly.

    This table was chosen because an unstable NumPy sort breaks its ties differently.
    """
    table = np.round(random_table(seed=4))
    assert_same(*decode_both("greedy", table, ROWS, max_length=8))
    assert_same(*decode_both("beam", table, ROWS, beam_size=beam_size, max_length=8, length_penalty=length_penalty))


def test_tie_breaking_primitives_pick_the_lower_index():
    values = np.array([[1.0, 3.0, 3.0, 0.0, 3.0]], np.float32)
    assert tf.math.top_k(values, k=2).indices.numpy().tolist() == [[1, 2]]
    assert tf.argmax(values, axis=1).numpy().tolist() == [1] == np.argmax(values, axis=1).tolist()
    assert np.argsort(-values, axis=1, kind="stable")[:, :2].tolist() == [[1, 2]]


def test_beam_size_one_is_greedy_in_both_implementations():
    step = TableStep(random_table())
    greedy_tf = greedy_decode_tf(step.tensorflow, step.state(ROWS), max_length=8)
    greedy_np = greedy_decode_np(step.numpy, step.state(ROWS), max_length=8)
    beam_tf = beam_search_tf(step.tensorflow, step.state(ROWS), beam_size=1, max_length=8, length_penalty=1.0)
    beam_np = beam_search_np(step.numpy, step.state(ROWS), beam_size=1, max_length=8, length_penalty=1.0)
    via_tf = decode_tf(step.tensorflow, step.state(ROWS), max_length=8)
    via_np = decode_np(step.numpy, step.state(ROWS), max_length=8)
    for tokens, scores in (beam_tf, via_tf):
        np.testing.assert_array_equal(tokens.numpy(), greedy_tf[0].numpy())
        np.testing.assert_array_equal(scores.numpy(), greedy_tf[1].numpy())
    for tokens, scores in (beam_np, via_np):
        np.testing.assert_array_equal(tokens, greedy_np[0])
        np.testing.assert_array_equal(scores, greedy_np[1])


def test_beam_size_one_is_greedy_even_where_float32_rounding_ties_candidates():
    """After a score of -16, -1.0 and the next float below it round to the same sum.

    Greedy sees B (-1.0) as strictly better than A; ranking ``score + log_prob`` would see a
    tie and take the lower index, A. One beam must still answer B, as greedy does.
    """
    table = np.full((1, 2, 6, 6), -20.0, np.float32)
    table[0, 0, BOS_ID, A] = -16.0
    table[0, 1, :, EOS_ID] = -0.5
    table[0, 1, A, A] = np.nextafter(np.float32(-1.0), np.float32(-2.0))
    table[0, 1, A, B] = -1.0
    table[0, 1, A, EOS_ID] = -30.0
    assert np.float32(-16.0) + table[0, 1, A, A] == np.float32(-16.0) + table[0, 1, A, B]
    for decoded in decode_both("beam", table, [0], beam_size=1, max_length=3):
        assert decoded[0].tolist() == [[A, B, EOS_ID]]


def test_decode_dispatches_to_beam_search():
    table = random_table()
    step = TableStep(table)
    beam = beam_search_np(step.numpy, step.state(ROWS), beam_size=4, max_length=8)
    for tokens, scores in (decode_np(step.numpy, step.state(ROWS), beam_size=4, max_length=8),
                           [x.numpy() for x in decode_tf(step.tensorflow, step.state(ROWS), beam_size=4,
                                                         max_length=8)]):
        np.testing.assert_array_equal(tokens, beam[0])
        np.testing.assert_array_equal(scores, beam[1])


# The best first token (A, 0.55) leads to a poor ending (EOS 0.4); B (0.45) ends well (EOS 0.9).
MYOPIC = hand_table({(0, 0, BOS_ID): {A: 0.55, B: 0.45},
                     (0, 1, A): {EOS_ID: 0.4, A: 0.3, B: 0.3},
                     (0, 1, B): {EOS_ID: 0.9, A: 0.05, B: 0.05}}, steps=3)


def test_beam_search_finds_what_greedy_misses():
    greedy_tf, greedy_np = decode_both("greedy", MYOPIC, [0, 0], max_length=4)
    beam_tf, beam_np = decode_both("beam", MYOPIC, [0, 0], beam_size=2, max_length=4)
    for tokens, scores in (greedy_tf, greedy_np):
        assert tokens.tolist() == [[A, EOS_ID, PAD_ID, PAD_ID]] * 2
        assert (scores == MYOPIC[0, 0, BOS_ID, A] + MYOPIC[0, 1, A, EOS_ID]).all()
    for tokens, scores in (beam_tf, beam_np):
        assert tokens.tolist() == [[B, EOS_ID, PAD_ID, PAD_ID]] * 2
        assert (scores == MYOPIC[0, 0, BOS_ID, B] + MYOPIC[0, 1, B, EOS_ID]).all()
    np.testing.assert_allclose(beam_np[1], np.log(0.45 * 0.9), rtol=1e-5)
    assert (beam_np[1] > greedy_np[1]).all()


# Row 0 says A, A, then EOS; row 1 says A forever.
ENDINGS = hand_table({**{(0, clock, previous): {A: 0.9} for clock in (0, 1) for previous in range(6)},
                      **{(1, clock, previous): {A: 0.9} for clock in range(4) for previous in range(6)}},
                     steps=4, rows=2)


@pytest.mark.parametrize("kind", ["greedy", "beam"])
def test_tokens_after_eos_are_pad_and_endless_rows_fill_max_length(kind):
    options = dict(max_length=6) if kind == "greedy" else dict(beam_size=2, max_length=6)
    for tokens, scores in decode_both(kind, ENDINGS, [0, 1], **options):
        assert tokens.tolist() == [[A, A, EOS_ID, PAD_ID, PAD_ID, PAD_ID], [A] * 6]
        np.testing.assert_allclose(scores, [3 * np.log(0.9), 6 * np.log(0.9)], rtol=1e-5)


@pytest.mark.parametrize("kind", ["greedy", "beam"])
def test_early_stop_saves_steps_without_changing_results(kind):
    options = dict() if kind == "greedy" else dict(beam_size=2)
    for framework in ("numpy", "tensorflow"):
        results = []
        for max_length in (6, 12):
            step = TableStep(ENDINGS)
            decoder = {"greedy": greedy_decode_np, "beam": beam_search_np}[kind]
            if framework == "tensorflow":
                decoder = {"greedy": greedy_decode_tf, "beam": beam_search_tf}[kind]
            tokens, scores = decoder(getattr(step, framework), step.state([0, 0]), max_length=max_length, **options)
            results.append((np.asarray(tokens), np.asarray(scores)))
            if kind == "greedy":
                assert step.calls == 3, "both rows end at step 3"
            else:
                assert step.calls < 6
        (short, short_scores), (long, long_scores) = results
        np.testing.assert_array_equal(long[:, :6], short)
        assert (long[:, 6:] == PAD_ID).all()
        np.testing.assert_array_equal(long_scores, short_scores)


# EOS at once (0.5) against A, A, EOS (0.45 * 0.9 * 0.9 = 0.3645): shorter wins on raw score,
# longer on score per token.
LENGTHS = hand_table({(0, 0, BOS_ID): {EOS_ID: 0.5, A: 0.45},
                      (0, 1, A): {A: 0.9, EOS_ID: 0.05},
                      (0, 2, A): {EOS_ID: 0.9, A: 0.05}}, steps=4)


def test_length_penalty_changes_the_choice():
    short = [EOS_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]
    long = [A, A, EOS_ID, PAD_ID, PAD_ID]
    for length_penalty, expected, probability in ((0.0, short, 0.5), (1.0, long, 0.3645)):
        for tokens, scores in decode_both("beam", LENGTHS, [0], beam_size=2, max_length=5,
                                          length_penalty=length_penalty):
            assert tokens.tolist() == [expected]
            np.testing.assert_allclose(scores, [np.log(probability)], rtol=1e-5)


def test_an_empty_batch_decodes_to_nothing():
    step = TableStep(random_table())
    for tokens, scores in (greedy_decode_np(step.numpy, step.state([]), max_length=4),
                           beam_search_tf(step.tensorflow, step.state([]), beam_size=2, max_length=4)):
        assert tuple(tokens.shape) == (0, 4) and tuple(scores.shape) == (0,)
    assert step.calls == 0


# --- inside a tf.function and a SavedModel, driven by a Keras step model

VOCAB, WIDTH, MAX_LENGTH = 10, 4, 6


def tiny_step_model():
    """Embedding + the state vector -> new state -> log-softmax over the vocabulary."""
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(), dtype="int32", name="tokens")
    hidden = keras.Input(shape=(WIDTH,), name="hidden")
    embedded = keras.layers.Embedding(VOCAB, WIDTH)(tokens)
    joined = keras.layers.Concatenate()([embedded, hidden])
    new_hidden = keras.layers.Dense(WIDTH, activation="tanh", name="new_hidden")(joined)
    # Large weights make the distributions peaked, so eager-versus-graph rounding cannot
    # flip a choice and the test checks the decoder, not the kernels.
    logits = keras.layers.Dense(VOCAB, kernel_initializer=keras.initializers.RandomNormal(stddev=3.0))(new_hidden)
    log_probs = keras.layers.Activation(keras.activations.log_softmax, name="log_probs")(logits)
    return keras.Model({"tokens": tokens, "hidden": hidden}, {"log_probs": log_probs, "hidden": new_hidden})


def keras_step(model):
    def step(tokens, state):
        outputs = model({"tokens": tokens, "hidden": state["hidden"]})
        return outputs["log_probs"], {"hidden": outputs["hidden"]}
    return step


def numpy_keras_step(model):
    """The host-loop view of the same model, as an onnxruntime session would be driven."""
    def step(tokens, state):
        outputs = model({"tokens": tf.constant(tokens), "hidden": tf.constant(state["hidden"])})
        return outputs["log_probs"].numpy(), {"hidden": outputs["hidden"].numpy()}
    return step


class Decoder(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, WIDTH], tf.float32, name="hidden")])
    def greedy(self, hidden):
        tokens, scores = decode_tf(keras_step(self.model), {"hidden": hidden}, max_length=MAX_LENGTH)
        return {"tokens": tokens, "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None, WIDTH], tf.float32, name="hidden")])
    def beam(self, hidden):
        tokens, scores = decode_tf(keras_step(self.model), {"hidden": hidden}, beam_size=3,
                                   max_length=MAX_LENGTH, length_penalty=0.6)
        return {"tokens": tokens, "scores": scores}


def test_savedmodel_decodes_like_eager_tf_and_numpy(tmp_path):
    model = tiny_step_model()
    module = Decoder(model)
    tf.saved_model.save(module, str(tmp_path / "decoder"), signatures={"serving_default": module.beam})
    loaded = tf.saved_model.load(str(tmp_path / "decoder"))
    hidden = np.random.default_rng(1).normal(0.0, 2.0, size=(3, WIDTH)).astype(np.float32)
    for batch in (1, 3):
        state = hidden[:batch]
        for name, beam_size, length_penalty in (("greedy", 1, 0.0), ("beam", 3, 0.6)):
            options = dict(beam_size=beam_size, max_length=MAX_LENGTH, length_penalty=length_penalty)
            eager = [x.numpy() for x in decode_tf(keras_step(model), {"hidden": state}, **options)]
            host = decode_np(numpy_keras_step(model), {"hidden": state}, **options)
            saved = getattr(loaded, name)(tf.constant(state))
            assert saved["tokens"].shape == (batch, MAX_LENGTH)
            for tokens, scores in (host, (saved["tokens"].numpy(), saved["scores"].numpy())):
                np.testing.assert_array_equal(tokens, eager[0])
                np.testing.assert_allclose(scores, eager[1], rtol=0, atol=1e-5)
        served = loaded.signatures["serving_default"](hidden=tf.constant(state))
        np.testing.assert_array_equal(served["tokens"].numpy(), loaded.beam(tf.constant(state))["tokens"].numpy())
    rows = decode_np(numpy_keras_step(model), {"hidden": hidden}, beam_size=3, max_length=MAX_LENGTH)[0]
    assert len({tuple(row) for row in rows}) > 1, "rows with different states should decode differently"


def test_tf_function_with_open_batch_matches_numpy():
    step = TableStep(random_table())
    spec = {"row": tf.TensorSpec([None], tf.int32), "clock": tf.TensorSpec([None, 1], tf.int32)}

    @tf.function(input_signature=[spec])
    def beam(state):
        return beam_search_tf(step.tensorflow, state, beam_size=4, max_length=8, length_penalty=1.0)

    tokens, scores = beam(step.state(ROWS))
    expected = beam_search_np(step.numpy, step.state(ROWS), beam_size=4, max_length=8, length_penalty=1.0)
    assert_same((tokens.numpy(), scores.numpy()), expected)


# --- wrong inputs


def decoders():
    step = TableStep(random_table())
    return [(greedy_decode_np, step.numpy, {}), (greedy_decode_tf, step.tensorflow, {}),
            (beam_search_np, step.numpy, {"beam_size": 2}), (beam_search_tf, step.tensorflow, {"beam_size": 2})]


@pytest.mark.parametrize("beam_size", [0, -1, 1.5, True, "2"])
def test_bad_beam_size_is_a_value_error(beam_size):
    step = TableStep(random_table())
    for decoder, run in ((beam_search_np, step.numpy), (beam_search_tf, step.tensorflow),
                         (decode_np, step.numpy), (decode_tf, step.tensorflow)):
        with pytest.raises(ValueError, match="beam_size must be an integer >= 1"):
            decoder(run, step.state(ROWS), beam_size=beam_size, max_length=4)


@pytest.mark.parametrize("max_length", [0, -3, 2.0, None])
def test_bad_max_length_is_a_value_error(max_length):
    for decoder, run, options in decoders():
        with pytest.raises(ValueError, match="max_length must be an integer >= 1"):
            decoder(run, TableStep(random_table()).state(ROWS), max_length=max_length, **options)


def test_bad_states_are_value_errors():
    bad_states = {
        "disagree on the batch size": {"row": np.zeros(3, np.int32), "clock": np.zeros((2, 1), np.int32)},
        "at least one tensor": {},
        "scalar": {"row": np.int32(0), "clock": np.zeros((1, 1), np.int32)},
    }
    for message, state in bad_states.items():
        for decoder, run, options in decoders():
            with pytest.raises(ValueError, match=message):
                decoder(run, state, max_length=4, **options)


def test_disagreeing_batch_sizes_fail_at_run_time_when_shapes_are_open():
    step = TableStep(random_table())
    spec = {"row": tf.TensorSpec([None], tf.int32), "clock": tf.TensorSpec([None, 1], tf.int32)}
    greedy = tf.function(lambda state: greedy_decode_tf(step.tensorflow, state, max_length=4), input_signature=[spec])
    with pytest.raises(tf.errors.InvalidArgumentError, match="disagrees with the other state entries"):
        greedy({"row": np.zeros(3, np.int32), "clock": np.zeros((2, 1), np.int32)})


def test_bad_steps_and_options_are_value_errors():
    step = TableStep(random_table())

    def renames_state(tokens, state):
        log_probs, new_state = step.numpy(tokens, state)
        return log_probs, {"row": new_state["row"], "time": new_state["clock"]}

    def renames_state_tf(tokens, state):
        log_probs, new_state = step.tensorflow(tokens, state)
        return log_probs, {"row": new_state["row"], "time": new_state["clock"]}

    with pytest.raises(ValueError, match="keys"):
        greedy_decode_np(renames_state, step.state(ROWS), max_length=4)
    with pytest.raises(ValueError, match="keys"):
        beam_search_tf(renames_state_tf, step.state(ROWS), beam_size=2, max_length=4)
    with pytest.raises(ValueError, match="must not exceed the vocabulary size"):
        beam_search_np(step.numpy, step.state(ROWS), beam_size=13, max_length=4)
    with pytest.raises(ValueError, match="must not exceed the vocabulary size"):
        beam_search_tf(step.tensorflow, step.state(ROWS), beam_size=13, max_length=4)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search_np(step.numpy, step.state(ROWS), beam_size=2, max_length=4, length_penalty="long")
    with pytest.raises(ValueError, match="log_probs of shape"):
        greedy_decode_np(lambda tokens, state: (step.numpy(tokens, state)[0][0], state), step.state(ROWS),
                         max_length=4)
