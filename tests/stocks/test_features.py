"""Windows, splits and scaling: the future never reaches the past."""

import dataclasses

import numpy as np
import pytest

from apps.stocks.data import demo_prices
from apps.stocks.features import fit_scaling, make_samples, make_table, ohlcv_features, split_periods, windows
from apps.stocks.model import build_model
from shared.errors import SeqappsError

WINDOW, HORIZON = 10, 3


@pytest.fixture(scope="module")
def demo():
    return demo_prices(seed=3, days=400)


def prepare(data, **options):
    table = make_table(data)
    period = split_periods(table.dates, test_days=60, validation_days=60, **options)[-1]
    samples = make_samples(table, period, window=WINDOW, horizon=HORIZON)
    return table, period, samples


def changed_after(data, day, factor=3.0):
    """A copy of ``data`` in which every price and volume from ``day`` on is multiplied by ``factor``."""
    series = {}
    for name, part in data.series.items():
        ohlcv = part.ohlcv.copy()
        ohlcv[part.dates >= day] *= factor
        series[name] = dataclasses.replace(part, ohlcv=ohlcv)
    return dataclasses.replace(data, series=series)


def test_periods_are_the_same_dates_for_every_ticker_and_samples_respect_them(demo):
    table, period, samples = prepare(demo)
    first_target = {split: table.dates[part.ends + 1] for split, part in samples.items()}
    last_target = {split: table.dates[part.ends + HORIZON] for split, part in samples.items()}
    assert last_target["train"].max() < period.validation_start
    assert first_target["validation"].min() >= period.validation_start
    assert last_target["validation"].max() < period.test_start
    assert first_target["test"].min() >= period.test_start
    # Both demo tickers trade on the same days, so each contributes the same test samples: one per
    # test day, except the last HORIZON - 1 days, whose later targets are not known.
    tickers = table.ticker_index[samples["test"].ends]
    assert np.bincount(tickers).tolist() == [60 - (HORIZON - 1)] * 2


def test_targets_are_log_returns_from_the_last_known_close(demo):
    table, _, samples = prepare(demo)
    end = samples["validation"].ends[5]
    expected = np.log(table.close[end + 1:end + 1 + HORIZON] / table.close[end])
    np.testing.assert_allclose(samples["validation"].targets[5], expected)


def test_changing_the_future_never_changes_the_scaler_or_a_past_forecast(demo):
    table, period, samples = prepare(demo)
    changed_table, _, changed_samples = prepare(changed_after(demo, period.validation_start))
    np.testing.assert_array_equal(samples["train"].ends, changed_samples["train"].ends)
    before = fit_scaling(table, samples["train"], window=WINDOW)
    after = fit_scaling(changed_table, changed_samples["train"], window=WINDOW)
    for name, value in vars(before).items():
        np.testing.assert_array_equal(value, vars(after)[name], err_msg=name)

    model = build_model(window=WINDOW, horizon=HORIZON, scaling=before, units=8, layers=1)
    # Every window whose last known day is before the change: same inputs, same forecast.
    ends = np.concatenate([samples["train"].ends, samples["validation"].ends])
    past = ends[table.dates[ends] < period.validation_start]
    original = model.predict(windows(table, past, WINDOW), verbose=0)["price"]
    perturbed = model.predict(windows(changed_table, past, WINDOW), verbose=0)["price"]
    np.testing.assert_array_equal(original, perturbed)
    # ... while a window that contains a changed day does see the change (the test can fail).
    later = samples["test"].ends[:4]
    assert not np.allclose(model.predict(windows(table, later, WINDOW), verbose=0)["price"],
                           model.predict(windows(changed_table, later, WINDOW), verbose=0)["price"])


def test_features_are_scale_free(demo):
    table, _, samples = prepare(demo)
    batch = windows(table, samples["train"].ends[:8], WINDOW)
    scaled = batch.copy()
    scaled[..., :4] *= 50.0
    np.testing.assert_allclose(np.asarray(ohlcv_features(batch)), np.asarray(ohlcv_features(scaled)), atol=1e-5)


def test_walk_forward_folds_are_consecutive_and_train_on_their_past(demo):
    table = make_table(demo)
    folds = split_periods(table.dates, test_days=50, validation_days=40, folds=3)
    assert [fold.test_end for fold in folds[:-1]] == [fold.test_start for fold in folds[1:]]
    for fold in folds:
        samples = make_samples(table, fold, window=WINDOW, horizon=1)
        assert table.dates[samples["train"].ends + 1].max() < fold.validation_start
        assert table.dates[samples["test"].ends + 1].max() < fold.test_end


def test_too_little_history_is_a_clear_error(demo):
    table = make_table(demo)
    with pytest.raises(SeqappsError, match="cannot hold"):
        split_periods(table.dates, test_days=300, validation_days=200)
