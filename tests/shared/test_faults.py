"""Faults: a training run killed mid-epoch resumes; killed or racing exports never corrupt one.

Everything here kills real processes with SIGKILL (no ``finally`` runs, nothing is
flushed) or makes the last step of an atomic write fail, then checks what a user would
find on disk. Export tests use a tiny untrained sentiment model through the real
``export_app`` (SavedModel + ONNX + fresh-process parity), which is what an export
costs without the training; the kill tests train the real sentiment app on its demo data.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from shared.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "SEQAPPS_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0"}


def start(args, env, **kwargs):
    return subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, env={**os.environ, **ENV, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


class Output:
    """Collects a child's output in a thread so the test can wait for a pattern in it."""

    def __init__(self, process):
        self.process, self.text, self.lock = process, "", threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while chunk := os.read(self.process.stdout.fileno(), 65536):
            with self.lock:
                self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self.text):
                    return True
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        return False

    def finish(self, timeout=300):
        code = self.process.wait(timeout=timeout)
        self.thread.join(timeout=10)
        return code, self.text


# --------------------------------------------------------------------------------------
# 1. A training run killed with SIGKILL mid-epoch resumes with the same command.

# 4 examples a batch gives the demo data 40 steps an epoch (1 to 4 s), so a kill can land
# well inside epoch 2; a full run takes about 15 s on a quiet machine.
TRAIN = ["-m", "apps.sentiment.train", "--epochs", "2", "--batch-size", "4", "--units", "8", "--patience", "5",
         "--seed", "11", "--no-export", "--verbose", "1"]


def train_env(root):
    return {"SEQAPPS_CACHE": str(root / "cache"), "SEQAPPS_RUNS_DIR": str(root / "runs")}


