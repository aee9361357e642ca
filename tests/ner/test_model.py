"""The tagger's outputs for one sentence must not depend on the rest of its batch."""

import numpy as np

from apps.ner.model import build_model


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
