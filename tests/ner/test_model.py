"""The tagger as built: padding-independent outputs, and training under mixed precision."""

import keras
import numpy as np
import pytest

from apps.ner.crf import viterbi_decode
from apps.ner.model import build_model, tagging_loss
from shared.precision import apply_precision


def test_emissions_do_not_depend_on_the_batch_padding():
    keras_model = build_model(vocab_size=30, num_chars=20, num_tags=5, embedding_dim=8, char_dim=6, char_filters=7,
                              units=5, dropout=0.0, word_dropout=0.0)
    rng = np.random.default_rng(0)
    words = rng.integers(2, 30, size=(1, 4)).astype(np.int32)
    chars = np.zeros((1, 4, 3), np.int32)
    chars[0, :, :3] = rng.integers(2, 20, size=(4, 3))  # every word exactly three characters
    alone = keras_model.predict({"word_ids": words, "char_ids": chars}, verbose=0)["emissions"]
    # Beside a longer sentence with a 12-character word: more tokens and more characters of padding.
    other_words = rng.integers(2, 30, size=(1, 7)).astype(np.int32)
    other_chars = rng.integers(2, 20, size=(1, 7, 12)).astype(np.int32)
    batch_words = np.concatenate([np.pad(words, ((0, 0), (0, 3))), other_words])
    batch_chars = np.concatenate([np.pad(chars, ((0, 0), (0, 3), (0, 9))), other_chars])
    batched = keras_model.predict({"word_ids": batch_words, "char_ids": batch_chars}, verbose=0)["emissions"]
    np.testing.assert_allclose(batched[0, :4], alone[0], atol=1e-5)


@pytest.mark.slow
def test_the_tagger_trains_and_decodes_under_mixed_precision():
    """What ``--precision auto`` picks on a GPU: float16 features and LSTMs, a float32 CRF."""
    keras.utils.set_random_seed(0)
    try:
        apply_precision("mixed_float16", log=lambda *_: None)
        model = build_model(vocab_size=30, num_chars=20, num_tags=5, embedding_dim=8, char_dim=6, char_filters=7,
                            units=5)
        model.compile(optimizer="adam", loss={"emissions": tagging_loss(model)})
        assert model.get_layer("char_cnn").compute_dtype == "float16"
        assert model.get_layer("crf").compute_dtype == "float32"
        rng = np.random.default_rng(0)
        words = rng.integers(1, 30, size=(8, 6)).astype(np.int32)
        chars = rng.integers(1, 20, size=(8, 6, 4)).astype(np.int32)
        words[:, 4:], chars[:, 4:] = 0, 0
        tags = np.where(words > 0, rng.integers(0, 5, size=words.shape), -1)
        history = model.fit({"word_ids": words, "char_ids": chars}, {"emissions": tags}, epochs=2, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        outputs = model.predict({"word_ids": words, "char_ids": chars}, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    crf = model.get_layer("crf")
    expected = viterbi_decode(outputs["emissions"], words > 0, crf.transitions, crf.start, crf.end)
    np.testing.assert_array_equal(outputs["tag_ids"], np.asarray(expected))
