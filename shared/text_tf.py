"""The tokenizer of ``shared/text.py`` as TensorFlow graph ops, for exported serving graphs.

A SavedModel that takes raw strings carries this code in its graph, so TensorFlow Serving
tokenises exactly as training did. Each step mirrors one rule of the reference in
``shared/text.py``; tests assert token-for-token equality on hard strings. The graph uses
``tensorflow_text.normalize_utf8`` (ICU), so Python loaders need ``import tensorflow_text``
before ``tf.saved_model.load``; TensorFlow Serving links those ops already.
"""

import tensorflow as tf
import tensorflow_text as tf_text

from shared.text import BOS_ID, DETOKENIZE_RULES, EOS_ID, LINE_BREAK_PATTERN, PAD_ID, SPECIAL_TOKENS, UNK_ID

_DROP = r"\p{Cf}"
_SPACES = r"[\p{Z}\p{Cc}]+"
_SPLIT = r"([^\p{L}\p{M}\p{N} ])"


def normalize_graph(texts, config):
    """Rules 1 to 3 on a string tensor of any shape."""
    texts = tf_text.normalize_utf8(texts, config.unicode_form)
    if config.strip_line_breaks:
        texts = tf.strings.regex_replace(texts, LINE_BREAK_PATTERN, " ")
    if config.lowercase:
        # tf.strings.lower stops at a NUL byte; NUL becomes a space under rule 5 anyway.
        texts = tf.strings.regex_replace(texts, r"\x00", " ")
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


def tokenize_graph(texts, config):
    """A ``[batch]`` string tensor to a ``[batch, (tokens)]`` ragged string tensor."""
    texts = normalize_graph(texts, config)
    texts = tf.strings.regex_replace(texts, _DROP, "")
    texts = tf.strings.regex_replace(texts, _SPACES, " ")
    texts = tf.strings.regex_replace(texts, _SPLIT, r" \1 ")
    return tf.strings.split(texts)


class TokenIds(tf.Module):
    """Raw strings in, right-padded int32 ids out: the graph twin of ``Tokenizer.encode_batch``.

    A ``tf.Module`` (not a Keras layer) so that its lookup table is tracked and saved with
    any SavedModel that references it.
    """

    def __init__(self, tokenizer, *, add_bos=False, add_eos=False, name="token_ids"):
        super().__init__(name=name)
        self.config = tokenizer.config
        self.max_length = tokenizer.max_length
        self.add_bos = add_bos
        self.add_eos = add_eos
        tokens = tokenizer.vocabulary.tokens
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(tokens, tf.string), tf.range(len(tokens), dtype=tf.int64)
            ),
            default_value=UNK_ID,
        )

    def tokens(self, texts):
        return tokenize_graph(texts, self.config)

    def __call__(self, texts):
        ids = tf.ragged.map_flat_values(self.table.lookup, self.tokens(texts))
        ids = tf.cast(ids, tf.int32)
        budget = self.max_length - int(self.add_bos) - int(self.add_eos)
        ids = ids[:, :budget]
        batch = ids.nrows()
        if self.add_bos:
            ids = tf.concat([self._column(batch, BOS_ID), ids], axis=1)
        if self.add_eos:
            ids = tf.concat([ids, self._column(batch, EOS_ID)], axis=1)
        longest = tf.reduce_max(tf.concat([ids.row_lengths(), tf.constant([1], tf.int64)], 0))
        return ids.to_tensor(default_value=PAD_ID, shape=tf.stack([batch, longest]))

    @staticmethod
    def _column(batch, value):
        return tf.RaggedTensor.from_tensor(tf.fill(tf.stack([batch, 1]), tf.constant(value, tf.int32)))


def join_until_eos(token_ids, vocabulary, *, detokenize=False):
    """Generated ids ``[batch, steps]`` -> one string per row: tokens up to [EOS], specials dropped.

    The graph twin of ``" ".join(words_until_eos(...))``, or of ``detokenize(words_until_eos(...))``
    with ``detokenize=True``.
    """
    words = tf.gather(tf.constant(list(vocabulary)), token_ids)
    before_end = tf.math.cumsum(tf.cast(tf.equal(token_ids, EOS_ID), tf.int32), axis=1, exclusive=True) == 0
    keep = tf.logical_and(before_end, token_ids >= len(SPECIAL_TOKENS))
    texts = tf.strings.reduce_join(tf.ragged.boolean_mask(words, keep), axis=1, separator=" ")
    if detokenize:
        for pattern, replacement in DETOKENIZE_RULES:
            texts = tf.strings.regex_replace(texts, pattern, replacement)
    return texts
