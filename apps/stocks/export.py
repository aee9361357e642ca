"""What the stocks app hands to the shared exporter.

Both artifacts take the same raw input, ``ohlcv`` ``[batch, window, 5]`` float32: the last
``window`` trading days of open, high, low, close and volume, oldest first, exactly as a
CSV lists them. Both return ``price`` and ``log_return`` ``[batch, horizon]``; the
SavedModel also returns ``last_close``. Feature computation and the training period's
scaling are inside the graph. ``features.json`` beside the ONNX model records the window,
the horizon, the column order and the scaling, for clients that want to check them.
"""

import numpy as np
import tensorflow as tf

from apps.stocks.data import COLUMNS
from apps.stocks.features import FEATURES
from shared.export import ExportBundle


def serving_function(model, window):
    def serve(ohlcv):
        outputs = model(ohlcv, training=False)
        return {"price": outputs["price"], "log_return": outputs["log_return"], "last_close": ohlcv[:, -1, 3]}

    return serve, [tf.TensorSpec([None, window, len(COLUMNS)], tf.float32, name="ohlcv")], []


def input_description(options, scaling):
    return {
        "input": "ohlcv",
        "shape": [None, options["window"], len(COLUMNS)],
        "columns": list(COLUMNS),
        "order": "oldest day first; the last row is the latest known day",
        "window": options["window"],
        "horizon": options["horizon"],
        "outputs": {"price": "forecast close for 1 .. horizon trading days after the last row",
                    "log_return": "log(price / last close) for the same days"},
        "features": list(FEATURES),
        "scaling": scaling.to_dict(),
    }


def make_bundle(model, build_float32, options, scaling, parity_windows, metrics):
    return ExportBundle(
        app="stocks",
        model=model,
        build_float32=build_float32,
        serving_fn=lambda float_model: serving_function(float_model, options["window"]),
        onnx_inputs=lambda raw: {"ohlcv": np.asarray(raw["ohlcv"], np.float32)},
        parity_inputs={"ohlcv": np.asarray(parity_windows, np.float32).tolist()},
        parity_outputs=("log_return", "price"),
        relative_outputs=("price",),
        files={"features.json": input_description(options, scaling)},
        metrics=metrics,
    )
