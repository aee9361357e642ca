"""Training conventions: time budget, best weights, resume, precision, distribution."""

import argparse
import csv
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from shared.precision import apply_precision, float32_policy, resolve_precision
from shared.training import fit, make_optimizer, prepare_run_dir


def training_args(**overrides):
    defaults = dict(epochs=3, learning_rate=0.05, clipnorm=1.0, patience=10, time_budget=None, verbose=0)
    return argparse.Namespace(**{**defaults, **overrides})


def tiny_problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype("int32")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="probabilities")(inputs))
    batches = lambda a, b: tf.data.Dataset.from_tensor_slices((a, b)).batch(16)  # noqa: E731
    return model, batches(x[:200], y[:200]), batches(x[200:], y[200:])


def compile_model(model, args):
    model.compile(optimizer=make_optimizer(args), loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def epochs_logged(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_fit_learns_keeps_best_weights_and_writes_logs(tmp_path):
    args = training_args(epochs=4)
    model, train, val = tiny_problem()
    compile_model(model, args)
    run_dir, resuming = prepare_run_dir("toy", tmp_path / "run", args)
    summary = fit(model, train, val, args=args, run_dir=run_dir, log=lambda *_: None)
    assert not resuming and summary["epochs_run"] == 4
    assert (run_dir / "best.weights.h5").exists() and (run_dir / "config.json").exists()
    assert (run_dir / "history.png").stat().st_size > 1000
    assert list((run_dir / "logs").rglob("*tfevents*")), "TensorBoard wrote no event file"
    assert epochs_logged(run_dir) == [0, 1, 2, 3]
    assert model.optimizer.clipnorm == 1.0
    loss = model.evaluate(val, verbose=0)[0]
    assert loss == pytest.approx(summary["best_val_loss"], rel=1e-4), "model does not hold the best weights"


def test_time_budget_stops_cleanly(tmp_path):
    args = training_args(epochs=200, time_budget=0.02)  # 1.2 seconds
    model, train, val = tiny_problem()
    compile_model(model, args)
    run_dir, _ = prepare_run_dir("toy", tmp_path / "run", args)
    messages = []
    summary = fit(model, train, val, args=args, run_dir=run_dir, log=messages.append)
    assert summary["stopped_by_time_budget"] and summary["epochs_run"] < 200
    assert any("time budget" in m for m in messages)
    assert (run_dir / "best.weights.h5").exists()


class Crash(keras.callbacks.Callback):
    """Simulates a killed process at the end of an epoch (after the backup saved)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("simulated crash")


def crashed_run(tmp_path, monkeypatch, args):
    """The run directory of a run that crashed after its second epoch (see :class:`Crash`)."""
    model, train, val = tiny_problem()
    compile_model(model, args)
    run_dir, _ = prepare_run_dir("toy", tmp_path / "run", args)
    original_fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: original_fit(
        self, *a, **{**k, "callbacks": k["callbacks"] + [Crash()]}))
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(model, train, val, args=args, run_dir=run_dir, log=lambda *_: None)
    monkeypatch.setattr(keras.Model, "fit", original_fit)
    return run_dir


def rerun(run_dir, args, seed=5):
    """The same command again, as a new process would run it: a fresh model, the same run dir."""
    model, train, val = tiny_problem(seed)
    compile_model(model, args)
    run_dir, resuming = prepare_run_dir("toy", run_dir, args)
    assert resuming
    return fit(model, train, val, args=args, run_dir=run_dir, log=lambda *_: None)


def test_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    args = training_args(epochs=4)
    run_dir = crashed_run(tmp_path, monkeypatch, args)

    summary = rerun(run_dir, args)
    assert summary["epochs_run"] == 2, "should train only the two epochs that were left"
    assert epochs_logged(run_dir) == [0, 1, 2, 3]
    assert not (run_dir / "backup").exists(), "a finished run removes its backup"


def test_a_save_killed_half_way_leaves_the_last_backup_loadable(tmp_path, monkeypatch):
    args = training_args(epochs=4)
    run_dir = crashed_run(tmp_path, monkeypatch, args)
    backup = run_dir / "backup"
    metadata = json.loads((backup / "training_metadata.json").read_text())
    assert metadata["epoch"] == 2 and (backup / metadata["weights"]).is_file()
    # what a kill during the next save leaves: the start of a weights file that never got its name
    complete = (backup / metadata["weights"]).read_bytes()
    (backup / ".epoch-3-batch-0.weights.h5.x1y2.weights.h5").write_bytes(complete[: len(complete) // 3])
    (backup / "latest.weights.h5").write_bytes(complete[:100])  # Keras' own name: not ours to read

    summary = rerun(run_dir, args)
    assert summary["epochs_run"] == 2 and epochs_logged(run_dir) == [0, 1, 2, 3]


def test_a_kill_between_the_history_row_and_the_backup_logs_the_epoch_once(tmp_path, monkeypatch):
    args = training_args(epochs=4)
    run_dir = crashed_run(tmp_path, monkeypatch, args)  # backed up after epoch 1, logged 0 and 1
    # what a kill after epoch 2's row and before its backup leaves behind
    with open(run_dir / "history.csv") as handle:
        rows = handle.read().splitlines()
    (run_dir / "history.csv").write_text("\n".join(rows + [rows[-1].replace("1,", "2,", 1)]) + "\n")
    assert epochs_logged(run_dir) == [0, 1, 2]

    summary = rerun(run_dir, args)
    assert summary["epochs_run"] == 2 and epochs_logged(run_dir) == [0, 1, 2, 3]


def test_early_stopping_counts_patience_across_a_resume(tmp_path, monkeypatch):
    """No learning (rate 0): the validation loss never improves after epoch 0, so with
    patience 2 an uninterrupted run stops after epoch 2; so must one killed after epoch 1."""
    args = training_args(epochs=10, learning_rate=0.0, patience=2)
    model, train, val = tiny_problem()
    compile_model(model, args)
    uninterrupted = fit(model, train, val, args=args, run_dir=prepare_run_dir("toy", tmp_path / "whole", args)[0],
                        log=lambda *_: None)
    assert uninterrupted["epochs_run"] == 3

    run_dir = crashed_run(tmp_path, monkeypatch, args)
    resumed = rerun(run_dir, args, seed=0)  # the same validation data
    assert resumed["epochs_run"] == 1 and epochs_logged(run_dir) == [0, 1, 2]


def test_precision_auto_is_float32_on_cpu_and_heads_stay_float32():
    from apps.sentiment.model import build_model

    assert resolve_precision("auto") == "float32"
    with pytest.raises(ValueError):
        resolve_precision("float64")
    try:
        assert apply_precision("mixed_float16", log=lambda *_: None) == "mixed_float16"
        model = build_model(vocab_size=20, num_classes=3, embedding_dim=8, units=4)
        assert model.get_layer("bidirectional_1").compute_dtype == "float16"
        assert model.get_layer("probabilities").compute_dtype == "float32"
        output = model(np.array([[3, 4, 0]], dtype="int32"))["probabilities"]
        assert keras.backend.standardize_dtype(output.dtype) == "float32"
        with float32_policy():
            assert build_model(vocab_size=20, num_classes=2, embedding_dim=8, units=4).get_layer(
                "bidirectional_1").compute_dtype == "float32"
        assert keras.config.dtype_policy().name == "mixed_float16"
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.slow
def test_mirrored_strategy_trains_on_two_logical_cpu_devices(isolated_dirs):
    result = subprocess.run(
        [sys.executable, "-m", "apps.sentiment.train", "--strategy", "mirrored", "--cpu-devices", "2",
         "--epochs", "1", "--batch-size", "16", "--units", "8", "--no-export", "--verbose", "0"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "strategy: MirroredStrategy with 2 replicas" in result.stdout


def test_warmup_raises_the_learning_rate_linearly_then_holds_it():
    args = argparse.Namespace(learning_rate=2e-3, clipnorm=1.0)
    optimizer = make_optimizer(args, warmup_steps=4)
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    rates = [float(schedule(step)) for step in range(6)]
    np.testing.assert_allclose(rates, [5e-4, 1e-3, 1.5e-3, 2e-3, 2e-3, 2e-3], rtol=1e-6)
    variable = keras.Variable(np.ones(3, np.float32))
    optimizer.apply_gradients([(np.ones(3, np.float32), variable)])
    np.testing.assert_allclose(variable.numpy(), 1 - 5e-4, rtol=1e-4)  # Adam's first step: the rate itself
    assert float(make_optimizer(args).learning_rate) == pytest.approx(2e-3)
