"""Show and Tell, and Show, Attend and Tell: an LSTM that writes a caption from a CNN's grid.

Show and Tell (Vinyals et al., 2015) starts the LSTM from the image: its initial state is
computed from the mean feature vector. Show, Attend and Tell (Xu et al., 2015, "soft"
attention) does the same and, at every step, looks at the feature grid again: weights over
the grid cells come from the previous hidden state, and their weighted mean (the context)
joins the word embedding as the LSTM's input and the hidden state in the output layer.

One :class:`Captioner` owns the layers and assembles the functional models that share them:
the training model (teacher forcing), the encoder (pixels to the decoder's first state),
the one-step decoder that greedy and beam search drive (in the SavedModel graph, or from an
ONNX host loop), and a model that replays a caption to read its attention weights.
"""

import keras
from keras import ops

from shared.embeddings import make_embedding
from shared.layers import SuppressTokens
from shared.text import BOS_ID, PAD_ID, UNK_ID


@keras.saving.register_keras_serializable(package="seqapps")
class CaptionCell(keras.layers.Layer):
    """One decoder step. State ``[h, c]``, plus the flattened features and keys with attention.

    The grid rides along in the state because Keras' ``RNN`` passes nothing else to a cell
    at every step; it is never changed.
    """

    def __init__(self, units, cells=0, feature_dim=0, attention_dim=0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.cells, self.feature_dim, self.attention_dim = units, cells, feature_dim, attention_dim
        self.attention = cells > 0
        self.lstm = keras.layers.LSTMCell(units, name="lstm")
        if self.attention:
            self.query = keras.layers.Dense(attention_dim, use_bias=False, name="query")
            self.score = keras.layers.Dense(1, name="score")
        self.state_size = [units, units] + ([cells * feature_dim, cells * attention_dim] if self.attention else [])
        self.output_size = units + (feature_dim + cells if self.attention else 0)

    def build(self, input_shape):
        extra = self.feature_dim if self.attention else 0
        self.lstm.build((None, input_shape[-1] + extra))
        if self.attention:
            self.query.build((None, self.units))
            self.score.build((None, self.cells, self.attention_dim))
        self.built = True

    def attend(self, h, features, keys):
        """Soft attention: weights over the grid cells ``[batch, cells]`` and their context vector."""
        energy = self.score(ops.tanh(keys + ops.expand_dims(self.query(h), 1)))
        weights = ops.softmax(ops.squeeze(energy, -1), axis=-1)
        context = ops.sum(features * ops.expand_dims(weights, -1), axis=1)
        return context, weights

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        if not self.attention:
            output, (h, c) = self.lstm(inputs, [h, c], training=training)
            return output, [h, c]
        features = ops.reshape(states[2], (-1, self.cells, self.feature_dim))
        keys = ops.reshape(states[3], (-1, self.cells, self.attention_dim))
        context, weights = self.attend(h, features, keys)
        output, (h, c) = self.lstm(ops.concatenate([inputs, context], -1), [h, c], training=training)
        return ops.concatenate([output, context, weights], -1), [h, c, states[2], states[3]]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "cells": self.cells, "feature_dim": self.feature_dim,
                "attention_dim": self.attention_dim}


@keras.saving.register_keras_serializable(package="seqapps")
class GridCoordinates(keras.layers.Layer):
    """Append each cell's (row, column) in [-1, 1] to its features.

    Convolutions are translation-equivariant and an attention context is a weighted sum of
    what the cells contain, so without this the decoder knows *what* it looked at but not
    *where*: "left of" and "above" were the demo model's most common mistakes.
    """

    def call(self, grid):
        cells = grid.shape[1]
        side = int(round(cells ** 0.5))
        steps = ops.linspace(-1.0, 1.0, side)
        rows, columns = ops.meshgrid(steps, steps, indexing="ij")
        coordinates = ops.cast(ops.stack([ops.reshape(rows, (-1,)), ops.reshape(columns, (-1,))], axis=-1), grid.dtype)
        batch = ops.shape(grid)[0]
        return ops.concatenate([grid, ops.broadcast_to(coordinates[None], (batch, cells, 2))], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 2)


DECODERS = ("attention", "show-tell")


