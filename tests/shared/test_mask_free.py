"""The ONNX export's mask-free recurrent layers: the masked model's numbers, fused ONNX RNN ops."""

import collections

import keras
import numpy as np
import onnx
import pytest

from shared.layers import MaskFreeRecurrent, mask_free_model
from shared.serving import OnnxRunner

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def padded_model(cell, *, bidirectional, return_sequences, layers=1, units=8):
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(30, 6, mask_zero=True, name="embedding")(ids)
    for index in range(layers):
        rnn = CELLS[cell](units, return_sequences=return_sequences or index < layers - 1, use_cudnn=False,
                          name=f"{cell}_{index}")
        x = keras.layers.Bidirectional(rnn, name=f"bi_{index}")(x) if bidirectional else rnn(x)
    out = keras.layers.Dense(3, name="scores")(x)
    return keras.Model({"ids": ids}, {"scores": out})


def padded_batch(rows=9, steps=11, seed=0):
    """Right-padded ids of every length from 0 (an all-padding row) to ``steps``."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 30, size=(rows, steps)).astype("int32")
    lengths = np.linspace(0, steps, rows).astype(int)
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return {"ids": ids}


CASES = [("lstm", bidirectional, sequences) for bidirectional in (True, False) for sequences in (True, False)]


@pytest.mark.parametrize("cell,bidirectional,return_sequences", CASES)
def test_same_outputs_as_the_masked_model_in_keras_and_onnx(tmp_path, cell, bidirectional, return_sequences):
    keras.utils.set_random_seed(3)
    model = padded_model(cell, bidirectional=bidirectional, return_sequences=return_sequences, layers=2)
    free = mask_free_model(model)
    assert free is not model and [layer.name for layer in free.inputs] == ["ids"]
    assert sum(isinstance(layer, MaskFreeRecurrent) for layer in free.layers) == 2
    feed = padded_batch()
    expected = model.predict(feed, verbose=0)["scores"]
    assert np.abs(expected).max() > 1e-3  # a real signal, not zeros
    np.testing.assert_allclose(free.predict(feed, verbose=0)["scores"], expected, atol=1e-6)

    path = tmp_path / "free.onnx"
    free.export(str(path), format="onnx", verbose=False)  # what the export does, through Keras' tf2onnx
    ops = collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["Loop"] == 0, ops  # every direction became a fused op, none an ONNX Loop
    assert ops[cell.upper()] == 2 * (2 if bidirectional else 1), ops
    np.testing.assert_allclose(OnnxRunner(path)(**feed)["scores"], expected, atol=1e-5)


def test_the_weights_are_the_trained_ones_in_their_order():
    keras.utils.set_random_seed(4)
    model = padded_model("lstm", bidirectional=True, return_sequences=False)
    free = mask_free_model(model)
    free.predict(padded_batch(), verbose=0)
    for mine, theirs in zip(free.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_grus_are_left_alone():
    """tf2onnx fuses unmasked LSTMs only: an unmasked GRU would still be a Loop."""
    model = padded_model("gru", bidirectional=True, return_sequences=False)
    assert mask_free_model(model) is model


def test_a_model_without_masks_is_left_alone():
    ids = keras.Input((None, 4), name="prices")
    model = keras.Model(ids, keras.layers.LSTM(5)(ids))
    assert mask_free_model(model) is model


def state_model(*, bidirectional, return_sequences):
    """Translation's encoder shape: sequences (or the final output) and every final h and c."""
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(30, 6, mask_zero=True)(ids)
    rnn = keras.layers.LSTM(7, return_sequences=return_sequences, return_state=True, use_cudnn=False)
    outputs = (keras.layers.Bidirectional(rnn) if bidirectional else rnn)(x)
    return keras.Model({"ids": ids}, {f"out_{i}": output for i, output in enumerate(outputs)})


@pytest.mark.parametrize("bidirectional,return_sequences", [(True, True), (False, False)])
def test_final_h_and_c_states_equal_the_masked_layers(tmp_path, bidirectional, return_sequences):
    """A final ``c`` is no output of an unmasked LSTM: it is recomputed from the outputs."""
    keras.utils.set_random_seed(5)
    model = state_model(bidirectional=bidirectional, return_sequences=return_sequences)
    free = mask_free_model(model)
    assert any(isinstance(layer, MaskFreeRecurrent) for layer in free.layers)
    feed = padded_batch(steps=40)
    expected = model.predict(feed, verbose=0)
    assert len(expected) == (5 if bidirectional else 3)
    found = free.predict(feed, verbose=0)
    for name in expected:
        np.testing.assert_allclose(found[name], expected[name], atol=1e-5, err_msg=name)
    path = tmp_path / "states.onnx"
    free.export(str(path), format="onnx", verbose=False)
    assert collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)["Loop"] == 0
    onnx_out = OnnxRunner(path)(**feed)
    for name in expected:
        np.testing.assert_allclose(onnx_out[name], expected[name], atol=1e-5, err_msg=name)
