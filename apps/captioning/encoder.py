"""The image side of the captioner: which CNN, where its weights come from, and the cache.

A pretrained ImageNet CNN is frozen, so its output for an image never changes: it runs
once over every image before training and its feature grids are cached on disk, keyed by
the CNN, its weights and the image files. Without ImageNet weights a small CNN is trained
from scratch together with the decoder; then the decoded, resized pixels are what is
cached. Either way every image is decoded once, up front: an unreadable image is reported
(file and reason) and skipped there, never halfway through an epoch.

One pixel contract holds everywhere (training, the SavedModel, ONNX users): RGB ``uint8``
``[size, size, 3]``, the image decoded and resized to a square with antialiased bilinear
filtering. :func:`decode_pixels` is the TensorFlow version (inside the serving graph);
:func:`read_pixels_pil` is the TensorFlow-free version for ONNX users.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from apps.captioning.images import check_image
from shared.datasets import sha256_file
from shared.errors import SeqappsError
from shared.paths import cache_dir, shared_data_dir


@dataclass(frozen=True)
class PretrainedCNN:
    """A ``keras.applications`` CNN whose no-top ImageNet weights we know how to find."""

    builder: str
    alpha: float
    shared_file: str      # the verified file in ../shared/data/pretrained
    shared_sha256: str    # its sha256, as ../shared/data/pretrained/SOURCE.md lists it
    keras_file: str       # the name Keras caches its own download under
    size: int = 224


PRETRAINED = {
    "mobilenet_v2": PretrainedCNN("MobileNetV2", 1.0, "mobilenet_v2_1.0_224_no_top_imagenet_from_slim.h5",
                                  "71e4c4ec4aa24c9c951b9265d6de42e1336dcf614c2214fa6a989208615e232c",
                                  "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    "mobilenet": PretrainedCNN("MobileNet", 0.25, "mobilenet_2_5_224_tf_no_top.h5",
                               "dbdb03ee2a22fd895301636cd328b234bb3a9952358f436d82f46b81e0d5b0bf",
                               "mobilenet_2_5_224_tf_no_top.h5"),
}
CNN_CHOICES = ("auto", *PRETRAINED, "small")
SMALL_CNN_SIZE = 64


@dataclass(frozen=True)
class EncoderChoice:
    """What ``--cnn`` resolved to, said plainly in the log and kept in metrics.json."""

    cnn: str                  # "mobilenet_v2", "mobilenet" or "small"
    image_size: int
    weights: str | None       # path of the ImageNet weights file; None for the small CNN
    reason: str

    @property
    def pretrained(self):
        return self.cnn != "small"

    def describe(self):
        if self.pretrained:
            return f"image encoder: {self.cnn} with ImageNet weights from {self.weights}, frozen ({self.reason})"
        return (f"image encoder: a small CNN TRAINED FROM SCRATCH with the decoder, {self.image_size}x{self.image_size} "
                f"pixels ({self.reason})")


def _keras_cache_file(name):
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / name


def _download_weights(spec):
    """Let Keras fetch (and cache) the ImageNet weights; None when offline or it fails."""
    if os.environ.get("SEQAPPS_OFFLINE") == "1":
        return None, "offline (SEQAPPS_OFFLINE=1)"
    try:
        getattr(keras.applications, spec.builder)(input_shape=(spec.size, spec.size, 3), alpha=spec.alpha,
                                                  include_top=False, weights="imagenet")
    except Exception as error:  # no network, proxy, server: all mean "not available"
        return None, f"download failed: {type(error).__name__}: {str(error)[:120]}"
    path = _keras_cache_file(spec.keras_file)
    return (path, "downloaded by Keras") if path.exists() else (None, "download left no file")


def _verified_shared_file(path, spec):
    digest = sha256_file(path)
    if digest != spec.shared_sha256:
        raise SeqappsError(f"{path}: sha256 {digest} is not the pinned {spec.shared_sha256}: the file is "
                           "damaged or not the one ../shared/data/pretrained/SOURCE.md describes")
    return path, "shared data, sha256 verified"


def find_weights(cnn, explicit=None):
    """The ImageNet weights file for ``cnn``: ``--cnn-weights``, the shared data, Keras' cache, a download.

    Returns ``(path or None, how it was found or why not)``. The shared copy is checked
    against its pinned sha256; Keras publishes no hash for its own download (it comes over
    HTTPS from Google's storage), so that one is used as Keras fetched it, and its sha256 goes
    into the run's log and the encoder cache key.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SeqappsError(f"--cnn-weights {path}: no such file")
        return path, "--cnn-weights"
    spec = PRETRAINED[cnn]
    shared = shared_data_dir()
    if shared and (shared / "pretrained" / spec.shared_file).is_file():
        return _verified_shared_file(shared / "pretrained" / spec.shared_file, spec)
    cached = _keras_cache_file(spec.keras_file)
    path, how = (cached, "Keras cache") if cached.is_file() else _download_weights(spec)
    if path is not None:
        how += f", sha256 {sha256_file(path)}, not pinned by seqapps"
    return path, how


def choose_encoder(cnn="auto", *, weights=None, image_size=None, is_demo=False, log=print):
    """Resolve ``--cnn``: a pretrained CNN when its weights can be had, else the small one.

    ``auto`` takes the small CNN for the generated demo scenes (flat shapes need no
    ImageNet) and MobileNetV2 for photographs.
    """
    if cnn == "auto" and is_demo:
        choice = EncoderChoice("small", image_size or SMALL_CNN_SIZE, None, "auto: demo scenes need no ImageNet")
    elif cnn == "small":
        choice = EncoderChoice("small", image_size or SMALL_CNN_SIZE, None, "asked")
    else:
        name = "mobilenet_v2" if cnn == "auto" else cnn
        path, how = find_weights(name, weights)
        if path is None:
            if cnn != "auto":
                raise SeqappsError(f"no ImageNet weights for --cnn {name} ({how}); pass --cnn-weights PATH "
                                   f"(a no-top .h5 file, see ../shared/data/pretrained) or --cnn small")
            choice = EncoderChoice("small", image_size or SMALL_CNN_SIZE, None,
                                   f"no ImageNet weights for {name}: {how}; expect much weaker captions on photos")
        else:
            choice = EncoderChoice(name, image_size or PRETRAINED[name].size, str(path), how)
    log(choice.describe())
    return choice


def _small_cnn():
    """Three conv blocks: 64 px in, an 8x8 grid of 96-d features out (a grid for attention)."""
    layers = [keras.layers.Rescaling(1 / 255.0)]
    for filters in (32, 64, 96):
        layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D()]
    return layers


