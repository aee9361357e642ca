"""Pick the numeric precision for a run: mixed on a GPU, float32 on a CPU unless asked.

Mixed precision speeds up GPUs but slows this project's CPU training (measured in
``../shared/STACK.md``), so ``auto`` decides by device. Models keep their output layer in
float32 (``dtype="float32"`` on the last Dense) so losses and probabilities stay exact.
"""

import keras
import tensorflow as tf

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def resolve_precision(requested="auto"):
    """The Keras dtype policy name for ``requested``."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {requested!r}")
    if requested != "auto":
        return requested
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"


def apply_precision(requested="auto", log=print):
    """Set the global Keras dtype policy and say which one was chosen and why."""
    policy = resolve_precision(requested)
    keras.config.set_dtype_policy(policy)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    reason = f"auto on {device}" if requested == "auto" else "asked"
    log(f"precision: {policy} ({reason}; output layer stays float32)")
    return policy


class float32_policy:
    """Context manager: build layers under the float32 policy, then restore the previous one.

    Export rebuilds the trained model this way, because ONNX conversion needs float32.
    """

    def __enter__(self):
        self._previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32")

    def __exit__(self, *exc):
        keras.config.set_dtype_policy(self._previous)
        return False
