"""Encoder-decoder translation: a recurrent encoder and an LSTM decoder, three ways to connect them.

``--attention`` picks how the decoder sees the source:

- ``none``: the classic "thought vector" model (Sutskever et al., 2014; Cho et al., 2014).
  The encoder's final state starts the decoder and is all it ever sees of the source.
- ``luong``: global attention with the "general" score ``h_t . W h_s`` (Luong et al., 2015),
  computed from the decoder's new state after each step; the context and the state make the
  attentional vector ``tanh(W_c [c_t; h_t])`` that predicts the word. Without Luong's input
  feeding, teacher-forced training runs the decoder LSTM as one fused layer and attends at
  every step at once, which is what makes it the fast default on a CPU.
- ``bahdanau``: additive attention ``v . tanh(W_1 h_s + W_2 s_{t-1})`` from the previous
  state (Bahdanau et al., 2015); the context joins the word embedding as the LSTM's input,
  so training steps through time (``keras.ops.scan``).

One :class:`Translator` owns the layers and builds the functional models that share them:
teacher-forced training, the encoder (source ids to the decoder's first state), the one-step
decoder that greedy and beam search drive (inside the SavedModel, or from an ONNX host loop),
and a replay model that reads the attention weights for the heatmap.
"""

import keras
from keras import ops

from shared.embeddings import make_embedding
from shared.layers import SuppressTokens
from shared.text import BOS_ID, PAD_ID, UNK_ID

ATTENTIONS = ("luong", "bahdanau", "none")
CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def masked_softmax(scores, mask):
    """Softmax over the source positions where ``mask`` is 1, computed in float32.

    A huge negative score would overflow float16 under mixed precision, so the scores are
    cast up first and the weights cast back. An all-padding source (an empty sentence)
    gets uniform weights rather than NaN.
    """
    scores = ops.cast(scores, "float32")
    scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
    return ops.softmax(scores, axis=-1)


@keras.saving.register_keras_serializable(package="seqapps")
class LuongAttention(keras.layers.Layer):
    """``h_t . W h_s`` scores for every decoder step at once: ``[batch, steps, units]`` in."""

    def __init__(self, memory_dim, **kwargs):
        super().__init__(**kwargs)
        self.memory_dim = memory_dim
        self.query = keras.layers.Dense(memory_dim, use_bias=False, name="query")

    def build(self, hidden_shape, memory_shape=None, mask_shape=None):
        self.query.build(hidden_shape)

    def call(self, hidden, memory, mask):
        scores = ops.matmul(self.query(hidden), ops.transpose(memory, (0, 2, 1)))
        weights = masked_softmax(scores, mask[:, None, :])
        context = ops.matmul(ops.cast(weights, memory.dtype), memory)
        return context, weights

    def get_config(self):
        return {**super().get_config(), "memory_dim": self.memory_dim}