def build_cnn(choice):
    """``pixels`` uint8 ``[batch, size, size, 3]`` -> feature grid ``[batch, cells, channels]``."""
    pixels = keras.Input((choice.image_size, choice.image_size, 3), dtype="uint8", name="pixels")
    x = keras.ops.cast(pixels, "float32")
    if choice.pretrained:
        spec = PRETRAINED[choice.cnn]
        base = getattr(keras.applications, spec.builder)(
            input_shape=(choice.image_size, choice.image_size, 3), alpha=spec.alpha, include_top=False,
            weights=choice.weights)
        base.trainable = False
        grid = base(keras.layers.Rescaling(1 / 127.5, offset=-1.0)(x), training=False)
    else:
        grid = x
        for layer in _small_cnn():
            grid = layer(grid)
    cells = grid.shape[1] * grid.shape[2]
    grid = keras.layers.Reshape((cells, grid.shape[3]))(grid)
    return keras.Model(pixels, grid, name="cnn")


# ------------------------------------------------------------------------------- pixels


def decode_pixels(image_bytes, size):
    """One encoded JPEG/PNG/GIF/BMP (scalar string tensor) -> ``uint8 [size, size, 3]``.

    JPEGs are decoded with the accurate integer DCT, as Pillow and libjpeg do by default
    (TensorFlow's default, the fast DCT, differs from them by up to 14 levels).
    """
    image = tf.cond(tf.io.is_jpeg(image_bytes),
                    lambda: tf.io.decode_jpeg(image_bytes, channels=3, dct_method="INTEGER_ACCURATE"),
                    lambda: tf.io.decode_image(image_bytes, channels=3, expand_animations=False))
    image.set_shape([None, None, 3])
    image = tf.image.resize(image, (size, size), method="bilinear", antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def _triangle_weights(size_in, size_out):
    """Resampling matrix ``[size_out, size_in]`` of an antialiased bilinear (triangle) filter.

    Pixel centres sit at half-integers; when shrinking, the triangle widens by the scale
    factor so every input pixel contributes. This is what ``tf.image.resize(...,
    antialias=True)`` computes (equal to within 0.004 levels, measured).
    """
    scale = size_in / size_out
    support = max(scale, 1.0)
    centres = (np.arange(size_out) + 0.5) * scale
    distance = np.abs((np.arange(size_in) + 0.5)[None, :] - centres[:, None]) / support
    weights = np.maximum(0.0, 1.0 - distance)
    return weights / weights.sum(axis=1, keepdims=True)


def resize_square(rgb, size):
    """``uint8 [h, w, 3]`` -> ``uint8 [size, size, 3]``, the NumPy twin of the graph's resize."""
    rows, columns = _triangle_weights(rgb.shape[0], size), _triangle_weights(rgb.shape[1], size)
    resized = np.tensordot(np.tensordot(rows, rgb.astype(np.float64), axes=(1, 0)), columns, axes=(1, 1))
    resized = resized.transpose(0, 2, 1)
    return np.round(np.clip(resized, 0.0, 255.0)).astype(np.uint8)


def read_pixels_pil(source, size):
    """The pixel contract without TensorFlow: Pillow decodes, NumPy resizes. ``source``: path or bytes.

    Pillow's JPEG decoder gives the same pixels as the graph's; its own resize does not
    (it rounds between passes), so the resize is :func:`resize_square`. Results can still
    differ where a value lands on a rounding boundary; the export measures how often that
    changes a caption.
    """
    import io

    from PIL import Image

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        return resize_square(np.asarray(image.convert("RGB"), dtype=np.uint8), size)


@tf.function(input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int32)], reduce_retracing=True)
def _decode_file_bytes(data, size):
    return decode_pixels(data, size)


