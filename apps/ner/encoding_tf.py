"""The graph twin of :class:`apps.ner.encoding.NerEncoder`, for strings entering a SavedModel."""

import tensorflow as tf
import tensorflow_text as tf_text

from apps.ner.encoding import DIGITS, TEXT_CONFIG
from shared.text import PAD_ID, UNK_ID
from shared.text_tf import tokenize_graph


def _lookup_table(keys):
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys, tf.string), tf.range(len(keys), dtype=tf.int64)),
        default_value=UNK_ID)


def _longest(lengths):
    return tf.reduce_max(tf.concat([lengths, tf.constant([1], tf.int64)], 0))


class NerInputs(tf.Module):
    """Tokens (ragged strings) in, the model's padded ``word_ids`` and ``char_ids`` out.

    A ``tf.Module`` so that its two lookup tables are tracked and saved with the SavedModel.
    """

    def __init__(self, encoder, name="ner_inputs"):
        super().__init__(name=name)
        self.max_chars = encoder.max_chars
        self.word_table = _lookup_table(encoder.words)
        self.char_table = _lookup_table(encoder.chars)

    def tokenize(self, texts):
        """``[batch]`` sentences to ``[batch, (tokens)]`` ragged tokens, case kept."""
        return tokenize_graph(texts, TEXT_CONFIG)

    def __call__(self, tokens):
        tokens = tf.ragged.map_flat_values(tf_text.normalize_utf8, tokens, TEXT_CONFIG.unicode_form)
        keys = tf.ragged.map_flat_values(
            lambda t: tf.strings.regex_replace(tf.strings.lower(t, encoding="utf-8"), DIGITS, "0"), tokens)
        words = tf.cast(tf.ragged.map_flat_values(self.word_table.lookup, keys), tf.int32)
        chars = tf.strings.unicode_split(tokens, "UTF-8")[:, :, : self.max_chars]
        chars = tf.cast(tf.ragged.map_flat_values(self.char_table.lookup, chars), tf.int32)
        batch = words.nrows()
        time = _longest(words.row_lengths())
        width = _longest(chars.values.row_lengths())
        return {
            "word_ids": words.to_tensor(default_value=PAD_ID, shape=tf.stack([batch, time])),
            "char_ids": chars.to_tensor(default_value=PAD_ID, shape=tf.stack([batch, time, width])),
        }
