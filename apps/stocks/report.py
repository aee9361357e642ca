"""The test forecasts as a CSV to audit and a plot to look at.

The plot draws the actual close, the model's forecast and persistence on the test days.
For one-day forecasts the three lines nearly coincide, which is the honest picture of
daily price prediction: the table in the log says by how little the model differs.
"""

import io

import numpy as np

from apps.stocks.metrics import BASELINES
from shared.atomic import write_text


def _tickers(table, frame):
    return np.asarray(table.tickers)[table.ticker_index[frame["ends"]]]


def write_forecasts(path, table, frame):
    """One row per test sample and horizon: the known close, the truth and every forecast."""
    tickers = _tickers(table, frame)
    horizon = frame["actual"].shape[1]
    buffer = io.StringIO()
    buffer.write("ticker,last_known_day,target_day,horizon,last_close,actual,model," + ",".join(BASELINES) + "\n")
    for step in range(horizon):
        target_days = table.dates[frame["ends"] + step + 1]
        for index, end in enumerate(frame["ends"]):
            values = [frame["last"][index], frame["actual"][index, step], frame["model"][index, step]]
            values += [frame[name][index, step] for name in BASELINES]
            buffer.write(f"{tickers[index]},{table.dates[end]},{target_days[index]},{step + 1},"
                         + ",".join(f"{value:.6f}" for value in values) + "\n")
    return write_text(path, buffer.getvalue())


def plot_forecasts(path, table, frame, *, tickers=None, limit=4):
    """Actual close, model and persistence over the test days, one panel per ticker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sample_tickers = _tickers(table, frame)
    available = list(dict.fromkeys(sorted(sample_tickers)))
    chosen = [t for t in (tickers or available) if t in available][:limit] or available[:limit]
    horizon = frame["actual"].shape[1]
    step = horizon - 1
    figure, axes = plt.subplots(len(chosen), 1, figsize=(10, 3.2 * len(chosen)), squeeze=False)
    for axis, ticker in zip(axes[:, 0], chosen):
        rows = np.flatnonzero(sample_tickers == ticker)
        days = table.dates[frame["ends"][rows] + horizon]
        axis.plot(days, frame["actual"][rows, step], color="black", linewidth=1.4, label="actual close")
        axis.plot(days, frame["model"][rows, step], color="tab:blue", linewidth=1.0, label="model")
        axis.plot(days, frame["persistence"][rows, step], color="tab:orange", linewidth=0.8, linestyle="--",
                  label="persistence (last close)")
        axis.set_title(f"{ticker}: {horizon}-day-ahead forecast on the test days")
        axis.set_ylabel("price")
        axis.legend(loc="best", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