def read_pixels(path, size):
    """Decode one image file exactly as the serving graph does; raises on unreadable files."""
    data = Path(path).read_bytes()
    check_image(data)
    try:
        return _decode_file_bytes(tf.constant(data), tf.constant(size)).numpy()
    except tf.errors.OpError as error:
        raise ValueError(error.message.splitlines()[0][:200]) from None


# -------------------------------------------------------------------------------- cache


def forward_function(model):
    """``model`` in inference mode as a ``tf.function``.

    Not ``predict_on_batch``: under a distribution strategy that splits a batch across
    replicas and can return the wrong number of rows.
    """
    return tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)


def _files_key(paths):
    digest = hashlib.sha256()
    for path in paths:
        stat = Path(path).stat() if Path(path).exists() else None
        digest.update(f"{path}|{stat.st_size if stat else -1}|{stat.st_mtime_ns if stat else -1}\n".encode())
    return digest.hexdigest()


def _cache_folder(choice, paths):
    weights = sha256_file(choice.weights)[:16] if choice.weights else "none"
    key = json.dumps({"cnn": choice.cnn, "size": choice.image_size, "weights": weights, "files": _files_key(paths),
                      "version": 2}, sort_keys=True)
    kind = "features" if choice.pretrained else "pixels"
    return cache_dir() / "captioning" / f"{kind}-{choice.cnn}-{choice.image_size}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def encoder_inputs(paths, choice, cnn, *, batch_size=32, log=print):
    """What the trainable model reads per image, for every path: cached when possible.

    Pretrained CNN: its feature grids ``float32 [n, cells, channels]``; small CNN: the
    pixels ``uint8 [n, size, size, 3]``. Returns ``(array, kept, failures)`` where ``kept``
    are the indices into ``paths`` that rows of ``array`` belong to and ``failures`` lists
    ``(path, reason)`` for images that could not be read (skipped, reported).
    """
    from tqdm import tqdm

    paths = [str(path) for path in paths]
    folder = _cache_folder(choice, paths)
    if (folder / "index.json").exists():
        index = json.loads((folder / "index.json").read_text())
        log(f"image {'features' if choice.pretrained else 'pixels'} loaded from the cache {folder}")
        return np.load(folder / "inputs.npy", mmap_mode="r", allow_pickle=False), index["kept"], [tuple(f) for f in index["failures"]]

    kept, failures, rows, batch = [], [], [], []
    forward = forward_function(cnn) if choice.pretrained else None

    def flush():
        if batch:
            stacked = np.stack(batch)
            rows.append(forward(tf.constant(stacked)).numpy() if forward else stacked)
            batch.clear()

    what = f"running {choice.cnn} over" if choice.pretrained else "decoding"
    for number, path in enumerate(tqdm(paths, desc=f"{what} {len(paths)} images", unit="img", leave=False,
                                       mininterval=2.0)):
        try:
            batch.append(read_pixels(path, choice.image_size))
        except (OSError, ValueError) as error:
            failures.append((path, str(error)))
            continue
        kept.append(number)
        if len(batch) == batch_size:
            flush()
    flush()
    if not rows:
        raise SeqappsError(f"none of the {len(paths)} images could be read; first: {failures[0][0]}: {failures[0][1]}")
    array = np.concatenate(rows)
    _save_cache(folder, array, kept, failures)
    log(f"image {'features' if choice.pretrained else 'pixels'} of {len(kept)} images cached in {folder}")
    return array, kept, failures


def _save_cache(folder, array, kept, failures):
    """Write to a temporary folder and rename it: a killed run never leaves half a cache."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + f".tmp{os.getpid()}")
    staging.mkdir(exist_ok=True)
    np.save(staging / "inputs.npy", array, allow_pickle=False)
    (staging / "index.json").write_text(json.dumps({"kept": kept, "failures": failures}))
    try:
        staging.rename(folder)
    except OSError:  # another run cached the same images meanwhile: theirs is as good
        import shutil
        shutil.rmtree(staging, ignore_errors=True)


def report_failures(failures, total, run_dir=None, log=print):
    """Say how many images were skipped and why; the full list goes to the run directory."""
    if not failures:
        return
    shown = "; ".join(f"{Path(path).name}: {reason}" for path, reason in failures[:3])
    more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
    where = ""
    if run_dir is not None:
        listing = Path(run_dir) / "skipped_images.txt"
        listing.write_text("".join(f"{path}\t{reason}\n" for path, reason in failures), encoding="utf-8")
        where = f"; all listed in {listing}"
    log(f"WARNING: skipped {len(failures)} of {total} images that could not be read: {shown}{more}{where}")
