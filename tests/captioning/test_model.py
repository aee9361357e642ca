"""The captioner's models: one decoder step equals teacher forcing, decoding is consistent."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.captioning.encoder import EncoderChoice, build_cnn
from apps.captioning.evaluate import caption_function
from apps.captioning.model import Captioner
from shared.decoding import decode_np, step_function
from shared.text import BOS_ID, PAD_ID, UNK_ID

VOCAB = 17


def small_captioner(decoder, train_cnn=True, seed=3):
    keras.utils.set_random_seed(seed)
    cnn = build_cnn(EncoderChoice("small", 64, None, "test"))
    return Captioner(cnn, vocab_size=VOCAB, embedding_dim=8, decoder=decoder, units=24, feature_dim=12,
                     attention_dim=10, dropout=0.0, train_cnn=train_cnn)


def images(count=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, 64, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("decoder", ["attention", "show-tell"])
def test_step_model_replays_teacher_forcing_exactly(decoder):
    captioner = small_captioner(decoder)
    pixels = images()
    tokens = np.random.default_rng(1).integers(2, VOCAB, (3, 6)).astype(np.int32)
    logits = captioner.full_model({"pixels": tf.constant(pixels), "tokens": tf.constant(tokens)})["logits"]
    never = np.zeros(VOCAB, np.float32)
    never[[PAD_ID, UNK_ID, BOS_ID]] = -1e9  # a caption never contains these: decoding must not pick them
    expected = keras.ops.log_softmax(logits + never, axis=-1).numpy()
    state = captioner.encoder_model()({"pixels": tf.constant(pixels)})
    step = step_function(captioner.step_model())
    for t in range(tokens.shape[1]):
        log_probs, state = step(tf.constant(tokens[:, t]), state)
        np.testing.assert_allclose(log_probs.numpy(), expected[:, t], atol=1e-5)
        assert (log_probs.numpy()[:, [PAD_ID, UNK_ID, BOS_ID]] < -1e8).all()


def test_cached_features_give_the_same_state_as_pixels():
    captioner = small_captioner("attention", train_cnn=False)
    pixels = tf.constant(images())
    from_pixels = captioner.encoder_model()({"pixels": pixels})
    from_grid = captioner.state_model()({"image_features": captioner.cnn(pixels)})
    assert set(from_grid) == {"h", "c", "features", "keys"}
    for name in from_grid:
        np.testing.assert_allclose(from_grid[name].numpy(), from_pixels[name].numpy(), atol=1e-6)
    assert captioner.training_model.input["image_features"].shape == (None, 64, 96)


def test_attention_weights_are_a_distribution_over_the_grid():
    captioner = small_captioner("attention")
    grid = captioner.cnn(tf.constant(images(2)))
    tokens = tf.constant([[2, 5, 6, 7], [2, 8, 3, 0]], tf.int32)
    weights = captioner.attention_model()({"image_features": grid, "tokens": tokens})["attention"].numpy()
    assert weights.shape == (2, 4, 64)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    assert (weights >= 0).all()


def test_attention_knows_where_it_looks():
    """The same content in another cell must change the state: grid coordinates are features."""
    captioner = small_captioner("attention", train_cnn=False)
    grid = np.zeros((1, 64, 96), np.float32)
    grid[0, 0] = 1.0
    moved = np.zeros_like(grid)
    moved[0, 63] = 1.0
    state_model = captioner.state_model()
    first = state_model({"image_features": tf.constant(grid)})["h"].numpy()
    second = state_model({"image_features": tf.constant(moved)})["h"].numpy()
    assert np.abs(first - second).max() > 1e-4


@pytest.mark.parametrize("decoder", ["attention", "show-tell"])
def test_the_graph_decoder_matches_the_numpy_loop_over_the_step_model(decoder):
    captioner = small_captioner(decoder)
    pixels = tf.constant(images(4))
    state = {name: value.numpy() for name, value in captioner.encoder_model()({"pixels": pixels}).items()}
    step_model = captioner.step_model()
    for beam in (1, 3):
        tokens, scores = caption_function(captioner, beam_size=beam, max_length=7, from_pixels=True)(pixels)
        reference = decode_np(step_function(lambda feed: {k: v.numpy() for k, v in step_model(
            {k: tf.constant(v) for k, v in feed.items()}).items()}), state, beam_size=beam, max_length=7)
        np.testing.assert_array_equal(tokens.numpy(), reference[0])
        np.testing.assert_allclose(scores.numpy(), reference[1], atol=1e-5)


def test_weights_round_trip_through_a_rebuilt_captioner():
    trained = small_captioner("attention", seed=3)
    rebuilt = small_captioner("attention", seed=4)
    pixels = tf.constant(images(2))
    tokens = tf.constant([[2, 5, 6]], tf.int32)
    before = rebuilt.full_model({"pixels": pixels[:1], "tokens": tokens})["logits"].numpy()
    rebuilt.set_weights(trained.get_weights())
    after = rebuilt.full_model({"pixels": pixels[:1], "tokens": tokens})["logits"].numpy()
    expected = trained.full_model({"pixels": pixels[:1], "tokens": tokens})["logits"].numpy()
    assert np.abs(before - expected).max() > 1e-3
    np.testing.assert_allclose(after, expected, atol=1e-6)
