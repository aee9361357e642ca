"""Captions as words and ids: the suite's tokenizer without punctuation, plus [BOS]/[EOS].

Punctuation-only tokens are dropped from captions ("A dog runs ." is ``a dog runs``), as
is usual for captioning metrics: a final period would otherwise earn free BLEU-1 points.
References are cleaned the same way, so generated and reference words are comparable.
"""

import numpy as np

from shared.text import BOS_ID, EOS_ID, PAD_ID, Tokenizer, Vocabulary, tokenize
from shared.text import words_until_eos as words_from_ids  # noqa: F401  (the captioning name)


def caption_words(text):
    """Lowercased words of one caption, punctuation dropped."""
    return [token for token in tokenize(text) if any(char.isalnum() for char in token)]


def build_tokenizer(captions, *, min_count=2, max_words=20):
    """The vocabulary of the training captions (words seen ``min_count`` times or more)."""
    vocabulary = Vocabulary.build((caption_words(text) for text in captions), min_count=min_count)
    return Tokenizer(vocabulary, max_length=max_words + 2)


def max_words(tokenizer):
    return tokenizer.max_length - 2


def encode_captions(tokenizer, captions):
    """``int32 [n, max_words + 2]``: [BOS] words [EOS] [PAD]...; a truncated caption gets no [EOS].

    Teaching the model to stop where a long caption was cut would teach it to stop mid-sentence.
    """
    width = tokenizer.max_length
    matrix = np.full((len(captions), width), PAD_ID, dtype=np.int32)
    for row, text in enumerate(captions):
        ids = tokenizer.vocabulary.ids(caption_words(text))
        ending = [EOS_ID] if len(ids) <= width - 2 else []
        ids = [BOS_ID] + ids[: width - 2] + ending
        matrix[row, : len(ids)] = ids
    return matrix
