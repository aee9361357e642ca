"""The sentiment classifier: shared word2vec embedding, recurrent encoder, float32 head.

Binary and multi-class models expose the same output, ``probabilities`` of shape
``[batch, classes]``: a binary model computes one sigmoid and spreads it over two columns,
so predict commands, exports and clients never need to know which head was trained.
"""

import keras

from shared.embeddings import make_embedding
from shared.layers import MaskedMean

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}


@keras.saving.register_keras_serializable(package="seqapps")
class BinaryProbabilities(keras.layers.Layer):
    """``[p]`` to ``[1 - p, p]``: a sigmoid head with the multi-class output contract."""

    def call(self, positive):
        return keras.ops.concatenate([1.0 - positive, positive], axis=-1)


def _recurrent_layer(cell, units, *, return_sequences, dropout, use_cudnn, name):
    options = dict(return_sequences=return_sequences, dropout=dropout, name=name)
    if cell != "rnn":
        options["use_cudnn"] = use_cudnn
    return CELLS[cell](units, **options)


def build_model(*, vocab_size, num_classes, embedding_dim=100, embedding_matrix=None,
                trainable_embedding=True, cell="lstm", units=64, layers=1, bidirectional=True,
                dropout=0.2, pooling="last", use_cudnn="auto"):
    """Token ids ``[batch, time]`` (0 is padding) to class probabilities.

    ``pooling="mean"`` averages the top layer's outputs over the real (unmasked) tokens
    instead of keeping only the final state; on long reviews it trains faster.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, not {cell!r}")
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = make_embedding(vocab_size, embedding_dim, matrix=embedding_matrix,
                       trainable=trainable_embedding, mask_zero=True, name="embedding")(token_ids)
    for index in range(layers):
        keep_sequence = index < layers - 1 or pooling == "mean"
        layer = _recurrent_layer(cell, units, return_sequences=keep_sequence, dropout=dropout,
                                 use_cudnn=use_cudnn, name=f"{cell}_{index + 1}")
        x = keras.layers.Bidirectional(layer, name=f"bidirectional_{index + 1}")(x) if bidirectional else layer(x)
    if pooling == "mean":
        x = MaskedMean(name="mean_over_tokens")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    if num_classes == 2:
        positive = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="positive_probability")(x)
        probabilities = BinaryProbabilities(dtype="float32", name="probabilities")(positive)
    else:
        probabilities = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                           name="probabilities")(x)
    return keras.Model(token_ids, {"probabilities": probabilities}, name="sentiment")