def history_epochs(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def inside_epoch_two(text, steps=8):
    """Keras' progress bar has shown at least ``steps`` steps of epoch 2."""
    _, found, rest = text.partition("Epoch 2/2")
    return bool(found) and any(int(part.split("/")[0]) >= steps
                               for part in rest.split("\x1b[1m")[1:] if part.split("/")[0].isdigit())


def test_sigkill_mid_epoch_resumes_and_matches_an_uninterrupted_run(tmp_path):
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    env = train_env(tmp_path)

    straight = Output(start([*TRAIN, "--run-dir", str(straight_dir)], env))  # the uninterrupted run
    process = start([*TRAIN, "--run-dir", str(killed_dir)], env)
    output = Output(process)
    assert output.wait_for(inside_epoch_two, timeout=240), f"never reached epoch 2:\n{output.text[-3000:]}"
    os.kill(process.pid, signal.SIGKILL)
    code, text = output.finish()
    assert code == -signal.SIGKILL, text[-3000:]
    # Killed inside epoch 2: epoch 1 finished (logged and backed up), nothing of epoch 2 was.
    assert history_epochs(killed_dir) == [0], "the kill did not land inside epoch 2"
    assert (killed_dir / "backup").exists() and not (killed_dir / "metrics.json").exists()

    resumed = start([*TRAIN, "--run-dir", str(killed_dir)], env)
    (code, resumed_text), (straight_code, straight_text) = Output(resumed).finish(), straight.finish()
    assert code == 0, resumed_text[-3000:]
    assert straight_code == 0, straight_text[-3000:]
    assert "resuming the interrupted run" in resumed_text
    assert "Epoch 1/2" not in resumed_text, "the resumed run trained epoch 1 again"
    assert history_epochs(killed_dir) == [0, 1] == history_epochs(straight_dir)
    assert not (killed_dir / "backup").exists()

    # Resuming restores the weights, optimizer state and epoch counter saved at the end of
    # epoch 1 and replays epoch 2 from its start. What is not restored is the position of
    # the random streams: tf.data restarts its reshuffle sequence in a new process (the
    # replayed epoch 2 sees epoch 1's order) and dropout's seed state starts over. So the
    # resumed run is a different, equally valid run, not a bit-identical one, and on 160
    # demo sentences one epoch in a different order moves the 20-example test metrics
    # noticeably. Measured here: test loss 0.689 vs 0.679 (this configuration) and 0.607 vs
    # 0.697 (3 epochs, batch 2); test accuracy differed by 2 of 20 examples both times.
    # Hence 0.15 in loss and 4 of 20 in accuracy. Epoch 1, which ran before the kill with
    # the same seed, must match exactly (checked below on its validation loss).
    resumed_metrics = json.loads((killed_dir / "metrics.json").read_text())
    straight_metrics = json.loads((straight_dir / "metrics.json").read_text())
    assert resumed_metrics["test"]["examples"] == straight_metrics["test"]["examples"] == 20
    assert abs(resumed_metrics["test"]["loss"] - straight_metrics["test"]["loss"]) <= 0.15
    assert abs(resumed_metrics["test"]["accuracy"] - straight_metrics["test"]["accuracy"]) <= 0.2 + 1e-9
    assert resumed_metrics["training"]["epochs_run"] == 1 and straight_metrics["training"]["epochs_run"] == 2
    with open(killed_dir / "history.csv", newline="") as a, open(straight_dir / "history.csv", newline="") as b:
        # epoch 1 ran in the killed process with the same seed: identical
        first_killed, first_straight = next(csv.DictReader(a)), next(csv.DictReader(b))
    assert float(first_killed["val_loss"]) == pytest.approx(float(first_straight["val_loss"]), abs=1e-6)


# --------------------------------------------------------------------------------------
# 2. and 3. Exports killed at any point, and two exports racing for one directory.

CHILD = r'''
import os, signal, sys
import keras
import shared.atomic, shared.export
from apps.sentiment.export import make_bundle
from apps.sentiment.model import build_model
from shared.text import Tokenizer, Vocabulary, tokenize

export_dir, seed, kill_at = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TEXTS = ["a wonderful film", "boring and far too long", "", "Ça alors, 10/10 !", "x " * 300]

def die(*_, **__):
    print("killing myself at", kill_at, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

if kill_at == "between_renames":  # ONNX moved into onnx/N, SavedModel not yet in N/
    original_rename = type(shared.export.Path()).rename
    def rename(self, target):
        result = original_rename(self, target)
        if self.name == "onnx":
            die()
        return result
    shared.export.Path.rename = rename
elif kill_at == "manifest_replace":  # the new manifest written to its temporary file, not yet renamed
    original_replace = os.replace
    def replace(source, target):
        if str(target).endswith("manifest.json"):
            die()
        return original_replace(source, target)
    shared.atomic.os.replace = replace
elif kill_at == "models_config":  # version and manifest published, models.config not yet
    shared.export.write_models_config = die

tokenizer = Tokenizer(Vocabulary.build(tokenize(t) for t in TEXTS), max_length=32)
options = dict(vocab_size=len(tokenizer.vocabulary), num_classes=2, embedding_dim=8, units=4)
keras.utils.set_random_seed(seed)
model = build_model(**options)
bundle = make_bundle(model, lambda: build_model(use_cudnn=False, **options), tokenizer, ["neg", "pos"],
                     parity_texts=TEXTS, metrics={"seed": seed})
print("exporting", flush=True)
manifest = shared.export.export_app(bundle, export_dir, log=lambda *_: None)
print("published version", manifest["model_version"], flush=True)
'''


def export_child(tmp_path, export_dir, seed, kill_at="none"):
    script = tmp_path / "export_child.py"
    script.write_text(CHILD)
    return start([str(script), str(export_dir), str(seed), kill_at], {"PYTHONPATH": str(REPO_ROOT)})


def check_version(app_dir, version):
    """Version ``version`` is complete: its SavedModel (in a fresh process) and its ONNX model
    give the same probabilities for texts encoded by its own tokenizer, and match its metrics."""
    from shared.serving import OnnxRunner, run_savedmodel_in_fresh_process
    from shared.text import Tokenizer

    texts = ["a wonderful film", "boring", ""]
    saved = run_savedmodel_in_fresh_process(app_dir / str(version), {"text": texts}, app_dir.parent)
    tokenizer = Tokenizer.load(app_dir / "onnx" / str(version) / "tokenizer.json")
    onnx_out = OnnxRunner(app_dir / "onnx" / str(version) / "model.onnx")(
        token_ids=np.array(tokenizer.encode_batch(texts), np.int32))
    np.testing.assert_allclose(saved["probabilities"], onnx_out["probabilities"], atol=1e-5)
    return saved["probabilities"]


def check_current(export_dir):
    """The manifest loads and points at a complete version; returns (manifest, probabilities)."""
    from shared.serving import artifact_path, load_manifest

    manifest = load_manifest("sentiment", export_dir)
    version = manifest["model_version"]
    assert artifact_path(manifest, manifest["savedmodel"]["path"]) == export_dir / "sentiment" / str(version)
    for relative in [manifest["savedmodel"]["path"] + "/saved_model.pb", manifest["onnx"]["path"],
                     *manifest["files"].values()]:
        assert artifact_path(manifest, relative).is_file(), f"manifest names missing {relative}"
    return manifest, check_version(export_dir / "sentiment", version)


def run_export(tmp_path, export_dir, seed, kill_at="none"):
    code, text = Output(export_child(tmp_path, export_dir, seed, kill_at)).finish()
    return code, text


@pytest.mark.slow
def test_killed_exports_keep_the_previous_export_and_do_not_block_the_next(tmp_path):
    export_dir, app_dir = tmp_path / "exported", tmp_path / "exported" / "sentiment"
    code, text = run_export(tmp_path, export_dir, seed=1)
    assert code == 0 and "published version 1" in text, text[-3000:]
    manifest_before = (app_dir / "manifest.json").read_text()
    _, probabilities_1 = check_current(export_dir)

    # Killed while staging (a random moment between start and publication), between the
    # ONNX and SavedModel renames, and just before the manifest's rename: all three
    # started in parallel. Each must leave version 1 current and intact.
    timed = export_child(tmp_path, export_dir, seed=2)
    timed_output = Output(timed)
    at_points = [Output(export_child(tmp_path, export_dir, seed=3 + i, kill_at=point))
                 for i, point in enumerate(["between_renames", "manifest_replace"])]
    assert timed_output.wait_for(lambda text: "exporting" in text, timeout=240), timed_output.text[-3000:]
    time.sleep(np.random.default_rng().uniform(0.5, 4.0))
    os.kill(timed.pid, signal.SIGKILL)
    for output in [timed_output, *at_points]:
        code, text = output.finish()
        assert code == -signal.SIGKILL, text[-3000:]
    for output in at_points:
        assert "killing myself at" in output.text, output.text[-3000:]

    assert (app_dir / "manifest.json").read_text() == manifest_before, "a killed export changed the manifest"
    manifest, probabilities = check_current(export_dir)
    assert manifest["model_version"] == 1
    np.testing.assert_array_equal(probabilities, probabilities_1)
    assert list(app_dir.glob(".staging-*")), "the killed exports should have left their staging folders"
    # Whatever the kills left behind (staging folders, an onnx/N without its SavedModel, a
    # SavedModel published without a manifest) is never referenced, and each SavedModel
    # version folder that TensorFlow Serving could pick up is complete.
    for folder in app_dir.iterdir():
        if folder.name.isdigit():
            assert (folder / "saved_model.pb").is_file() and (app_dir / "onnx" / folder.name / "model.onnx").is_file()

    # The next export, and one killed after its manifest but before models.config, work.
    code, text = run_export(tmp_path, export_dir, seed=9, kill_at="models_config")
    assert code == -signal.SIGKILL and "killing myself at" in text, text[-3000:]
    code, text = run_export(tmp_path, export_dir, seed=10)
    assert code == 0, text[-3000:]
    taken = sorted(int(p.name) for p in (app_dir / "onnx").iterdir())
    manifest, probabilities = check_current(export_dir)
    assert manifest["model_version"] == max(taken) > 1 and manifest["metrics"]["seed"] == 10
    assert not np.allclose(probabilities, probabilities_1)
    assert 'name: "sentiment"' in (export_dir / "models.config").read_text()


@pytest.mark.slow
def test_two_exports_at_once_publish_distinct_complete_versions(tmp_path):
    export_dir, app_dir = tmp_path / "exported", tmp_path / "exported" / "sentiment"
    outputs = [Output(export_child(tmp_path, export_dir, seed)) for seed in (21, 22)]
    results = [output.finish() for output in outputs]
    for code, text in results:
        # both are correct exports, so both must succeed; a clean failure would be an ExportError
        assert code == 0, text[-3000:]
    versions = sorted(int(text.split("published version")[1].split()[0]) for _, text in results)
    assert versions == [1, 2], versions
    assert sorted(p.name for p in app_dir.iterdir() if not p.name.startswith(".")) == ["1", "2", "manifest.json",
                                                                                      "onnx"]
    assert not list(app_dir.glob(".staging-*")), "a finished export removes its staging folder"
    # Each version holds one model's files only: its SavedModel and ONNX agree (two models
    # with different seeds would not), and the two versions hold different models.
    first, second = (check_version(app_dir, version) for version in versions)
    assert not np.allclose(first, second)
    manifest, _ = check_current(export_dir)
    assert manifest["model_version"] in versions


# --------------------------------------------------------------------------------------
# 4. The best checkpoint and metrics.json are replaced atomically.


def failing_replace(monkeypatch, suffix):
    """``os.replace`` onto a path ending in ``suffix`` fails, as a full disk or a kill would."""
    original = os.replace

    def replace(source, target):
        if str(target).endswith(suffix):
            raise OSError("simulated failure while replacing " + str(target))
        return original(source, target)

    monkeypatch.setattr(os, "replace", replace)


def test_best_weights_survive_a_failed_replace(tmp_path, monkeypatch):
    import keras

    from shared.training import BestWeights

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    best = BestWeights(tmp_path)
    best.set_model(model)
    best.on_epoch_end(0, {"val_loss": 1.0})
    saved = [w.copy() for w in model.get_weights()]
    model.set_weights([w + 1.0 for w in saved])
    failing_replace(monkeypatch, "best.weights.h5")
    with pytest.raises(OSError, match="simulated failure"):
        best.on_epoch_end(1, {"val_loss": 0.5})
    monkeypatch.undo()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.json", "best.weights.h5"], "temporary file left"
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 1, "best.json ran ahead of the weights"
    model.load_weights(tmp_path / "best.weights.h5")
    for loaded, expected in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(loaded, expected)


def test_metrics_json_survives_a_failed_replace(tmp_path, monkeypatch):
    from shared.training import write_metrics

    write_metrics(tmp_path, {"test": {"accuracy": 0.9}}, log=lambda *_: None)
    failing_replace(monkeypatch, "metrics.json")
    with pytest.raises(OSError, match="simulated failure"):
        write_metrics(tmp_path, {"test": {"accuracy": 0.1}}, log=lambda *_: None)
    monkeypatch.undo()
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"test": {"accuracy": 0.9}}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"], "temporary file left"
