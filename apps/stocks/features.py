"""From price series to model samples: windows, targets, chronological splits, scaling.

A sample is a window of ``window`` raw OHLCV days ending at day ``t`` (the last known
day) and its targets, the log returns ``log(close[t + h] / close[t])`` for ``h = 1 ..
horizon``. Periods are cut by *date*, the same dates for every ticker, so no ticker's
test days are training days of another (that would leak the market's moves). A sample
belongs to the period of its first target day and is dropped when its targets would
cross into the next period.

The features the network sees are computed from the raw window inside the model
(:func:`ohlcv_features`), so exported models take raw prices; only their scaling is
fitted here, on training samples alone.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from keras import ops

from shared.errors import SeqappsError

FEATURES = ("open_vs_last_close", "high_vs_last_close", "low_vs_last_close", "close_vs_last_close",
            "daily_return", "day_range", "relative_volume")
PRICE_FLOOR = 1e-6


def ohlcv_features(ohlcv):
    """``[batch, window, 5]`` raw OHLCV to ``[batch, window, 7]`` scale-free features.

    Prices become log ratios to the window's last close, so one model serves a $5 and a
    $1000 stock; volume becomes log volume minus its window mean. Runs on NumPy arrays
    and inside the Keras model alike (``keras.ops``).
    """
    ohlcv = ops.cast(ohlcv, "float32")
    prices = ops.maximum(ohlcv[:, :, :4], PRICE_FLOOR)
    log_prices = ops.log(prices)
    log_close = log_prices[:, :, 3:4]
    relative = log_prices - log_close[:, -1:, :]
    daily_return = ops.concatenate([ops.zeros_like(log_close[:, :1]), log_close[:, 1:] - log_close[:, :-1]], axis=1)
    day_range = log_prices[:, :, 1:2] - log_prices[:, :, 2:3]
    log_volume = ops.log(1.0 + ops.maximum(ohlcv[:, :, 4:5], 0.0))
    relative_volume = log_volume - ops.mean(log_volume, axis=1, keepdims=True)
    return ops.concatenate([relative, daily_return, day_range, relative_volume], axis=-1)


@dataclass
class Table:
    """Every ticker's rows, concatenated, with where each ticker starts."""

    ohlcv: np.ndarray      # float32 [rows, 5]
    close: np.ndarray      # float64 [rows], exact closes for targets and baselines
    dates: np.ndarray      # datetime64[D] [rows]
    ticker_index: np.ndarray  # int [rows]
    starts: np.ndarray     # int [rows]: first row of the row's ticker
    tickers: list


def make_table(data):
    """One :class:`Table` from a :class:`apps.stocks.data.PriceData`."""
    tickers = list(data.series)
    parts = [data.series[name] for name in tickers]
    lengths = np.array([len(part) for part in parts])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return Table(
        ohlcv=np.concatenate([part.ohlcv for part in parts]).astype(np.float32),
        close=np.concatenate([part.ohlcv[:, 3] for part in parts]).astype(np.float64),
        dates=np.concatenate([part.dates for part in parts]).astype("datetime64[D]"),
        ticker_index=np.repeat(np.arange(len(parts)), lengths),
        starts=np.repeat(offsets, lengths),
        tickers=tickers,
    )


@dataclass
class Period:
    """One evaluation split: training before ``validation_start``, then validation, then test."""

    validation_start: np.datetime64
    test_start: np.datetime64
    test_end: np.datetime64   # exclusive; the day after the last date for the final period

    def describe(self):
        return (f"train before {self.validation_start}, validate {self.validation_start} .. "
                f"{self.test_start - 1}, test {self.test_start} .. {self.test_end - 1}")


def split_periods(dates, *, test_days=252, validation_days=252, folds=1):
    """Chronological periods on the trading days of all tickers together.

    With ``folds=1`` the test period is the last ``test_days`` trading days and validation
    the ``validation_days`` before them. With more folds (walk-forward evaluation) the last
    ``folds * test_days`` days are cut into consecutive test blocks; each fold trains on
    everything before its own validation block, so every fold is a forecast of its future.
    """
    days = np.unique(np.asarray(dates, dtype="datetime64[D]"))
    needed = folds * test_days + validation_days
    if folds < 1 or test_days < 1 or validation_days < 1:
        raise SeqappsError("--walk-forward, --test-days and --validation-days must be at least 1")
    if len(days) <= needed:
        raise SeqappsError(f"{len(days)} trading days cannot hold {folds} test block(s) of {test_days} days, "
                           f"{validation_days} validation days and any training days: lower --test-days "
                           f"/ --validation-days / --walk-forward or give more history")
    periods = []
    for fold in range(folds):
        test_index = len(days) - (folds - fold) * test_days
        end_index = test_index + test_days
        periods.append(Period(
            validation_start=days[test_index - validation_days],
            test_start=days[test_index],
            test_end=days[end_index] if end_index < len(days) else days[-1] + 1,
        ))
    return periods


