"""``--speed-report`` and ``benchmarks/speed.py``, through the real stocks train command."""

import json

import pytest

from tests.commands import run
from tests.demo_exports import environment


@pytest.fixture(scope="module")
def speed_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("speed")
    out, work = root / "speed.json", root / "work"
    result = run("benchmarks.speed", "--quick", "--apps", "stocks", "--out", str(out), "--keep", str(work),
                 env=environment(root))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root, json.loads(out.read_text()), result.stdout


def test_training_throughput_counts_examples_and_time_steps(speed_run):
    _, record, _ = speed_run
    (app,) = record["apps"]
    training, window = app["training"], app["inference"]["graphs"]["model"]["inputs"]["ohlcv"][1]
    assert app["app"] == "stocks" and app["exit_status"] == 0 and app["precision"] == "float32"
    assert training["examples_per_s"] > 0 and training["cudnn_rnn_ops"] == []  # a CPU: no cuDNN kernels
    # a stocks "token" is one day of the window
    assert training["tokens"] == training["examples"] * window
    assert training["tokens_per_s"] == pytest.approx(training["examples_per_s"] * window)
    assert training["steps"] == record["timed_steps"] == 10  # --quick
    assert training["step_ms"]["pipeline"] > 0 and training["step_ms"]["in_memory"] > 0
    assert training["pipeline_over_in_memory"] == pytest.approx(
        training["step_ms"]["pipeline"] / training["step_ms"]["in_memory"])


def test_every_runtime_is_timed_on_the_same_batches_with_equal_outputs(speed_run):
    _, record, stdout = speed_run
    (app,) = record["apps"]
    graph = app["inference"]["graphs"]["model"]
    for batch in ("batch_1", "batch_64"):
        assert set(graph[batch]["ms"]) == {"keras_predict", "tf_function", "onnxruntime"}
        assert all(value > 0 for value in graph[batch]["ms"].values())
        assert app["inference"]["savedmodel_raw"][batch]["examples_per_s"] > 0
    assert graph["batch_64"]["examples_per_s"]["tf_function"] == pytest.approx(64 / graph["batch_64"]["ms"]["tf_function"] * 1000)
    assert graph["onnx_vs_tf_max_difference"] < 1e-4
    assert app["export_seconds"] > 0 and app["peak_memory_mib"] > 100
    assert "| stocks | float32 |" in stdout


def test_the_measured_model_is_the_model_trained_without_the_flag(speed_run):
    """The timed training steps are undone: the same seed gives the same test metrics."""
    root, record, _ = speed_run
    measured = json.loads((root / "work" / "runs" / "stocks-auto" / "metrics.json").read_text())
    command = record["apps"][0]["command"]
    flags = command[command.index("--data"):command.index("--run-dir")]
    result = run("apps.stocks.train", *flags, "--run-dir", str(root / "plain"), "--no-export", "--verbose", "0",
                 env=environment(root))
    assert result.returncode == 0, result.stderr[-3000:]
    plain = json.loads((root / "plain" / "metrics.json").read_text())
    assert plain["test"] == measured["test"]


def test_real_data_mode_refuses_what_it_cannot_measure(tmp_path):
    for flags, message in ((["--real-data", "--apps", "captioning"], "--real-data has no dataset for captioning"),
                           (["--real-data", "--quick"], "--real-data and --quick do not go together: --real-data sets its own steps")):
        result = run("benchmarks.speed", *flags, "--out", str(tmp_path / "speed.json"), env=environment(tmp_path))
        assert result.returncode == 2 and f"error: {message}" in result.stderr.splitlines(), result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "speed.json").exists()
