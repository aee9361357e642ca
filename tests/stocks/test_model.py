"""The price model's constants: scaling in, prices out, shrinkage fitted on validation days."""

import numpy as np

from apps.stocks.features import Scaling
from apps.stocks.model import build_model, fit_shrinkage

WINDOW, HORIZON = 5, 2
SCALING = Scaling(feature_mean=np.zeros(7), feature_variance=np.ones(7),
                  target_mean=np.array([0.001, 0.002]), target_std=np.array([0.01, 0.02]))


def windows(count, seed=0):
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, (count, WINDOW)), axis=1))
    ohlcv = np.stack([close, close * 1.01, close * 0.99, close, np.full_like(close, 1e6)], axis=-1)
    return ohlcv.astype(np.float32)


def test_price_is_the_last_close_times_the_exponential_of_the_log_return():
    model = build_model(window=WINDOW, horizon=HORIZON, scaling=SCALING, units=4, layers=1)
    batch = windows(6)
    outputs = model.predict(batch, verbose=0)
    np.testing.assert_allclose(outputs["price"], batch[:, -1, 3:4] * np.exp(outputs["log_return"]), rtol=1e-6)


def test_shrinkage_keeps_calls_that_held_up_and_drops_those_that_did_not():
    model = build_model(window=WINDOW, horizon=HORIZON, scaling=SCALING, units=4, layers=1)
    mean, std = SCALING.target_mean, SCALING.target_std
    rng = np.random.default_rng(1)
    calls = mean + std * rng.normal(size=(500, HORIZON))
    # Horizon 1: the truth is half the network's call plus noise; horizon 2: the opposite of the call.
    truth = np.stack([mean[0] + 0.5 * (calls[:, 0] - mean[0]) + 0.001 * rng.normal(size=500),
                      mean[1] - (calls[:, 1] - mean[1])], axis=1)
    factor = fit_shrinkage(model, calls, truth, SCALING)
    assert abs(factor[0] - 0.5) < 0.05 and factor[1] == 0.0

    batch = windows(8, seed=2)
    shrunk = model.predict(batch, verbose=0)["log_return"]
    model.get_layer("log_return").shrink.assign(np.ones(HORIZON, np.float32))
    unshrunk = model.predict(batch, verbose=0)["log_return"]
    np.testing.assert_allclose(shrunk[:, 0] - mean[0], factor[0] * (unshrunk[:, 0] - mean[0]), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(shrunk[:, 1], mean[1], rtol=1e-6)
