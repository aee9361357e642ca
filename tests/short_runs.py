"""Tiny training runs in process, for the tests that feed an app its shortest legal sequences.

Bucketing by length can hand the model a batch whose longest sequence is one token (or
none); every app must train, score and report on such batches. These runs go through the
train command's ``main`` as a user's command does, minus the Python start-up.
"""

import csv
import json
import math

TINY_MODEL = ["--epochs", "1", "--batch-size", "4", "--units", "4", "--embedding-dim", "4", "--embeddings", "none",
              "--verbose", "0", "--no-export"]


def train(main, data, run_dir, *options):
    """Run ``main`` on ``data`` with a tiny model; return ``metrics.json`` as a dict."""
    status = main(["--data", str(data), "--run-dir", str(run_dir), *TINY_MODEL, *options])
    assert status == 0
    return json.loads((run_dir / "metrics.json").read_text())


def history_losses(run_dir):
    """Every loss ``history.csv`` recorded: training and validation, one per epoch."""
    with (run_dir / "history.csv").open() as file:
        rows = list(csv.DictReader(file))
    return [float(row[name]) for row in rows for name in ("loss", "val_loss")]


def all_finite(values):
    return bool(values) and all(math.isfinite(value) for value in values)