class Captioner:
    """The layers of one captioning model and the functional models built from them.

    ``get_weights``/``set_weights`` go through :attr:`full_model` (every layer, CNN
    included), which is what checkpoints and the float32 export rebuild copy.
    """

    def __init__(self, cnn, *, vocab_size, embedding_dim=100, embedding_matrix=None, trainable_embedding=True,
                 decoder="attention", units=256, feature_dim=256, attention_dim=256, dropout=0.3,
                 train_cnn=False):
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
        self.cnn = cnn
        self.train_cnn = train_cnn
        self.cells, self.cnn_dim = cnn.output_shape[1], cnn.output_shape[2]
        self.image_size = cnn.input_shape[1]
        self.vocab_size, self.units, self.feature_dim = vocab_size, units, feature_dim
        self.attention = decoder == "attention"
        self.coordinates = GridCoordinates(name="grid_coordinates")
        self.project = keras.layers.Dense(feature_dim, activation="relu", name="project")
        self.init_h = keras.layers.Dense(units, activation="tanh", name="init_h")
        self.init_c = keras.layers.Dense(units, activation="tanh", name="init_c")
        self.keys = keras.layers.Dense(attention_dim, name="attention_keys") if self.attention else None
        self.embedding = make_embedding(vocab_size, embedding_matrix.shape[1] if embedding_matrix is not None
                                        else embedding_dim, matrix=embedding_matrix, trainable=trainable_embedding,
                                        mask_zero=False, name="embedding")
        self.cell = CaptionCell(units, *((self.cells, feature_dim, attention_dim) if self.attention else ()),
                                name="caption_cell")
        self.decoder = keras.layers.RNN(self.cell, return_sequences=True, name="decoder")
        self.input_dropout = keras.layers.Dropout(dropout, name="input_dropout")
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        self.logits = keras.layers.Dense(vocab_size, dtype="float32", name="logits")
        self.never_generated = SuppressTokens((PAD_ID, UNK_ID, BOS_ID), name="never_generated")
        self.full_model = self._teacher_forced("pixels", "full_captioner")
        self.training_model = self.full_model if train_cnn else self._teacher_forced("image_features", "captioner")

    # ------------------------------------------------------------------ shared pieces

    @property
    def state_names(self):
        return ("h", "c", "features", "keys") if self.attention else ("h", "c")

    @property
    def image_input(self):
        """The training model's image input: pixels (CNN trained here) or the cached feature grid."""
        return "pixels" if self.train_cnn else "image_features"

    def _pixels_input(self):
        return keras.Input((self.image_size, self.image_size, 3), dtype="uint8", name="pixels")

    def initial_state(self, grid):
        """The decoder's first state from a CNN grid ``[batch, cells, channels]``."""
        features = self.project(self.coordinates(grid))
        mean = ops.mean(features, axis=1)
        state = {"h": self.init_h(mean), "c": self.init_c(mean)}
        if self.attention:
            state.update(features=features, keys=self.keys(features))
        return state

    def _rnn_state(self, state):
        flat = [state["h"], state["c"]]
        if self.attention:
            flat += [ops.reshape(state["features"], (-1, self.cells * self.feature_dim)),
                     ops.reshape(state["keys"], (-1, self.cells * self.keys.units))]
        return flat

    def _split(self, outputs):
        """Cell outputs -> (what the logits layer reads, attention weights or None)."""
        if not self.attention:
            return outputs, None
        cut = self.units + self.feature_dim
        return outputs[..., :cut], outputs[..., cut:]

    def _teacher_forced(self, image_name, name):
        """Training graph: the image and the caption so far -> logits for every next token."""
        if image_name == "pixels":
            image = self._pixels_input()
            grid = self.cnn(image)
        else:
            image = grid = keras.Input((self.cells, self.cnn_dim), name="image_features")
        tokens = keras.Input((None,), dtype="int32", name="tokens")
        embedded = self.input_dropout(self.embedding(tokens))
        outputs = self.decoder(embedded, initial_state=self._rnn_state(self.initial_state(grid)))
        hidden, _ = self._split(outputs)
        logits = self.logits(self.output_dropout(hidden))
        return keras.Model({image_name: image, "tokens": tokens}, {"logits": logits}, name=name)

    # ------------------------------------------------------------------ inference models

    def encoder_model(self):
        """``pixels`` -> the decoder's initial state (``h``, ``c``; ``features``, ``keys``)."""
        pixels = self._pixels_input()
        return keras.Model({"pixels": pixels}, self.initial_state(self.cnn(pixels)), name="encoder")

    def state_model(self):
        """What training reads per image (pixels or the cached grid) -> the decoder's initial state."""
        if self.train_cnn:
            return self.encoder_model()
        grid = keras.Input((self.cells, self.cnn_dim), name="image_features")
        return keras.Model({"image_features": grid}, self.initial_state(grid), name="state_from_features")

    def step_model(self):
        """``token`` + state -> ``log_probs`` of the next token, ``new_h``, ``new_c`` (+ ``attention``).

        The log-probabilities are over the words and [EOS] only (see :class:`SuppressTokens`).

        Output names differ from input names: ONNX graphs cannot have both called ``h``.
        """
        token = keras.Input((), dtype="int32", name="token")
        state = {"h": keras.Input((self.units,), name="h"), "c": keras.Input((self.units,), name="c")}
        if self.attention:
            state["features"] = keras.Input((self.cells, self.feature_dim), name="features")
            state["keys"] = keras.Input((self.cells, self.keys.units), name="keys")
        output, new_state = self.cell(self.embedding(token), self._rnn_state(state))
        hidden, weights = self._split(output)
        log_probs = ops.log_softmax(self.never_generated(self.logits(hidden)), axis=-1)
        outputs = {"log_probs": log_probs, "new_h": new_state[0], "new_c": new_state[1]}
        if self.attention:
            outputs["attention"] = weights
        return keras.Model({"token": token, **state}, outputs, name="decoder_step")

    def attention_model(self):
        """Replays given caption tokens and returns the attention weights ``[batch, time, cells]``."""
        if not self.attention:
            raise ValueError("the show-tell decoder has no attention")
        grid = keras.Input((self.cells, self.cnn_dim), name="image_features")
        tokens = keras.Input((None,), dtype="int32", name="tokens")
        outputs = self.decoder(self.embedding(tokens), initial_state=self._rnn_state(self.initial_state(grid)))
        return keras.Model({"image_features": grid, "tokens": tokens}, {"attention": self._split(outputs)[1]})

    # ------------------------------------------------------------------ weights

    def get_weights(self):
        return self.full_model.get_weights()

    def set_weights(self, weights):
        self.full_model.set_weights(weights)
