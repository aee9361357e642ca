"""Choosing the CNN, the pixel contract, and the image cache with its bad-image handling."""

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from apps.captioning.encoder import (EncoderChoice, build_cnn, choose_encoder, encoder_inputs, read_pixels,
                                     read_pixels_pil)
from shared.errors import SeqappsError


@pytest.fixture
def offline_without_weights(tmp_path, monkeypatch):
    """No shared data, an empty Keras cache and no network: no ImageNet weights anywhere."""
    monkeypatch.setenv("SEQAPPS_SHARED_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("SEQAPPS_OFFLINE", "1")


def save_image(path, mode="RGB", size=(90, 60), color=(200, 30, 40)):
    image = Image.new(mode, size, color if mode != "L" else 128)
    image.save(path)
    return path


def test_auto_takes_the_small_cnn_for_demo_scenes():
    lines = []
    choice = choose_encoder("auto", is_demo=True, log=lines.append)
    assert (choice.cnn, choice.image_size, choice.pretrained) == ("small", 64, False)
    assert "TRAINED FROM SCRATCH" in lines[0]


def test_auto_falls_back_to_the_small_cnn_and_says_why(offline_without_weights):
    lines = []
    choice = choose_encoder("auto", log=lines.append)
    assert choice.cnn == "small"
    assert "no ImageNet weights for mobilenet_v2" in lines[0] and "offline" in lines[0]


def test_an_explicit_pretrained_cnn_without_weights_is_an_error(offline_without_weights):
    with pytest.raises(SeqappsError, match="--cnn-weights"):
        choose_encoder("mobilenet")
    with pytest.raises(SeqappsError, match="no such file"):
        choose_encoder("mobilenet", weights="/no/such/weights.h5")


def test_the_shared_imagenet_weights_are_found_and_loaded(shared_data):
    choice = choose_encoder("mobilenet", image_size=96, log=lambda _: None)
    assert choice.pretrained and choice.weights.endswith("mobilenet_2_5_224_tf_no_top.h5")
    cnn = build_cnn(choice)
    assert cnn.output_shape == (None, 9, 256)
    first_conv = next(w for w in cnn.weights if "conv1" in w.path and "kernel" in w.path)
    assert float(np.std(first_conv.numpy())) > 0.3  # trained: 0.349 (random init: 0.135, see SOURCE.md)


def test_the_shared_weights_are_checked_against_their_pinned_sha256(shared_data, tmp_path, monkeypatch):
    lines = []
    choose_encoder("mobilenet", log=lines.append)
    assert "sha256 verified" in lines[0]
    damaged = tmp_path / "data"
    (damaged / "pretrained").mkdir(parents=True)
    good = (shared_data / "pretrained" / "mobilenet_2_5_224_tf_no_top.h5").read_bytes()
    (damaged / "pretrained" / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    monkeypatch.setenv("SEQAPPS_SHARED_DATA", str(damaged))
    with pytest.raises(SeqappsError, match="is not the pinned dbdb03ee"):
        choose_encoder("mobilenet")


def test_weights_from_the_keras_cache_log_their_sha256(offline_without_weights, tmp_path):
    cached = tmp_path / "keras" / "models" / "mobilenet_2_5_224_tf_no_top.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"stand-in weights")
    lines = []
    choose_encoder("mobilenet", log=lines.append)
    assert "Keras cache, sha256 " + hashlib.sha256(b"stand-in weights").hexdigest() in lines[0]


def test_tensorflow_and_pillow_pixels_are_the_same_but_for_rare_rounding(shared_data):
    for path in sorted((shared_data / "captioning" / "images").glob("*.jpg"))[:5]:
        tf_pixels = read_pixels(path, 224).astype(int)
        pil_pixels = read_pixels_pil(path, 224).astype(int)
        assert tf_pixels.shape == pil_pixels.shape == (224, 224, 3)
        assert np.abs(tf_pixels - pil_pixels).max() <= 1
        assert np.mean(tf_pixels != pil_pixels) < 1e-3


@pytest.mark.parametrize("mode,suffix", [("RGBA", ".png"), ("L", ".jpg"), ("P", ".gif"), ("RGB", ".bmp")])
def test_every_image_becomes_rgb_at_the_asked_size(tmp_path, mode, suffix):
    path = save_image(tmp_path / f"image{suffix}", mode=mode, color=(10, 20, 30, 255) if mode == "RGBA" else 7)
    assert read_pixels(path, 32).shape == (32, 32, 3)
    assert read_pixels_pil(path.read_bytes(), 32).shape == (32, 32, 3)


def test_unreadable_images_are_skipped_reported_and_the_rest_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQAPPS_CACHE", str(tmp_path / "cache"))
    good = [save_image(tmp_path / f"good{i}.png", color=(i * 40, 0, 0)) for i in range(3)]
    (tmp_path / "truncated.jpg").write_bytes(
        _jpeg_bytes()[:200])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    paths = [good[0], tmp_path / "truncated.jpg", good[1], tmp_path / "empty.jpg", tmp_path / "text.jpg", good[2]]
    choice = EncoderChoice("small", 16, None, "test")
    lines = []
    array, kept, failures = encoder_inputs(paths, choice, cnn=None, log=lines.append)
    assert kept == [0, 2, 5]
    assert array.shape == (3, 16, 16, 3) and array.dtype == np.uint8
    assert [path for path, _ in failures] == [str(p) for p in paths if "good" not in str(p)]
    assert all(reason for _, reason in failures)
    assert array[1, 8, 8, 0] == 40 and array[2, 8, 8, 0] == 80
    again, kept_again, failures_again = encoder_inputs(paths, choice, cnn=None, log=lines.append)
    assert "loaded from the cache" in lines[-1]
    np.testing.assert_array_equal(again, array)
    assert (kept_again, len(failures_again)) == (kept, 3)


def test_a_changed_image_file_invalidates_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQAPPS_CACHE", str(tmp_path / "cache"))
    path = save_image(tmp_path / "a.png", color=(10, 10, 10))
    choice = EncoderChoice("small", 8, None, "test")
    first, _, _ = encoder_inputs([path], choice, cnn=None, log=lambda _: None)
    save_image(path, size=(91, 60), color=(250, 10, 10))
    second, _, _ = encoder_inputs([path], choice, cnn=None, log=lambda _: None)
    assert first[0, 4, 4, 0] == 10 and second[0, 4, 4, 0] == 250


def _jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buffer, format="JPEG")
    return buffer.getvalue()
