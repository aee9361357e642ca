"""The tagger: word2vec words + character CNN + case features, stacked BiLSTMs, CRF.

The architecture of Lample et al. (2016) and Ma & Hovy (2016): each token is the
concatenation of its (shared, pretrained) word vector, a max-pooled CNN over its
characters and a few case flags computed from those characters; bidirectional LSTMs read
the sentence; a linear layer scores every tag at every token (``emissions``), and a CRF
picks the best tag sequence (``tag_ids``). ``crf=False`` swaps the CRF for an independent
softmax per token, with the same two outputs.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from apps.ner.crf import CRF, CRFLoss
from shared.embeddings import make_embedding

CASE_FEATURES = ("initial_upper", "any_upper", "all_upper", "any_digit", "all_digit", "no_letters")


def char_classes(chars):
    """``[len(chars), 3]`` flags (upper, lower, digit) for each character of the vocabulary."""
    return np.array([[c.isupper(), c.islower(), c.isdigit()] for c in chars], np.float32)


def _lookup_without_padding(table, char_ids):
    """Rows of ``table`` for each character id, zeros for the padding id 0.

    Zeroing the table's first row and then gathering gives the same values as gathering and
    then multiplying by the character mask, without a multiply over every character of the
    batch.
    """
    real_rows = ops.cast(ops.arange(ops.shape(table)[0]) > 0, table.dtype)[:, None]
    return ops.take(table * real_rows, char_ids, axis=0)


def _has_chars(char_ids):
    """The token mask as the character input sees it: a real token has at least one character.

    Both character layers report it, so ``Concatenate`` (which ORs its inputs' masks,
    treating a missing mask as all true) passes the true token mask on to the LSTMs and CRF.
    """
    return ops.any(char_ids > 0, axis=-1)


@keras.saving.register_keras_serializable(package="seqapps")
class CaseFeatures(keras.layers.Layer):
    """Per-token case flags from character ids, so ONNX needs no third input.

    The character classes are a non-trainable weight filled from the character vocabulary.
    """

    def __init__(self, num_chars, **kwargs):
        super().__init__(**kwargs)
        self.num_chars = num_chars

    def build(self, input_shape):
        # 0/1 flags, counted in float32 whatever the policy (never autocast to float16)
        self.classes = self.add_weight(shape=(self.num_chars, 3), initializer="zeros", trainable=False,
                                       name="char_classes", dtype="float32", autocast=False)

    def call(self, char_ids):
        real = ops.cast(char_ids > 0, "float32")
        flags = _lookup_without_padding(self.classes, char_ids)
        upper, lower, digit = flags[..., 0], flags[..., 1], flags[..., 2]
        length, uppers, lowers, digits = (ops.sum(x, axis=-1) for x in (real, upper, lower, digit))
        letters = uppers + lowers
        features = [upper[..., 0], ops.minimum(uppers, 1.0), ops.cast((uppers == letters) & (letters > 0), "float32"),
                    ops.minimum(digits, 1.0), ops.cast((digits == length) & (length > 0), "float32"),
                    ops.cast((letters == 0) & (length > 0), "float32")]
        return ops.cast(ops.stack(features, axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], len(CASE_FEATURES))

    def compute_mask(self, char_ids, mask=None):
        return _has_chars(char_ids)

    def get_config(self):
        return {**super().get_config(), "num_chars": self.num_chars}


@keras.saving.register_keras_serializable(package="seqapps")
class CharCNN(keras.layers.Layer):
    """Character embedding, a convolution along each word, max over its characters."""

    def __init__(self, num_chars, char_dim=30, filters=50, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.num_chars, self.char_dim, self.filters, self.kernel_size = num_chars, char_dim, filters, kernel_size
        self.embedding = keras.layers.Embedding(num_chars, char_dim, name="char_embedding")
        # A (1, k) Conv2D over [batch, time, chars, dim] convolves along the characters of
        # every word at once, with no reshape of the dynamic batch and time axes.
        self.conv = keras.layers.Conv2D(filters, (1, kernel_size), padding="same", activation="tanh", name="char_conv")

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.conv.build((*input_shape, self.char_dim))

    def call(self, char_ids):
        # Padding characters enter the convolution as zeros, the same zeros "same" padding
        # adds at a word's end: a word's features must not depend on how long the longest
        # word of its batch is.
        chars = ops.cast(_lookup_without_padding(self.embedding.embeddings, char_ids), self.compute_dtype)
        features = self.conv(chars)
        # the max over a word's real characters: tanh features are at least -1, so padding,
        # pushed down by 1e4 (0 on real characters, exactly), is never the maximum
        padding = ops.cast(char_ids == 0, self.compute_dtype)[..., None]
        pooled = ops.max(features + ops.cast(-1e4, self.compute_dtype) * padding, axis=2)
        return pooled * ops.cast(_has_chars(char_ids), self.compute_dtype)[..., None]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.filters)

    def compute_mask(self, char_ids, mask=None):
        return _has_chars(char_ids)

    def get_config(self):
        return {**super().get_config(), "num_chars": self.num_chars, "char_dim": self.char_dim,
                "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="seqapps")
class WordDropout(keras.layers.Layer):
    """In training, replace a random share of word ids with [UNK].

    Without it the [UNK] vector never sees a gradient (every training word is in the
    vocabulary), yet every unseen test word is looked up as [UNK]. Characters are untouched,
    so the model learns to tag unknown words from their spelling and context.
    """

    def __init__(self, rate, unk_id=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.unk_id, self.seed = rate, unk_id, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, word_ids, training=False):
        if not training or self.rate <= 0:
            return word_ids
        drop = keras.random.uniform(ops.shape(word_ids), seed=self.seed_generator) < self.rate
        return ops.where(drop & (word_ids > 0), ops.full_like(word_ids, self.unk_id), word_ids)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "unk_id": self.unk_id, "seed": self.seed}


@keras.saving.register_keras_serializable(package="seqapps")
class SoftmaxDecode(keras.layers.Layer):
    """Argmax per token, 0 on padding: the ``tag_ids`` of the softmax head."""

    def call(self, emissions, mask=None):
        tags = tf.math.argmax(emissions, axis=-1, output_type=tf.int32)
        return tags if mask is None else ops.where(mask, tags, ops.zeros_like(tags))

    def compute_output_spec(self, emissions, mask=None):
        return keras.KerasTensor(emissions.shape[:2], dtype="int32")

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="seqapps")
class DropMask(keras.layers.Layer):
    """Pass a tensor on without its Keras mask: losses read padding from the -1 targets."""

    def call(self, x):
        # A new tensor: returning ``x`` itself would keep the mask attached to it.
        return ops.multiply(x, ops.ones((), x.dtype))

    def compute_mask(self, inputs, mask=None):
        return None


def build_model(*, vocab_size, num_chars, num_tags, char_classes_table=None, embedding_dim=100,
                embedding_matrix=None, trainable_embedding=True, char_features=True, char_dim=30,
                char_filters=50, units=100, layers=1, dropout=0.5, word_dropout=0.1, crf=True, use_cudnn="auto"):
    """``word_ids`` ``[batch, time]`` and ``char_ids`` ``[batch, time, chars]`` to emissions and tags."""
    word_ids = keras.Input(shape=(None,), dtype="int32", name="word_ids")
    char_ids = keras.Input(shape=(None, None), dtype="int32", name="char_ids")
    words = WordDropout(word_dropout, name="word_dropout")(word_ids) if word_dropout else word_ids
    parts = [make_embedding(vocab_size, embedding_dim, matrix=embedding_matrix, trainable=trainable_embedding,
                            mask_zero=True, name="word_embedding")(words)]
    case = CaseFeatures(num_chars, name="case_features")
    parts.append(case(char_ids))
    if char_classes_table is not None:
        case.set_weights([char_classes_table])
    if char_features:
        parts.append(CharCNN(num_chars, char_dim, char_filters, name="char_cnn")(char_ids))
    x = keras.layers.Concatenate(name="token_features")(parts)
    x = keras.layers.Dropout(dropout, name="input_dropout")(x)
    for index in range(layers):
        lstm = keras.layers.LSTM(units, return_sequences=True, use_cudnn=use_cudnn, name=f"lstm_{index + 1}")
        x = keras.layers.Bidirectional(lstm, name=f"bilstm_{index + 1}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{index + 1}")(x)
    scores = keras.layers.Dense(num_tags, dtype="float32", name="tag_scores")(x)
    # float32 under mixed precision too: Viterbi sums scores over the whole sentence
    tag_ids = (CRF(num_tags, dtype="float32", name="crf") if crf else SoftmaxDecode(name="softmax_decode"))(scores)
    emissions = DropMask(dtype="float32", name="emissions")(scores)
    return keras.Model({"word_ids": word_ids, "char_ids": char_ids}, {"emissions": emissions, "tag_ids": tag_ids},
                       name="ner_tagger")


def tagging_loss(model):
    """CRF negative log-likelihood, or token cross-entropy for the softmax head (-1 is padding)."""
    crf = next((layer for layer in model.layers if isinstance(layer, CRF)), None)
    if crf is not None:
        return CRFLoss(crf)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
