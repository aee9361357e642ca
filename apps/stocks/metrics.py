"""Forecast metrics and the naive baselines every price model must be compared with.

Daily prices are close to a random walk, so "yesterday's close" (persistence) is a hard
baseline: most published LSTM price plots that look impressive are persistence in
disguise. Every report here puts the model beside persistence, a moving average and the
drift method, on the same test days, and says in words where the model loses.

All functions take NumPy arrays; nothing here imports TensorFlow, so the metrics can be
checked by hand (``tests/stocks/test_metrics.py``).
"""

import math

import numpy as np

BASELINES = ("persistence", "moving_average", "drift")
METRICS = ("rmse", "mae", "mape", "direction_accuracy")
WILSON_Z95 = 1.959963984540054


def baseline_forecasts(close, ends, starts, *, horizon, ma_days):
    """Baseline price forecasts ``[samples, horizon]`` for windows ending at ``ends``.

    ``close`` is the concatenated close of every ticker, ``ends[i]`` the index of the last
    known day of sample ``i`` and ``starts[i]`` the first row of its ticker. Each baseline
    uses only closes at or before ``ends[i]``:

    * persistence: the last close, for every horizon;
    * moving average: the mean of the last ``ma_days`` closes, for every horizon;
    * drift: the last close plus ``h`` times the average daily change since the ticker's
      first close (Hyndman and Athanasopoulos, *Forecasting: Principles and Practice*, 5.2).
    """
    close = np.asarray(close, dtype=np.float64)
    ends, starts = np.asarray(ends, dtype=np.int64), np.asarray(starts, dtype=np.int64)
    if np.any(ends - starts + 1 < ma_days):
        raise ValueError(f"a moving average of {ma_days} days needs {ma_days} closes before every sample")
    steps = np.arange(1, horizon + 1, dtype=np.float64)
    last = close[ends]
    cumulative = np.concatenate([[0.0], np.cumsum(close)])
    moving_average = (cumulative[ends + 1] - cumulative[ends + 1 - ma_days]) / ma_days
    slope = (last - close[starts]) / np.maximum(ends - starts, 1)
    return {
        "persistence": np.repeat(last[:, None], horizon, axis=1),
        "moving_average": np.repeat(moving_average[:, None], horizon, axis=1),
        "drift": last[:, None] + slope[:, None] * steps[None, :],
    }


def wilson_interval(successes, trials, z=WILSON_Z95):
    """The Wilson score interval for a binomial proportion (95% by default).

    Better than the normal approximation near 0 and 1 and for small samples; with no
    trials there is no interval.
    """
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def direction_accuracy(actual, predicted, last):
    """How often the forecast moves the same way as the price, from the last close.

    Days on which the price did not move, or the forecast predicts no move, have no
    direction and are left out; a forecast that never predicts a move (persistence) gets
    ``None`` rather than a meaningless score.
    """
    actual_move = np.sign(np.asarray(actual, dtype=np.float64) - last)
    predicted_move = np.sign(np.asarray(predicted, dtype=np.float64) - last)
    counted = (actual_move != 0) & (predicted_move != 0)
    trials = int(counted.sum())
    if trials == 0:
        return {"accuracy": None, "correct": 0, "days": 0, "ci95": None}
    correct = int((actual_move[counted] == predicted_move[counted]).sum())
    return {"accuracy": correct / trials, "correct": correct, "days": trials,
            "ci95": wilson_interval(correct, trials)}


def forecast_metrics(actual, predicted, last):
    """RMSE, MAE and MAPE (in %) on price, and direction accuracy with its 95% interval."""
    actual = np.asarray(actual, dtype=np.float64)
    error = np.asarray(predicted, dtype=np.float64) - actual
    if not np.all(np.isfinite(error)):
        raise ValueError("forecasts contain NaN or infinity")
    direction = direction_accuracy(actual, predicted, last)
    return {
        "rmse": float(np.sqrt(np.mean(error ** 2))),
        "mae": float(np.mean(np.abs(error))),
        "mape": float(100.0 * np.mean(np.abs(error) / np.abs(actual))),
        "direction_accuracy": direction["accuracy"],
        "direction_ci95": direction["ci95"],
        "direction_days": direction["days"],
    }


def compare(actual, last, forecasts):
    """Metrics of every forecast (model and baselines) on the same days, one horizon.

    ``forecasts`` maps a name to a ``[samples]`` array. The result adds the model's
    ratios to persistence (below 1 is better) and whether it beats each baseline.
    """
    table = {name: forecast_metrics(actual, values, last) for name, values in forecasts.items()}
    if "model" in table:
        model = table["model"]
        table["model_vs_persistence"] = {
            f"{metric}_ratio": _ratio(model[metric], table["persistence"][metric]) for metric in ("rmse", "mae", "mape")}
        table["model_beats"] = {
            name: {metric: model[metric] < table[name][metric] for metric in ("rmse", "mae", "mape")}
            for name in forecasts if name != "model"}
    return table


def _ratio(value, reference):
    return float(value / reference) if reference > 0 else None


def per_ticker_rmse_wins(actual, last, model, tickers):
    """How many tickers the model beats persistence on (RMSE), out of how many."""
    wins = total = 0
    for ticker in np.unique(tickers):
        chosen = tickers == ticker
        model_error = np.sqrt(np.mean((model[chosen] - actual[chosen]) ** 2))
        persistence_error = np.sqrt(np.mean((last[chosen] - actual[chosen]) ** 2))
        wins += int(model_error < persistence_error)
        total += 1
    return {"tickers_beating_persistence": wins, "tickers": total}


def _percent(value):
    return "    n/a" if value is None else f"{100 * value:6.2f}%"


def _interval(interval):
    return "" if interval is None else f" ({100 * interval[0]:.1f}-{100 * interval[1]:.1f}%)"


NAMES = {"model": "model", "persistence": "persistence (last close)", "moving_average": "moving average",
         "drift": "drift"}


def format_table(table, *, horizon, ma_days):
    """The side-by-side table for one horizon, then plain sentences on what the model beats."""
    lines = [f"horizon {horizon} trading day{'s' if horizon > 1 else ''} ahead:",
             f"  {'forecast':<28}{'RMSE':>10}{'MAE':>10}{'MAPE %':>9}   direction (95% CI)"]
    for name in ("model",) + BASELINES:
        row = table[name]
        label = NAMES[name] + (f" ({ma_days} d)" if name == "moving_average" else "")
        direction = ("    n/a (predicts no move)" if row["direction_accuracy"] is None
                     else _percent(row["direction_accuracy"]) + _interval(row["direction_ci95"]))
        lines.append(f"  {label:<28}{row['rmse']:>10.4f}{row['mae']:>10.4f}{row['mape']:>9.3f}   {direction}")
    lines.append("  " + verdict(table))
    return "\n".join(lines)


def verdict(table):
    """One honest sentence: does the model beat persistence, and on which metrics not."""
    ratios = table["model_vs_persistence"]
    beaten = table["model_beats"]["persistence"]
    lost = [metric.upper() for metric, wins in beaten.items() if not wins]
    ratio_text = ", ".join(f"{metric.upper()} {ratios[f'{metric}_ratio']:.4f}" for metric in ("rmse", "mae", "mape"))
    if not lost:
        return f"the model beats persistence on RMSE, MAE and MAPE (model/persistence: {ratio_text})"
    return (f"the model does NOT beat persistence on {', '.join(lost)} "
            f"(model/persistence: {ratio_text}; below 1 would be better)")
