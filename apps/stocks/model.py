"""The price model: raw OHLCV window in, future log returns and prices out.

Everything between raw prices and prices lives in the graph: feature computation
(:func:`apps.stocks.features.ohlcv_features`), the scaling fitted on the training period
(a fixed ``Normalization``), the recurrent encoder, and the way back from a scaled return
to a price. An exported SavedModel or ONNX model therefore takes exactly what a CSV
holds. Features and the head run in float32 whatever the training precision: a log
return of 1e-3 does not survive float16.
"""

import keras
import numpy as np
from keras import ops

from apps.stocks.data import COLUMNS
from apps.stocks.features import FEATURES, ohlcv_features

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@keras.saving.register_keras_serializable(package="seqapps")
class OhlcvFeatures(keras.layers.Layer):
    """Raw OHLCV windows to scale-free features (see :func:`ohlcv_features`)."""

    def call(self, ohlcv):
        return ohlcv_features(ohlcv)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], len(FEATURES))


@keras.saving.register_keras_serializable(package="seqapps")
class Standardize(keras.layers.Layer):
    """Subtract the training mean and divide by the training std of each feature.

    The statistics are non-trainable weights, not captured tensors: ``Normalization``
    with fixed ``mean``/``variance`` holds them as eager tensors, which tf2onnx turns into
    extra graph inputs.
    """

    def __init__(self, mean, variance, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.variance = [float(v) for v in mean], [float(v) for v in variance]

    def build(self, input_shape):
        size = len(self.mean)
        self.shift = self.add_weight(shape=(size,), initializer=keras.initializers.Constant(self.mean),
                                     trainable=False, name="mean")
        self.inverse_std = self.add_weight(
            shape=(size,), initializer=keras.initializers.Constant([v ** -0.5 for v in self.variance]),
            trainable=False, name="inverse_std")

    def call(self, features):
        return (features - self.shift) * self.inverse_std

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "variance": self.variance}


@keras.saving.register_keras_serializable(package="seqapps")
class Unscale(keras.layers.Layer):
    """A scaled prediction back to a log return: ``shrink * scaled * std + mean``.

    ``mean`` and ``std`` are the training targets'. ``shrink`` (one per horizon, a
    non-trainable weight, 1 while training) is fitted afterwards on the validation days: how
    much of the network's departure from the mean return held up on days it never saw
    (:func:`fit_shrinkage`). 0 means the forecast is just the training-period mean return.
    """

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = [float(v) for v in mean], [float(v) for v in std]

    def build(self, input_shape):
        self.shrink = self.add_weight(shape=(len(self.mean),), initializer="ones", trainable=False, name="shrink")

    def call(self, scaled):
        scaled = ops.cast(scaled, "float32") * self.shrink
        return scaled * ops.array(self.std, "float32") + ops.array(self.mean, "float32")

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


def fit_shrinkage(model, log_returns, targets, scaling):
    """Least-squares shrinkage of the network's forecast toward the mean, per horizon, in [0, 1].

    ``log_returns`` are the model's forecasts (shrink 1) and ``targets`` the true log
    returns on validation days. A network whose day-to-day calls did not hold up gets a
    factor near 0 and falls back to the training mean; the factor is set in the model, so
    exports carry it.
    """
    mean, std = np.asarray(scaling.target_mean), np.asarray(scaling.target_std)
    deviation = (np.asarray(log_returns) - mean) / std
    truth = (np.asarray(targets) - mean) / std
    energy = np.sum(deviation ** 2, axis=0)
    factor = np.where(energy > 0, np.sum(deviation * truth, axis=0) / np.maximum(energy, 1e-12), 0.0)
    factor = np.clip(factor, 0.0, 1.0)
    model.get_layer("log_return").shrink.assign(factor.astype("float32"))
    return factor


@keras.saving.register_keras_serializable(package="seqapps")
class ReturnToPrice(keras.layers.Layer):
    """``last close * exp(log return)``: the forecast price for every horizon."""

    def call(self, inputs):
        ohlcv, log_return = inputs
        last_close = ops.cast(ohlcv[:, -1, 3:4], "float32")
        return last_close * ops.exp(log_return)


def build_model(*, window, horizon, scaling, cell="lstm", units=64, layers=2, bidirectional=False,
                dropout=0.1, use_cudnn="auto"):
    """``ohlcv`` ``[batch, window, 5]`` to ``log_return`` and ``price`` ``[batch, horizon]``.

    ``scaling`` is a :class:`apps.stocks.features.Scaling` fitted on the training period.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, not {cell!r}")
    ohlcv = keras.Input(shape=(window, len(COLUMNS)), dtype="float32", name="ohlcv")
    features = OhlcvFeatures(dtype="float32", name="features")(ohlcv)
    x = Standardize(scaling.feature_mean, scaling.feature_variance, dtype="float32", name="scaling")(features)
    for index in range(layers):
        layer = CELLS[cell](units, return_sequences=index < layers - 1, dropout=dropout if index else 0.0,
                            use_cudnn=use_cudnn, name=f"{cell}_{index + 1}")
        x = keras.layers.Bidirectional(layer, name=f"bidirectional_{index + 1}")(x) if bidirectional else layer(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    scaled = keras.layers.Dense(horizon, dtype="float32", name="scaled_return")(x)
    log_return = Unscale(scaling.target_mean, scaling.target_std, dtype="float32", name="log_return")(scaled)
    price = ReturnToPrice(dtype="float32", name="price")([ohlcv, log_return])
    return keras.Model(ohlcv, {"log_return": log_return, "price": price}, name="stocks")


def scaled_loss(scaling, kind="mse"):
    """Squared (or Huber) error of log returns measured in training standard deviations.

    Raw daily log returns are about 0.01, so their squared errors (1e-4) would be tiny;
    dividing by the training std gives a loss near 1 for a model that knows nothing.
    """
    std = ops.array([float(v) for v in scaling.target_std], "float32")
    huber = keras.losses.Huber(delta=1.0, reduction=None)

    def loss(y_true, y_pred):
        y_true, y_pred = ops.cast(y_true, "float32") / std, ops.cast(y_pred, "float32") / std
        if kind == "huber":
            return huber(y_true, y_pred)
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    return loss
