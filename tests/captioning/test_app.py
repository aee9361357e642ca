"""The captioning app through its public commands, as a user runs them."""

import json
import shutil

import matplotlib.image
import numpy as np
import pytest

from apps.captioning.demo import write_demo_dataset
from apps.captioning.predict import main as predict_main
from shared.serving import artifact_path, load_manifest
from tests.commands import main_rows, run

OFFLINE = {"SEQAPPS_OFFLINE": "1"}
SMALL_MODEL = ["--units", "128", "--feature-dim", "128", "--attention-dim", "64", "--batch-size", "32",
               "--verbose", "2"]
TINY_MODEL = ["--units", "16", "--feature-dim", "16", "--attention-dim", "8", "--embedding-dim", "16",
              "--embeddings", "none", "--verbose", "0"]


def environment(root):
    return {**OFFLINE, "SEQAPPS_RUNS_DIR": str(root / "runs"), "SEQAPPS_CACHE": str(root / "cache"),
            "SEQAPPS_EXPORT_DIR": str(root / "exported")}


@pytest.fixture(scope="module")
def demo_export(demo_exports):
    """The session's captioning demo export (tests/demo_exports.py)."""
    return demo_exports("captioning")


def demo_test_images(root, start, stop):
    folder = root / "cache" / "captioning" / "demo-v1-1500-64-1337"
    names = (folder / "Flickr_8k.testImages.txt").read_text().split()[start:stop]
    captions = dict(line.split("#0\t") for line in (folder / "Flickr8k.token.txt").read_text().splitlines())
    return [folder / "images" / name for name in names], [captions[name] for name in names]


def assert_runtimes_agree(export_dir, paths, capsys):
    """The same captions and token ids from ``--runtime savedmodel`` and ``onnx``, scores within 1e-4."""
    rows = {runtime: main_rows(predict_main, ["--export-dir", export_dir, "--runtime", runtime, *paths], capsys)
            for runtime in ("savedmodel", "onnx")}
    saved, onnx = rows["savedmodel"], rows["onnx"]
    assert len(saved) == len(onnx) == len(paths)
    assert [row["image"] for row in saved] == [row["image"] for row in onnx] == [str(path) for path in paths]
    assert [row["caption"] for row in saved] == [row["caption"] for row in onnx]
    assert [row["token_ids"] for row in saved] == [row["token_ids"] for row in onnx]
    np.testing.assert_allclose([row["score"] for row in saved], [row["score"] for row in onnx], atol=1e-4)
    return saved


def fresh_scenes(folder, export_dir):
    """Four demo scenes of another seed: images no model of these tests was trained or checked on.

    Drawn at the export's input size: an image of another size is resized by the graph in
    the SavedModel and by NumPy on the ONNX route, which may differ by one level where a value
    lands on a rounding boundary (``apps/captioning/encoder.py``), and so shift scores by more
    than the models' own difference.
    """
    manifest = load_manifest("captioning", export_dir)
    size = json.loads(artifact_path(manifest, manifest["files"]["decoding.json"]).read_text())["image_size"]
    write_demo_dataset(folder, count=4, size=size, seed=4242)
    return sorted((folder / "images").glob("*.png"))


def test_demo_model_learns_the_scenes_and_beats_the_nearest_neighbour(demo_export):
    root, output = demo_export
    assert "DEMO DATA" in output and "TRAINED FROM SCRATCH" in output
    metrics = json.loads((root / "runs" / "captioning" / "metrics.json").read_text())
    assert metrics["demo_data"] is True and metrics["encoder"]["cnn"] == "small"
    test = metrics["test"]
    assert test["images"] == 150
    assert test["model"]["bleu_4"] > test["nearest_neighbour"]["bleu_4"] + 0.1, test
    assert test["model"]["exact_match"] >= 0.4, test
    assert test["model"]["exact_match"] > test["nearest_neighbour"]["exact_match"] + 0.15, test
    for order in range(1, 4):
        assert test["model"][f"bleu_{order}"] >= test["model"][f"bleu_{order + 1}"]
    rows = (root / "runs" / "captioning" / "test_captions.tsv").read_text().splitlines()
    assert rows[0] == "image\tgenerated\tnearest_neighbour\treference_0" and len(rows) == 151
    # Four test images, one row each: the picture and one panel per word (at most 10 + [EOS]).
    assert matplotlib.image.imread(root / "runs" / "captioning" / "attention.png").shape[0] == int(1.8 * 4 * 80)


def test_export_holds_an_encoder_and_a_decoder_step(demo_export):
    root, _ = demo_export
    manifest = json.loads((root / "exported" / "captioning" / "manifest.json").read_text())
    assert manifest["savedmodel"]["inputs"] == {"image_bytes": {"dtype": "string", "shape": [None]}}
    assert set(manifest["savedmodel"]["outputs"]) == {"caption", "token_ids", "score"}
    assert manifest["savedmodel"]["other_signatures"]["caption_pixels"]["inputs"]["pixels"] == \
        {"dtype": "uint8", "shape": [None, 64, 64, 3]}
    models = manifest["onnx"]["models"]
    assert set(models["encoder"]["outputs"]) == {"h", "c", "features", "keys"}
    assert set(models["decoder_step"]["inputs"]) == {"token", "h", "c", "features", "keys"}
    assert set(models["decoder_step"]["outputs"]) == {"log_probs", "new_h", "new_c", "attention"}
    # not part of the export's gate: the ONNX route's Pillow pixels caption the parity images alike
    assert manifest["parity"]["captions_equal_with_pillow_pixels"] == 1.0
    assert set(manifest["files"]) == {"vocabulary.json", "decoding.json"}


