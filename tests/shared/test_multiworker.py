"""``--strategy multiworker``: two worker processes on 127.0.0.1, configured by TF_CONFIG.

Keras 3.15's ``fit`` cannot run under ``MultiWorkerMirroredStrategy``; ``shared.training``
drives Keras' own train and test steps in a loop of its own. Both workers must end with
the same weights, the loss must go down, and only the chief exports. Each worker reads
its own shard of every batch (``AutoShardPolicy.DATA``), so equal weights need the summed
gradients: two unsynchronised workers would drift apart from the first step.
"""

import csv
import json
import os
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest

from shared.paths import REPO_ROOT

TRAIN = ["-m", "apps.sentiment.train", "--strategy", "multiworker", "--epochs", "3", "--batch-size", "16",
         "--units", "8", "--embeddings", "none", "--embedding-dim", "16", "--learning-rate", "5e-3",
         "--verbose", "0"]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def weights(path):
    with h5py.File(path, "r") as file:
        arrays = {}
        file.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                        else None)
    return arrays


def losses(run_dir):
    with open(run_dir / "history.csv", newline="") as file:
        return [float(row["loss"]) for row in csv.DictReader(file)]


def start_workers(tmp_path, *flags):
    """Both workers of a new cluster (fresh ports), each with its run directory and export root."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SEQAPPS_OFFLINE": "1",
               "SEQAPPS_CACHE": str(tmp_path / "cache"), "SEQAPPS_EXPORT_DIR": str(tmp_path / f"exported-{index}"),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen([sys.executable, *TRAIN, *flags, "--run-dir", str(tmp_path / f"worker-{index}")],
                                        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
    return workers


@pytest.mark.slow
def test_two_workers_train_the_same_weights_and_only_the_chief_exports(tmp_path):
    workers = start_workers(tmp_path)
    results = [worker.communicate(timeout=600) for worker in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err[-3000:]
    chief_out, other_out = results[0][0], results[1][0]
    assert "strategy: MultiWorkerMirroredStrategy with 2 replicas; this is worker 0 (chief)" in chief_out
    assert "this is worker 1\n" in other_out
    first, second = (weights(tmp_path / f"worker-{index}" / "best.weights.h5") for index in range(2))
    assert first.keys() == second.keys() and len(first) > 4
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert losses(tmp_path / "worker-0") == losses(tmp_path / "worker-1")
    assert losses(tmp_path / "worker-0")[-1] < losses(tmp_path / "worker-0")[0]
    assert (tmp_path / "exported-0" / "sentiment" / "manifest.json").exists()
    assert not (tmp_path / "exported-1" / "sentiment").exists() and "left to the chief" in other_out


def test_multiworker_without_tf_config_is_a_clear_error(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    result = subprocess.run([sys.executable, *TRAIN, "--run-dir", str(tmp_path / "run")], cwd=REPO_ROOT,
                            env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: --strategy multiworker needs TF_CONFIG" in result.stderr


def settled_epoch(run_dir):
    """Epochs backed up and logged alike (-1 while they differ: mid-way through an epoch's end)."""
    try:
        backed_up = json.loads((run_dir / "backup" / "training_metadata.json").read_text())["epoch"]
        return backed_up if backed_up == len(losses(run_dir)) else -1
    except (OSError, ValueError, KeyError):
        return -1


@pytest.mark.slow
def test_killed_workers_resume_from_their_backup(tmp_path):
    """Both workers killed after an epoch's backup; the same command resumes, not restarts."""
    import signal
    import time

    epochs = 6
    # later flags win: more epochs, no export, and no early stop (its patience restarts on resume)
    resume_flags = ("--epochs", str(epochs), "--no-export", "--patience", "100")
    workers = start_workers(tmp_path, *resume_flags)
    deadline = time.monotonic() + 300
    # both workers at the same settled epoch: a worker killed a step ahead of the other
    # would resume at another epoch, and the two would no longer run the same steps
    while not (settled_epoch(tmp_path / "worker-0") == settled_epoch(tmp_path / "worker-1") >= 1):
        assert all(worker.poll() is None for worker in workers), "a worker ended before its second backup"
        assert time.monotonic() < deadline, "no backup after 300 s"
        time.sleep(0.02)
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
        worker.communicate()
    killed_at = [len(losses(tmp_path / f"worker-{i}")) for i in range(2)]
    assert min(killed_at) < epochs, "the workers finished before the kill: nothing to resume"

    workers = start_workers(tmp_path, *resume_flags)
    results = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_, err) in zip(workers, results):
        assert worker.returncode == 0, err[-3000:]
    for index in range(2):
        with open(tmp_path / f"worker-{index}" / "history.csv", newline="") as file:
            finished = [int(row["epoch"]) for row in csv.DictReader(file)]
        # the epochs before the kill, then the rest: none trained twice, none skipped
        assert finished == list(range(epochs)), finished
    first, second = (weights(tmp_path / f"worker-{index}" / "best.weights.h5") for index in range(2))
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert losses(tmp_path / "worker-0")[-1] < losses(tmp_path / "worker-0")[0]
