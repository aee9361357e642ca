"""The stocks app through its public commands, as a user runs them."""

import json

import matplotlib.image
import numpy as np
import onnxruntime
import pytest

from apps.stocks.data import demo_prices
from apps.stocks.metrics import wilson_interval
from apps.stocks.predict import main as predict_main
from tests.commands import main_output, main_rows, run
from tests.datafiles import command_error

SMALL_MODEL = ["--units", "16", "--layers", "1", "--verbose", "2"]


@pytest.fixture(scope="module")
def demo_export(demo_exports):
    """The session's stocks demo export (tests/demo_exports.py)."""
    return demo_exports("stocks")


def test_demo_model_learns_the_pattern_and_reports_every_baseline(demo_export):
    root, output = demo_export
    assert "DEMO DATA" in output
    for name in ("persistence (last close)", "moving average (20 d)", "drift", "direction (95% CI)"):
        assert name in output
    metrics = json.loads((root / "runs" / "stocks" / "metrics.json").read_text())
    assert metrics["demo_data"] is True and metrics["horizon"] == 3
    first = metrics["test"]["horizon_1"]
    # Demo returns follow r_t = 0.35 r_{t-1} + noise: a model that learned it beats the last close
    # (the best possible RMSE ratio on returns is about sqrt(1 - 0.35^2) = 0.94).
    assert first["model_vs_persistence"]["rmse_ratio"] < 0.99, first["model_vs_persistence"]
    assert first["model"]["direction_accuracy"] > 0.55
    direction = first["model"]
    correct = round(direction["direction_accuracy"] * direction["direction_days"])
    assert direction["direction_ci95"] == pytest.approx(list(wilson_interval(correct, direction["direction_days"])))
    assert direction["direction_days"] <= metrics["test"]["forecasts"]
    assert first["persistence"]["direction_accuracy"] is None
    assert set(metrics["test"]) >= {"horizon_1", "horizon_2", "horizon_3"}
    assert "the model beats persistence" in output
    forecasts = (root / "runs" / "stocks" / "test_forecasts.csv").read_text().splitlines()
    assert forecasts[0].startswith("ticker,last_known_day,target_day,horizon,last_close,actual,model,persistence")
    assert len(forecasts) == 1 + 3 * metrics["test"]["forecasts"]
    # One panel per demo ticker: 10 x (3.2 x 2) inches at 90 dpi.
    assert matplotlib.image.imread(root / "runs" / "stocks" / "test_forecasts.png").shape == (576, 900, 4)


def test_export_takes_raw_windows_and_matches_in_both_runtimes(demo_export):
    root, _ = demo_export
    manifest = json.loads((root / "exported" / "stocks" / "manifest.json").read_text())
    assert manifest["onnx"]["inputs"] == {"ohlcv": {"dtype": "float32", "shape": [None, 30, 5]}}
    assert manifest["savedmodel"]["inputs"]["ohlcv"]["shape"] == [None, 30, 5]
    # The ONNX model on raw prices straight from the data: no scaling done by the caller.
    prices = demo_prices().series["DEMO_A"]
    window = prices.ohlcv[-30:].astype(np.float32)[None]
    onnx_dir = root / "exported" / "stocks" / manifest["onnx"]["path"]
    session = onnxruntime.InferenceSession(str(onnx_dir), providers=["CPUExecutionProvider"])
    price = session.run(["price"], {"ohlcv": window})[0]
    assert price.shape == (1, 3)
    assert np.all(np.abs(price / window[0, -1, 3] - 1) < 0.2)


