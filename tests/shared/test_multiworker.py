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
import shutil
import signal
import socket
import subprocess
import sys
import time

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


def finish(workers, seconds=600):
    """Each worker's (stdout, stderr) once both have exited; both killed if either hangs.

    Workers that disagree on their steps wait for each other forever: a failing test must
    not leave them running (and holding the CPU) for the rest of the suite.
    """
    try:
        return [worker.communicate(timeout=seconds) for worker in workers]
    except subprocess.TimeoutExpired:
        for worker in workers:
            worker.kill()
            worker.communicate()
        pytest.fail(f"the workers had not finished after {seconds} s")


@pytest.mark.slow
def test_two_workers_train_the_same_weights_and_only_the_chief_exports(tmp_path):
    workers = start_workers(tmp_path)
    results = finish(workers)
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


def backed_up_epoch(run_dir):
    try:
        return json.loads((run_dir / "backup" / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def copy_backup(run_dir, to):
    """The backup as it stands (its metadata, then the weights file it names; again if that went meanwhile)."""
    while True:
        metadata = (run_dir / "backup" / "training_metadata.json").read_bytes()
        try:
            weights = (run_dir / "backup" / json.loads(metadata)["weights"]).read_bytes()
        except FileNotFoundError:
            continue
        to.mkdir(parents=True)
        (to / "training_metadata.json").write_bytes(metadata)
        (to / json.loads(metadata)["weights"]).write_bytes(weights)
        return json.loads(metadata)["epoch"]


def wait_for(condition, workers, what, seconds=300):
    deadline = time.monotonic() + seconds
    while not condition():
        assert all(worker.poll() is None for worker in workers), f"a worker ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.02)


@pytest.mark.slow
def test_killed_workers_resume_from_the_chiefs_backup(tmp_path):
    """Both workers killed mid-run, worker 1's backup an epoch behind the chief's: the same
    command resumes every worker at the chief's epoch, with the chief's weights."""
    epochs = 6
    # later flags win: more epochs, no export, and no early stop, so that all six epochs run
    resume_flags = ("--epochs", str(epochs), "--no-export", "--patience", "100")
    workers = start_workers(tmp_path, *resume_flags)
    wait_for(lambda: backed_up_epoch(tmp_path / "worker-1") >= 1, workers, "a first backup")
    older = copy_backup(tmp_path / "worker-1", tmp_path / "older-backup")
    # the chief an epoch further, logged by both workers (a kill never leaves a worker's
    # history short of an epoch the chief backed up: the workers step together)
    wait_for(lambda: (backed_up_epoch(tmp_path / "worker-0") > older
                      and len(losses(tmp_path / "worker-1")) >= backed_up_epoch(tmp_path / "worker-0")),
             workers, "a later backup")
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
        worker.communicate()
    chief_epoch = backed_up_epoch(tmp_path / "worker-0")
    assert older < chief_epoch < epochs, "nothing to resume"
    shutil.rmtree(tmp_path / "worker-1" / "backup")
    shutil.copytree(tmp_path / "older-backup", tmp_path / "worker-1" / "backup")

    workers = start_workers(tmp_path, *resume_flags)
    results = finish(workers)
    for worker, (_, err) in zip(workers, results):
        assert worker.returncode == 0, err[-3000:]
    for index in range(2):
        with open(tmp_path / f"worker-{index}" / "history.csv", newline="") as file:
            finished = [int(row["epoch"]) for row in csv.DictReader(file)]
        # the epochs before the chief's backup, then the rest: none trained twice, none skipped
        assert finished == list(range(epochs)), (index, finished)
    first, second = (weights(tmp_path / f"worker-{index}" / "best.weights.h5") for index in range(2))
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert losses(tmp_path / "worker-0")[-1] < losses(tmp_path / "worker-0")[0]
