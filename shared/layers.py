"""Small Keras layers the apps share; none of them a ``Lambda``, all serializable but the
export-only :class:`MaskFreeRecurrent`."""

import keras
import tensorflow as tf
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


class MaskFreeRecurrent(keras.layers.Layer):
    """A trained LSTM (or a ``Bidirectional`` one) on right-padded input, run without its mask.

    tf2onnx turns a masked LSTM into an ONNX ``Loop``, about 1.4x slower than TensorFlow on
    a CPU, but an unmasked one into a fused ``LSTM`` op. On right padding the mask only
    matters in three places: the backward direction must start at each row's last real
    step, a final output is the one at that step, and padded outputs are zeros (for a plain
    layer: the last real output, repeated). So the backward direction reads each row
    reversed within its length (``tf.reverse_sequence``), final outputs are gathered at
    ``length - 1`` and padded outputs are set as Keras sets them: the masked layer's numbers
    from unmasked layers. Used by the ONNX export only (:func:`mask_free_model`); it copies
    the trained layer's weights, in their order, and it is never saved.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(name=f"{layer.name}_mask_free", dtype=layer.dtype_policy, **kwargs)
        self.supports_masking = True
        bidirectional = isinstance(layer, keras.layers.Bidirectional)
        rnn = layer.forward_layer if bidirectional else layer
        self.return_sequences, self.return_state = rnn.return_sequences, rnn.return_state
        # Bidirectional zeroes padded outputs; a plain layer repeats the last real one there
        self.zero_padded_outputs = bidirectional or rnn.zero_output_for_mask
        trained = [rnn, layer.backward_layer] if bidirectional else [rnn]
        self.directions = [self._forward_copy(part, direction) for part, direction in zip(trained, ("forward", "backward"))]
        # values, not the layer: tracking it would add its weights to this layer's
        self._trained_weights = [part.get_weights() for part in trained]

    @staticmethod
    def supports(layer):
        """Whether ``layer`` is one this class can stand in for."""
        if isinstance(layer, keras.layers.Bidirectional):
            return layer.merge_mode == "concat" and MaskFreeRecurrent.supports(layer.forward_layer)
        # tf2onnx fuses unmasked LSTMs only: an unmasked Keras GRU still becomes a Loop. A
        # final cell state is recomputed through log(forget gate): sigmoid gates only.
        return (isinstance(layer, keras.layers.LSTM) and not layer.go_backwards and not layer.stateful
                and (not layer.return_state or layer.cell.recurrent_activation is keras.activations.sigmoid))

    @staticmethod
    def _forward_copy(rnn, direction):
        config = {**rnn.get_config(), "return_sequences": True, "return_state": False, "go_backwards": False,
                  "name": f"{rnn.name}_{direction}"}
        return type(rnn).from_config(config)

    def build(self, input_shape):
        for copy, weights in zip(self.directions, self._trained_weights):
            copy.build(input_shape)
            copy.set_weights(weights)

    def call(self, inputs, mask=None):
        batch, steps = tf.shape(inputs)[0], tf.shape(inputs)[1]
        lengths = (tf.fill([batch], steps) if mask is None
                   else tf.reduce_sum(tf.cast(mask, "int32"), axis=1))
        # a fresh tensor: Keras would hand the input's mask on to the copy, which would then mask
        read = [tf.identity(inputs)]
        if len(self.directions) == 2:
            read.append(tf.reverse_sequence(inputs, lengths, seq_axis=1, batch_axis=0))
        outputs = [direction(x) for direction, x in zip(self.directions, read)]
        last = tf.maximum(lengths - 1, 0)
        any_real = tf.cast(lengths > 0, outputs[0].dtype)[:, None]
        finals = [tf.gather(output, last, axis=1, batch_dims=1) * any_real for output in outputs]
        result = self._sequences(outputs, finals, lengths, steps)
        if not self.return_state:
            return result
        states = [[final, self._final_cell_state(direction, x, output, lengths) * any_real]
                  for direction, x, output, final in zip(self.directions, read, outputs, finals)]
        return [result] + [state for pair in states for state in pair]

    @staticmethod
    def _final_cell_state(lstm, inputs, outputs, lengths):
        """``c`` after each row's last real step, from the outputs: no loop.

        Every step's gates follow from its input and the previous output, all known, so
        ``c_L = sum_s i_s g_s prod_{s<r<=L} f_r``, the products taken as
        ``exp(cumsum(log f))`` differences, which are at most 1 and cannot overflow.
        """
        kernel, recurrent_kernel, *bias = lstm.cell.weights
        previous = tf.pad(outputs[:, :-1], [[0, 0], [1, 0], [0, 0]])
        gates = tf.matmul(inputs, kernel) + tf.matmul(previous, recurrent_kernel) + (bias[0] if bias else 0.0)
        i, f, g, _ = tf.split(gates, 4, axis=-1)
        written = lstm.cell.recurrent_activation(i) * lstm.cell.activation(g)
        kept = tf.math.cumsum(tf.math.log_sigmoid(f), axis=1)
        real = tf.sequence_mask(lengths, tf.shape(inputs)[1])[..., None]
        at_last = tf.gather(kept, tf.maximum(lengths - 1, 0), axis=1, batch_dims=1)[:, None]
        decay = tf.exp(tf.where(real, at_last - kept, -1e30 * tf.ones_like(kept)))
        return tf.reduce_sum(decay * written, axis=1)

    def _sequences(self, outputs, finals, lengths, steps):
        if not self.return_sequences:
            return tf.concat(finals, axis=-1)
        real = tf.sequence_mask(lengths, steps)[..., None]
        if not self.zero_padded_outputs:
            return tf.where(real, outputs[0], finals[0][:, None, :])
        outputs = [output * tf.cast(real, output.dtype) for output in outputs]
        if len(outputs) == 2:
            # zeroed before the reversal back: tf2onnx would otherwise take reverse, LSTM,
            # reverse for a whole-length backward LSTM and fuse both into a wrong bidirectional op
            outputs[1] = tf.reverse_sequence(outputs[1], lengths, seq_axis=1, batch_axis=0)
        return tf.concat(outputs, axis=-1)

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * (2 * len(self.directions)) if self.return_state else output_mask

    def compute_output_shape(self, input_shape):
        width = sum(copy.units for copy in self.directions)
        output = tuple(input_shape[:2]) + (width,) if self.return_sequences else (input_shape[0], width)
        if not self.return_state:
            return output
        return [output] + [(input_shape[0], copy.units) for copy in self.directions for _ in "hc"]


def mask_free_model(model):
    """``model`` with every supported recurrent layer replaced by a :class:`MaskFreeRecurrent`
    copy (the other layers are shared, not copied); ``model`` itself when it has none, or
    when nothing in it makes masks."""
    makes_masks = any(getattr(layer, "mask_zero", False) for layer in model._flatten_layers())
    if not makes_masks or not any(MaskFreeRecurrent.supports(layer) for layer in model.layers):
        return model
    return keras.models.clone_model(
        model, clone_function=lambda layer: MaskFreeRecurrent(layer) if MaskFreeRecurrent.supports(layer) else layer)