def test_predict_forecasts_the_latest_window_alike_in_both_runtimes(demo_export, capsys):
    root, _ = demo_export
    export = ["--export-dir", root / "exported"]
    # Windows the export's parity check never saw (it runs the last 64 test windows of the
    # demo data): real GOOG prices, and the demo tickers in mid-2016 (training years).
    sources = ["matplotlib:goog", "demo"]
    rows = {runtime: main_rows(predict_main, [*sources, *export, "--as-of", "2016-06-30", "--runtime", runtime],
                               capsys)
            for runtime in ("savedmodel", "onnx")}
    assert len(rows["savedmodel"]) == len(rows["onnx"]) == 3
    assert [row["ticker"] for row in rows["savedmodel"]] == [row["ticker"] for row in rows["onnx"]] == \
        ["GOOG", "DEMO_A", "DEMO_B"]
    for saved, onnx in zip(rows["savedmodel"], rows["onnx"], strict=True):
        assert (saved["source"], saved["last_known_day"], saved["last_close"]) == \
            (onnx["source"], onnx["last_known_day"], onnx["last_close"])
        assert [f["days_ahead"] for f in saved["forecast"]] == [f["days_ahead"] for f in onnx["forecast"]] == [1, 2, 3]
        np.testing.assert_allclose([f["price"] for f in saved["forecast"]], [f["price"] for f in onnx["forecast"]],
                                   rtol=1e-5)
    assert rows["onnx"][1]["last_known_day"] <= "2016-06-30"
    latest = main_rows(predict_main, ["demo", *export, "--runtime", "onnx", "--ticker", "DEMO_B"], capsys)
    assert len(latest) == 1 and latest[0]["last_known_day"] > "2016-06-30"
    error = command_error(predict_main, ["demo", *export, "--as-of", "30/06/2016"], capsys)
    assert "expected a date YYYY-MM-DD" in error
    readable = main_output(predict_main, ["demo", *export, "--runtime", "onnx"], capsys)
    assert "DEMO_A" in readable and "+1d" in readable


def test_real_prices_offline_default_reports_honestly(tmp_path):
    """The default source is real GOOG prices shipped with matplotlib; no network needed."""
    result = run("apps.stocks.train", "--epochs", "2", "--no-export", "--run-dir", str(tmp_path / "run"),
                 *SMALL_MODEL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "matplotlib:goog" in result.stdout and "DEMO" not in result.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    first = metrics["test"]["horizon_1"]
    assert metrics["test"]["forecasts"] == 252 and metrics["test"]["tickers"] == 1
    # Whatever the model does, the report compares it with persistence in words.
    sentence = "beats persistence" if first["model_beats"]["persistence"]["rmse"] else "does NOT beat persistence"
    assert sentence in result.stdout


def test_walk_forward_on_several_real_tickers(shared_data, tmp_path):
    data = shared_data / "stocks" / "all_stocks_5yr.csv.gz"
    result = run("apps.stocks.train", "--data", str(data), "--ticker", "AAPL", "--ticker", "KO", "--ticker", "JPM",
                 "--walk-forward", "2", "--test-days", "60", "--epochs", "2", "--no-export",
                 "--run-dir", str(tmp_path / "run"), *SMALL_MODEL)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(metrics["folds"]) == 2
    first, second = (fold["period"] for fold in metrics["folds"])
    assert first["test_end_exclusive"] == second["test_start"]
    assert metrics["test"]["forecasts"] == sum(fold["test"]["forecasts"] for fold in metrics["folds"]) == 2 * 3 * 60
    assert metrics["test"]["horizon_1"]["per_ticker"]["tickers"] == 3


def test_bad_rows_stop_with_file_and_line(tmp_path):
    csv = tmp_path / "prices.csv"
    rows = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    rows += [f"2020-01-{day:02d},10,11,9,10.5,10.5,1000" for day in range(1, 29)]
    rows[5] = "2020-01-05,10,11,9,-3,-3,1000"
    csv.write_text("\n".join(rows) + "\n")
    result = run("apps.stocks.train", "--data", str(csv), "--no-export")
    assert result.returncode == 2
    assert f"{csv}:6:" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_flags():
    result = run("apps.stocks.train", "--help")
    assert result.returncode == 0
    for flag in ("--data", "--ticker", "--window", "--horizon", "--walk-forward", "--test-days", "--cell",
                 "--bidirectional", "--export-dir", "--time-budget", "--precision", "--on-bad-row"):
        assert flag in result.stdout
