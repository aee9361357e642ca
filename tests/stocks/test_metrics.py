"""Baselines and forecast metrics, checked against numbers worked out by hand."""

import numpy as np
import pytest

from apps.stocks.metrics import baseline_forecasts, compare, direction_accuracy, forecast_metrics, verdict, wilson_interval

# Two tickers, concatenated: the first starts at row 0, the second at row 6.
CLOSE = np.array([10, 11, 13, 12, 15, 14, 100, 90, 80, 85], dtype=float)
STARTS = np.array([0, 0, 6])
ENDS = np.array([2, 4, 8])


def test_baselines_on_a_hand_checked_series():
    forecasts = baseline_forecasts(CLOSE, ENDS, STARTS, horizon=2, ma_days=3)
    np.testing.assert_allclose(forecasts["persistence"], [[13, 13], [15, 15], [80, 80]])
    # (10 + 11 + 13) / 3, (13 + 12 + 15) / 3, (100 + 90 + 80) / 3
    np.testing.assert_allclose(forecasts["moving_average"], [[34 / 3] * 2, [40 / 3] * 2, [90, 90]])
    # slopes since each ticker's first close: (13 - 10) / 2, (15 - 10) / 4, (80 - 100) / 2
    np.testing.assert_allclose(forecasts["drift"], [[14.5, 16.0], [16.25, 17.5], [70, 60]])


def test_baselines_only_look_back():
    changed = CLOSE.copy()
    changed[[3, 5, 9]] = [1000, 2000, 3000]  # days after the samples' last known days
    for name, values in baseline_forecasts(changed, [2, 8], [0, 6], horizon=3, ma_days=3).items():
        np.testing.assert_array_equal(values, baseline_forecasts(CLOSE, [2, 8], [0, 6], horizon=3, ma_days=3)[name])


def test_moving_average_refuses_too_little_history():
    with pytest.raises(ValueError, match="moving average of 4 days"):
        baseline_forecasts(CLOSE, [2], [0], horizon=1, ma_days=4)


def test_metrics_on_hand_checked_values():
    actual, predicted, last = np.array([10, 12, 9.0]), np.array([11, 11, 9.0]), np.array([10, 10, 10.0])
    metrics = forecast_metrics(actual, predicted, last)
    assert metrics["rmse"] == pytest.approx(np.sqrt(2 / 3))
    assert metrics["mae"] == pytest.approx(2 / 3)
    assert metrics["mape"] == pytest.approx(100 * (1 / 10 + 1 / 12) / 3)
    # Day 1 has no actual move and is left out; days 2 and 3 go the predicted way.
    assert (metrics["direction_accuracy"], metrics["direction_days"]) == (1.0, 2)


def test_direction_of_a_forecast_that_never_moves_is_undefined():
    result = direction_accuracy(np.array([11, 9.0]), np.array([10, 10.0]), np.array([10, 10.0]))
    assert result["accuracy"] is None and result["days"] == 0


def test_direction_counts_wrong_calls():
    result = direction_accuracy(np.array([11, 9, 12, 8.0]), np.array([10.5, 10.5, 9, 9.0]), np.full(4, 10.0))
    assert (result["correct"], result["days"], result["accuracy"]) == (2, 4, 0.5)


def test_wilson_interval_matches_published_values():
    low, high = wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    low, high = wilson_interval(2, 2)
    assert (low, high) == pytest.approx((0.3424, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_nan_forecasts_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        forecast_metrics(np.array([1.0, 2.0]), np.array([1.0, np.nan]), np.array([1.0, 1.0]))


def test_compare_and_verdict_say_when_the_model_loses():
    actual, last = np.array([10, 12, 9.0]), np.array([10, 10, 10.0])
    worse = compare(actual, last, {"model": actual + 3, "persistence": last, "moving_average": last,
                                   "drift": last})
    assert worse["model_vs_persistence"]["rmse_ratio"] > 1
    assert "does NOT beat persistence on RMSE, MAE, MAPE" in verdict(worse)
    better = compare(actual, last, {"model": actual + 0.1, "persistence": last, "moving_average": last,
                                    "drift": last})
    assert better["model_beats"]["persistence"] == {"rmse": True, "mae": True, "mape": True}
    assert verdict(better).startswith("the model beats persistence")