@keras.saving.register_keras_serializable(package="seqapps")
class BahdanauDecoder(keras.layers.Layer):
    """The LSTM decoder with additive attention, stepped through time.

    ``keys`` (``W_1 h_s``) are computed once per sentence, outside this layer (the encoder
    returns them: a sublayer called from outside would appear twice in the model's config and
    be rebuilt twice from it); every step scores them against the previous state, and the
    context joins the word as LSTM input.
    """

    def __init__(self, units, memory_dim, attention_dim, **kwargs):
        super().__init__(**kwargs)
        self.units, self.memory_dim, self.attention_dim = units, memory_dim, attention_dim
        self.query = keras.layers.Dense(attention_dim, name="query")
        self.energy = keras.layers.Dense(1, use_bias=False, name="energy")
        self.cell = keras.layers.LSTMCell(units, name="lstm")

    def build(self, embedded_shape, h_shape=None, c_shape=None, memory_shape=None, keys_shape=None, mask_shape=None):
        self.query.build((None, self.units))
        self.energy.build((None, None, self.attention_dim))
        self.cell.build((None, embedded_shape[-1] + self.memory_dim))

    def step(self, embedded, h, c, memory, keys, mask):
        """One word: ``(new_h, new_c, context, weights)``."""
        energy = self.energy(ops.tanh(keys + ops.expand_dims(self.query(h), 1)))
        weights = ops.cast(masked_softmax(ops.squeeze(energy, -1), mask), memory.dtype)
        context = ops.sum(memory * ops.expand_dims(weights, -1), axis=1)
        _, (h, c) = self.cell(ops.concatenate([embedded, context], -1), [h, c])
        return h, c, context, weights

    def call(self, embedded, h, c, memory, keys, mask):
        """Teacher forcing over ``embedded [batch, steps, dim]``: states, contexts, weights per step."""
        # Keras' scan wants each step's outputs shaped like its carry, so the carry holds the
        # context and weights too (they are recomputed, never read, at the next step).
        def advance(carry, word):
            h, c, _, _ = carry
            carry = self.step(word, h, c, memory, keys, mask)
            return carry, carry

        # Every carry in the compute dtype: a float32 entry among float16 ones breaks scan's
        # gradient under mixed precision.
        start = (h, c, ops.zeros_like(memory[:, 0]), ops.zeros_like(ops.cast(mask, memory.dtype)))
        _, (hidden, _, context, weights) = ops.scan(advance, start, ops.transpose(embedded, (1, 0, 2)))
        return tuple(ops.transpose(value, (1, 0, 2)) for value in (hidden, context, weights))

    def compute_output_spec(self, embedded, h, c, memory, keys, mask):
        batch, steps = embedded.shape[0], embedded.shape[1]
        return (keras.KerasTensor((batch, steps, self.units), h.dtype),
                keras.KerasTensor((batch, steps, self.memory_dim), memory.dtype),
                keras.KerasTensor((batch, steps, memory.shape[1]), memory.dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "memory_dim": self.memory_dim,
                "attention_dim": self.attention_dim}


@keras.saving.register_keras_serializable(package="seqapps")
class SourceMask(keras.layers.Layer):
    """1.0 at real source tokens, 0.0 at padding: what attention may look at."""

    def call(self, source):
        return ops.cast(ops.not_equal(source, PAD_ID), "float32")


class Translator:
    """The layers of one translation model and the functional models built from them.

    ``get_weights``/``set_weights`` go through :attr:`training_model` (every layer), which
    is what checkpoints and the float32 export rebuild copy.
    """

    def __init__(self, *, source_vocab_size, target_vocab_size, embedding_dim=100, source_matrix=None,
                 trainable_embedding=True, target_embedding_dim=None, cell="lstm", bidirectional=True, layers=1,
                 units=256, attention="luong", attention_dim=256, dropout=0.2, use_cudnn="auto"):
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, not {attention!r}")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, not {cell!r}")
        self.attention, self.cell_name, self.units = attention, cell, units
        self.memory_dim = units * (2 if bidirectional else 1)
        source_dim = source_matrix.shape[1] if source_matrix is not None else embedding_dim
        self.source_embedding = make_embedding(source_vocab_size, source_dim, matrix=source_matrix,
                                               trainable=trainable_embedding, mask_zero=True, name="source_embedding")
        self.encoder_layers = []
        for index in range(layers):
            layer = CELLS[cell](units, return_sequences=True, return_state=index == layers - 1,
                                use_cudnn=use_cudnn, name=f"encoder_{cell}_{index + 1}")
            self.encoder_layers.append(keras.layers.Bidirectional(layer, name=f"encoder_{index + 1}")
                                       if bidirectional else layer)
        self.bridge_h = keras.layers.Dense(units, activation="tanh", name="bridge_h")
        self.bridge_c = keras.layers.Dense(units, activation="tanh", name="bridge_c")
        self.source_mask = SourceMask(name="source_mask")
        self.target_embedding = make_embedding(target_vocab_size, target_embedding_dim or source_dim, mask_zero=False,
                                               name="target_embedding")
        self.input_dropout = keras.layers.Dropout(dropout, name="input_dropout")
        self.encoder_dropout = keras.layers.Dropout(dropout, name="encoder_dropout")
        self.output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        if attention == "bahdanau":
            self.attention_keys = keras.layers.Dense(attention_dim, use_bias=False, name="keys")
            self.decoder = BahdanauDecoder(units, self.memory_dim, attention_dim, name="decoder")
        else:
            self.decoder = keras.layers.LSTM(units, return_sequences=True, use_cudnn=use_cudnn, name="decoder")
        if attention == "luong":
            self.luong = LuongAttention(self.memory_dim, name="attention")
        if attention != "none":
            self.attentional = keras.layers.Dense(units, activation="tanh", name="attentional")
        self.logits = keras.layers.Dense(target_vocab_size, dtype="float32", name="logits")
        self.never_generated = SuppressTokens((PAD_ID, UNK_ID, BOS_ID), name="never_generated")
        self.training_model = self._teacher_forced()

    # ------------------------------------------------------------------ pieces

    @property
    def state_names(self):
        """What the decoder carries from step to step (and the encoder returns)."""
        names = ("h", "c")
        if self.attention != "none":
            names += ("memory", "mask")
        if self.attention == "bahdanau":
            names += ("keys",)
        return names

    def encode(self, source, training=None):
        """Source ids -> the decoder's first state: ``h``, ``c`` (+ ``memory``, ``mask``, ``keys``)."""
        x = self.source_embedding(source)
        for layer in self.encoder_layers[:-1]:
            x = layer(x, training=training)
        memory, *final = self.encoder_layers[-1](x, training=training)
        # LSTM states come as (h, c) per direction, GRU as h: the h's summarise the sentence.
        summary = ops.concatenate(final[::2] if self.cell_name == "lstm" else final, -1) \
            if len(final) > 1 else final[0]
        state = {"h": self.bridge_h(summary), "c": self.bridge_c(summary)}
        if self.attention != "none":
            mask = self.source_mask(source)
            # Zero at padding, and a plain tensor: a Keras mask riding on the memory would
            # reach the step model, which has no use for it.
            memory = self.encoder_dropout(memory, training=training) * ops.cast(mask[:, :, None], memory.dtype)
            state.update(memory=memory, mask=mask)
        if self.attention == "bahdanau":
            state["keys"] = self.attention_keys(state["memory"])
        return state

    def _attend_all(self, embedded, state):
        """Teacher forcing: decoder outputs before the word layer, and attention weights (or None)."""
        if self.attention == "bahdanau":
            hidden, context, weights = self.decoder(embedded, state["h"], state["c"], state["memory"], state["keys"],
                                                    state["mask"])
            return self.attentional(ops.concatenate([context, hidden], -1)), weights
        hidden = self.decoder(embedded, initial_state=[state["h"], state["c"]])
        if self.attention == "none":
            return hidden, None
        context, weights = self.luong(hidden, state["memory"], state["mask"])
        return self.attentional(ops.concatenate([context, hidden], -1)), weights

    def _source_input(self):
        return keras.Input((None,), dtype="int32", name="source")

    def _teacher_forced(self):
        """Training graph: source ids and the translation so far -> logits for every next token."""
        source, target = self._source_input(), keras.Input((None,), dtype="int32", name="target_in")
        embedded = self.input_dropout(self.target_embedding(target))
        outputs, _ = self._attend_all(embedded, self.encode(source))
        logits = self.logits(self.output_dropout(outputs))
        return keras.Model({"source": source, "target_in": target}, {"logits": logits}, name="translator")

    # ------------------------------------------------------------------ inference models

    def encoder_model(self):
        source = self._source_input()
        return keras.Model({"source": source}, self.encode(source, training=False), name="encoder")

    def _state_inputs(self):
        state = {"h": keras.Input((self.units,), name="h"), "c": keras.Input((self.units,), name="c")}
        if self.attention != "none":
            state["memory"] = keras.Input((None, self.memory_dim), name="memory")
            state["mask"] = keras.Input((None,), name="mask")
        if self.attention == "bahdanau":
            state["keys"] = keras.Input((None, self.decoder.attention_dim), name="keys")
        return state

    def step_model(self):
        """``token`` + state -> ``log_probs`` of the next token, ``new_h``, ``new_c`` (+ ``attention``).

        The log-probabilities cover the words and [EOS] only (see ``SuppressTokens``). Output
        names differ from input names: ONNX graphs cannot have both called ``h``.
        """
        token = keras.Input((), dtype="int32", name="token")
        state = self._state_inputs()
        embedded = self.target_embedding(token)
        if self.attention == "bahdanau":
            h, c, context, weights = self.decoder.step(embedded, state["h"], state["c"], state["memory"],
                                                       state["keys"], state["mask"])
            hidden = self.attentional(ops.concatenate([context, h], -1))
        else:
            _, (h, c) = self.decoder.cell(embedded, [state["h"], state["c"]])
            hidden, weights = h, None
            if self.attention == "luong":
                context, weights = self.luong(h[:, None, :], state["memory"], state["mask"])
                context, weights = context[:, 0], weights[:, 0]
                hidden = self.attentional(ops.concatenate([context, h], -1))
        log_probs = ops.log_softmax(self.never_generated(self.logits(hidden)), axis=-1)
        outputs = {"log_probs": log_probs, "new_h": h, "new_c": c}
        if weights is not None:
            outputs["attention"] = weights
        return keras.Model({"token": token, **state}, outputs, name="decoder_step")

    def attention_model(self):
        """Replays given target tokens; returns the attention weights ``[batch, steps, source]``."""
        if self.attention == "none":
            raise ValueError("the model without attention has no attention weights")
        source, target = self._source_input(), keras.Input((None,), dtype="int32", name="target_in")
        _, weights = self._attend_all(self.target_embedding(target), self.encode(source, training=False))
        return keras.Model({"source": source, "target_in": target}, {"attention": weights}, name="attention_replay")

    # ------------------------------------------------------------------ weights

    def get_weights(self):
        return self.training_model.get_weights()

    def set_weights(self, weights):
        self.training_model.set_weights(weights)