@dataclass
class Samples:
    """Windows of one split: where each ends, its targets, and who it belongs to."""

    ends: np.ndarray      # int64 row index of the last known day
    targets: np.ndarray   # float64 [samples, horizon] log returns

    def __len__(self):
        return len(self.ends)


def make_samples(table, period, *, window, horizon):
    """Train, validation and test samples for one period, with no target crossing a border."""
    rows = np.arange(len(table.close))
    offsets = np.arange(1, horizon + 1)
    last_target = rows + horizon
    same_ticker = np.zeros(len(rows), dtype=bool)
    inside = last_target < len(rows)
    same_ticker[inside] = table.ticker_index[last_target[inside]] == table.ticker_index[inside]
    valid = (rows - table.starts >= window - 1) & same_ticker
    ends = rows[valid]
    first_day = table.dates[ends + 1]
    last_day = table.dates[ends + horizon]
    bounds = {
        "train": (first_day < period.validation_start) & (last_day < period.validation_start),
        "validation": (first_day >= period.validation_start) & (last_day < period.test_start),
        "test": (first_day >= period.test_start) & (first_day < period.test_end),
    }
    samples = {}
    for split, chosen in bounds.items():
        split_ends = ends[chosen]
        targets = np.log(table.close[split_ends[:, None] + offsets] / table.close[split_ends][:, None])
        samples[split] = Samples(ends=split_ends.astype(np.int64), targets=targets)
    for split in ("train", "validation", "test"):
        if len(samples[split]) == 0:
            raise SeqappsError(f"no {split} samples: {period.describe()}, window {window}, horizon {horizon}; "
                               f"give more history or shorten --window / --test-days / --validation-days")
    return samples


def window_indices(ends, window):
    return np.asarray(ends)[:, None] + np.arange(-window + 1, 1)[None, :]


def windows(table, ends, window):
    """The raw OHLCV windows ``[samples, window, 5]`` ending at ``ends`` (float32)."""
    return table.ohlcv[window_indices(ends, window)]


def window_dataset(table, samples, *, window, batch_size, shuffle=False, seed=1337, drop_remainder=False):
    """A ``tf.data`` pipeline of ``(ohlcv window, {"log_return": targets})`` batches.

    Windows are gathered from the one concatenated table on the fly, so millions of
    overlapping windows never sit in memory at once.
    """
    rows = tf.constant(table.ohlcv)
    offsets = tf.range(-window + 1, 1, dtype=tf.int64)
    dataset = tf.data.Dataset.from_tensor_slices((samples.ends, samples.targets.astype(np.float32)))
    if shuffle:
        dataset = dataset.shuffle(len(samples), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda ends, targets: (tf.gather(rows, ends[:, None] + offsets), {"log_return": targets}),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


@dataclass
class Scaling:
    """Feature and target statistics of the training samples; they become model constants."""

    feature_mean: np.ndarray
    feature_variance: np.ndarray
    target_mean: np.ndarray
    target_std: np.ndarray

    def to_dict(self):
        return {name: np.asarray(value).tolist() for name, value in vars(self).items()} | {"features": list(FEATURES)}


def fit_scaling(table, train, *, window, batch_size=4096):
    """Mean and variance of every feature and target over the training samples only.

    Nothing from validation or test days enters: a test proves that changing any later
    price leaves these numbers unchanged.
    """
    count, total, total_squares = 0, np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    for start in range(0, len(train), batch_size):
        features = np.asarray(ohlcv_features(windows(table, train.ends[start:start + batch_size], window)),
                              dtype=np.float64).reshape(-1, len(FEATURES))
        count += len(features)
        total += features.sum(axis=0)
        total_squares += (features ** 2).sum(axis=0)
    mean = total / count
    variance = np.maximum(total_squares / count - mean ** 2, 1e-12)
    target_std = np.maximum(train.targets.std(axis=0), 1e-6)
    return Scaling(feature_mean=mean, feature_variance=variance,
                   target_mean=train.targets.mean(axis=0), target_std=target_std)
