"""The recurrent language model: embedding, stacked LSTM/GRU, float32 softmax head.

One :class:`LanguageModel` owns the layers and builds two functional models sharing them:

* ``training_model``: ``tokens`` int32 ``[batch, time]`` -> ``logits`` ``[batch, time, vocab]``,
  trained on windows of the token stream (``data.stream_windows``) and used for scoring;
* ``step_model()``: one ``token`` ``[batch]`` plus every layer's state (``h_1``, ``c_1``,
  ... ``h_L``, ``c_L``; a GRU has no ``c``) -> ``log_probs`` of the next token and the new
  states (``new_h_1``, ...; ONNX cannot name an input and an output alike). Generation in
  the SavedModel and the ONNX host loop both drive it.

No layer masks padding: the recurrence is causal, so right padding never changes the
outputs at real positions (the loss and scores weight padding 0), and an unmasked LSTM
converts to a fused ONNX ``LSTM`` op. Dropout sits between layers as its own layer, not
inside the cells, so the step model's cells compute exactly what the sequence layers do.
"""

import keras
from keras import ops

from shared.embeddings import make_embedding

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


class LanguageModel:
    """The layers of one language model and the models built from them.

    ``get_weights``/``set_weights`` go through :attr:`training_model`, which holds every
    layer; the export's float32 rebuild copies weights that way.
    """

    def __init__(self, *, vocab_size, embedding_dim=100, embedding_matrix=None, trainable_embedding=True,
                 cell="lstm", layers=2, units=256, dropout=0.2, use_cudnn="auto"):
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, not {cell!r}")
        if layers < 1 or units < 1:
            raise ValueError("layers and units must be at least 1")
        self.cell_name, self.layer_count, self.units, self.vocab_size = cell, layers, units, vocab_size
        dim = embedding_matrix.shape[1] if embedding_matrix is not None else embedding_dim
        self.embedding = make_embedding(vocab_size, dim, matrix=embedding_matrix, trainable=trainable_embedding,
                                        mask_zero=False, name="embedding")
        self.recurrent = [CELLS[cell](units, return_sequences=True, use_cudnn=use_cudnn, name=f"{cell}_{i + 1}")
                          for i in range(layers)]
        for index, layer in enumerate(self.recurrent, start=1):
            # Every LSTM names its cell "lstm_cell"; the step model holds all the cells at once.
            layer.cell.name = f"{cell}_cell_{index}"
        self.dropouts = [keras.layers.Dropout(dropout, name=f"dropout_{i}") for i in range(layers + 1)]
        self.logits = keras.layers.Dense(vocab_size, dtype="float32", name="logits")
        self.training_model = self._sequence_model()

    @property
    def state_names(self):
        """Per layer ``h_i`` (and ``c_i`` for an LSTM), in layer order."""
        per_layer = ("h", "c") if self.cell_name == "lstm" else ("h",)
        return [f"{name}_{i + 1}" for i in range(self.layer_count) for name in per_layer]

    def _sequence_model(self):
        tokens = keras.Input((None,), dtype="int32", name="tokens")
        x = self.dropouts[0](self.embedding(tokens))
        for layer, dropout in zip(self.recurrent, self.dropouts[1:]):
            x = dropout(layer(x))
        return keras.Model({"tokens": tokens}, {"logits": self.logits(x)}, name="language_model")

    def step_model(self):
        """``token`` + states -> ``log_probs`` (float32 ``[batch, vocab]``) + ``new_*`` states."""
        token = keras.Input((), dtype="int32", name="token")
        states = {name: keras.Input((self.units,), name=name) for name in self.state_names}
        x = self.embedding(token)
        outputs = {}
        for index, layer in enumerate(self.recurrent, start=1):
            if self.cell_name == "lstm":
                x, (h, c) = layer.cell(x, [states[f"h_{index}"], states[f"c_{index}"]])
                outputs.update({f"new_h_{index}": h, f"new_c_{index}": c})
            else:
                x, new = layer.cell(x, [states[f"h_{index}"]])
                outputs[f"new_h_{index}"] = new[0] if isinstance(new, (list, tuple)) else new
        log_probs = ops.log_softmax(self.logits(x), axis=-1)
        return keras.Model({"token": token, **states}, {"log_probs": log_probs, **outputs}, name="step")

    def get_weights(self):
        return self.training_model.get_weights()

    def set_weights(self, weights):
        self.training_model.set_weights(weights)
