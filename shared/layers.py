"""Small Keras layers the apps share; all serializable, none of them a ``Lambda``."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqapps")
class MaskedMean(keras.layers.Layer):
    """Mean over the unmasked time steps; zeros for a sequence with no real token.

    ``GlobalAveragePooling1D`` divides by the number of unmasked steps, which is zero for an
    empty input (an empty string tokenises to one ``[PAD]``), and returns NaN.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = ops.sum(inputs * weights, axis=1)
        count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1, inputs.dtype))
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="seqapps")
class SuppressTokens(keras.layers.Layer):
    """Logits minus 1e9 for tokens a decoder must never emit: [PAD], [UNK] and [BOS].

    [UNK] stands for every rare word, so it is among the likeliest next tokens on real
    data; left in, it ended captions like "a boy is sitting on a [UNK]" (shown as "on a").
    The mask is built inside ``call``: a constant tensor captured from outside would
    become an extra input of the ONNX graph. The layer computes in float32 whatever the
    global policy: under mixed precision it would cast the logits to float16, where 1e9
    overflows to -inf.
    """

    def __init__(self, token_ids, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.token_ids = tuple(int(token) for token in token_ids)

    def call(self, logits):
        vocabulary = ops.arange(ops.shape(logits)[-1])
        banned = ops.any(ops.equal(vocabulary[:, None], ops.convert_to_tensor(self.token_ids)[None, :]), axis=1)
        return logits - 1e9 * ops.cast(banned, logits.dtype)

    def get_config(self):
        return {**super().get_config(), "token_ids": self.token_ids}