def test_both_runtimes_caption_image_files_alike_and_mostly_right(demo_export, capsys):
    root, _ = demo_export
    # test images 16-23: the export's parity check captions the first 16
    paths, references = demo_test_images(root, 16, 24)
    saved = assert_runtimes_agree(root / "exported", paths, capsys)
    assert sum(row["caption"] == reference for row, reference in zip(saved, references, strict=True)) >= 4


def test_predict_names_a_bad_image_file(demo_export, tmp_path):
    root, _ = demo_export
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("hello")
    for path, message in ((tmp_path / "missing.png", "no such image file"), (not_an_image, "not a readable image")):
        result = run("apps.captioning.predict", str(path), env=environment(root))
        assert result.returncode == 2
        assert f"error: {path}: {message}" in result.stderr


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    """60 demo scenes in Flickr8k layout, one of them corrupt and one missing."""
    root = tmp_path_factory.mktemp("small")
    folder = root / "data"
    (folder / "images").mkdir(parents=True)
    scenes = root / "scenes"
    write_demo_dataset(scenes, count=60, seed=7)
    lines = (scenes / "Flickr8k.token.txt").read_text().splitlines()
    for line in lines:
        name = line.split("#")[0]
        shutil.copyfile(scenes / "images" / name, folder / "images" / name)
    (folder / "images" / "scene_00003.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (folder / "images" / "scene_00004.png").unlink()
    (folder / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    return root, folder


def test_a_bad_image_is_reported_and_skipped_not_fatal(small_folder):
    root, folder = small_folder
    result = run("apps.captioning.train", "--data", str(folder), "--epochs", "1", "--no-export", *TINY_MODEL,
                 env=environment(root))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING: 1 images listed in Flickr8k.token.txt are not in" in result.stdout
    assert "skipped 1 of 59 images that could not be read: scene_00003.png" in result.stdout
    listing = (root / "runs" / "captioning" / "skipped_images.txt").read_text()
    assert listing.startswith(str(folder / "images" / "scene_00003.png") + "\t")
    metrics = json.loads((root / "runs" / "captioning" / "metrics.json").read_text())
    assert sum(metrics["sizes"].values()) == 58 and metrics["missing_images"] == 1


def test_strict_images_stops_on_the_bad_image(small_folder):
    root, folder = small_folder
    result = run("apps.captioning.train", "--data", str(folder), "--strict-images", "--no-export", *TINY_MODEL,
                 env=environment(root))
    assert result.returncode == 2
    assert "scene_00004.png" in result.stderr and "Traceback" not in result.stderr


def test_show_and_tell_decoder_exports_with_parity(small_folder, tmp_path, capsys):
    root, folder = small_folder
    result = run("apps.captioning.train", "--data", str(folder), "--decoder", "show-tell", "--epochs", "1",
                 "--beam", "2", *TINY_MODEL, env=environment(root))
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((root / "exported" / "captioning" / "manifest.json").read_text())
    assert set(manifest["onnx"]["models"]["decoder_step"]["inputs"]) == {"token", "h", "c"}
    assert manifest["parity"]["decoding"]["beam_size"] == 2
    assert_runtimes_agree(root / "exported", fresh_scenes(tmp_path / "fresh", root / "exported"), capsys)
    assert not (root / "runs" / "captioning" / "attention.png").exists()


def test_real_flickr8k_with_imagenet_features(shared_data, tmp_path):
    data = shared_data / "captioning"
    command = ["apps.captioning.train", "--data", str(data), "--captions", str(data / "images_captions.token.txt"),
               "--cnn", "mobilenet", "--image-size", "128", "--limit", "60", "--epochs", "1", "--no-export",
               *TINY_MODEL]
    result = run(*command, env=environment(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mobilenet with ImageNet weights" in result.stdout
    assert "test = the 113 dev images" in result.stdout
    metrics = json.loads((tmp_path / "runs" / "captioning" / "metrics.json").read_text())
    assert metrics["encoder"]["pretrained"] is True and metrics["sizes"]["test"] == 113
    assert 0 < metrics["test"]["nearest_neighbour"]["bleu_1"] < 1
    again = run(*command, "--fresh", env=environment(tmp_path))
    assert "image features loaded from the cache" in again.stdout


def test_mirrored_strategy_on_two_cpu_devices_and_mixed_precision(tmp_path, capsys):
    common = ["apps.captioning.train", "--epochs", "1", "--batch-size", "8", *TINY_MODEL]
    mirrored = run(*common, "--demo-images", "200", "--no-export", "--strategy", "mirrored", "--cpu-devices", "2",
                   env=environment(tmp_path))
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    assert "MirroredStrategy with 2 replicas" in mirrored.stdout
    metrics = json.loads((tmp_path / "runs" / "captioning" / "metrics.json").read_text())
    assert metrics["test"]["images"] == 20
    # float16 is emulated on a CPU (3 s a step here): fewer images, and a narrow beam
    mixed = run(*common, "--demo-images", "64", "--beam", "2", "--fresh", "--precision", "mixed_float16",
                env=environment(tmp_path))
    assert mixed.returncode == 0, mixed.stderr[-3000:]
    assert "precision: mixed_float16" in mixed.stdout
    manifest = json.loads((tmp_path / "exported" / "captioning" / "manifest.json").read_text())
    assert manifest["parity"]["decoding"]["beam_size"] == 2
    assert_runtimes_agree(tmp_path / "exported", fresh_scenes(tmp_path / "fresh", tmp_path / "exported"), capsys)
