"""Interpolated Kneser-Ney trigram model over token ids: the language model's baseline.

It reads the same id lists as the neural model (the same tokenizer and vocabulary, so the
same ``[UNK]`` mapping) and scores the same targets: each document is ``[BOS] [BOS] ids
[EOS]``, every id and the final ``[EOS]`` is predicted from the two before it, and ``[BOS]``
is never a target. Perplexities of the two models are therefore directly comparable.

The estimate is interpolated Kneser-Ney with one absolute discount per order (Chen &
Goodman, 1998, section 3.5; ``D = n1 / (n1 + 2 n2)`` from the counts of counts):

* trigram: ``max(c(uvw) - D3, 0) / c(uv.) + D3 N1+(uv.) / c(uv.) * P2(w | v)``;
* bigram, on *continuation* counts ``N1+(.vw)`` (how many distinct words precede ``vw``):
  ``max(N1+(.vw) - D2, 0) / N1+(.v.) + D2 N1+(v.) / N1+(.v.) * P1(w)``;
* unigram, on ``N1+(.w)``, interpolated with the uniform distribution over the whole
  vocabulary, so every id (unseen words, even ``[PAD]``) gets some mass and each level's
  distribution sums to 1.

An unseen context falls back to the next lower order whole.
"""

import math
from collections import Counter

import numpy as np

from shared.text import BOS_ID, EOS_ID


def _discount(counts):
    """``n1 / (n1 + 2 n2)`` over a Counter's values; 0.5 when there is nothing to go by."""
    values = Counter(counts.values())
    n1, n2 = values.get(1, 0), values.get(2, 0)
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5


def padded(ids):
    """A document as the trigram model reads it."""
    return [BOS_ID, BOS_ID, *map(int, ids), EOS_ID]


class KneserNeyTrigram:
    """Fit with :meth:`fit` on id lists; :meth:`prob`, :meth:`distribution`, :meth:`score`."""

    def __init__(self, vocab_size):
        self.vocab_size = int(vocab_size)

    def fit(self, documents):
        trigrams = Counter()
        for ids in documents:
            sequence = padded(ids)
            trigrams.update(zip(sequence, sequence[1:], sequence[2:]))
        self._count_trigrams(trigrams)
        self._count_bigram_continuations(trigrams)
        return self

    def _count_trigrams(self, trigrams):
        self.trigrams = trigrams
        self.context_total, self.context_types = Counter(), Counter()
        for (u, v, _), count in trigrams.items():
            self.context_total[u, v] += count
            self.context_types[u, v] += 1
        self.d3 = _discount(trigrams)

    def _count_bigram_continuations(self, trigrams):
        """``N1+(.vw)`` from distinct trigram types, then the unigram continuations ``N1+(.w)``."""
        self.bigrams = Counter((v, w) for (_, v, w) in trigrams)
        self.middle_total, self.middle_types = Counter(), Counter()
        for (v, _), count in self.bigrams.items():
            self.middle_total[v] += count
            self.middle_types[v] += 1
        self.d2 = _discount(self.bigrams)
        self.unigrams = Counter(w for (_, w) in self.bigrams)
        self.unigram_total = sum(self.unigrams.values())
        self.d1 = _discount(self.unigrams)
        self._unigram_table = np.array([self._unigram(w) for w in range(self.vocab_size)])

    def _unigram(self, w):
        uniform = 1.0 / self.vocab_size
        if not self.unigram_total:
            return uniform
        seen = max(self.unigrams.get(w, 0) - self.d1, 0.0) / self.unigram_total
        return seen + self.d1 * len(self.unigrams) / self.unigram_total * uniform

    def _bigram(self, w, v):
        lower = self._unigram_table[w] if 0 <= w < self.vocab_size else 0.0
        total = self.middle_total.get(v, 0)
        if not total:
            return lower
        seen = max(self.bigrams.get((v, w), 0) - self.d2, 0.0) / total
        return seen + self.d2 * self.middle_types[v] / total * lower

    def prob(self, w, u, v):
        """``P(w | u v)``."""
        lower = self._bigram(w, v)
        total = self.context_total.get((u, v), 0)
        if not total:
            return lower
        seen = max(self.trigrams.get((u, v, w), 0) - self.d3, 0.0) / total
        return seen + self.d3 * self.context_types[u, v] / total * lower

    def distribution(self, u, v):
        """``P(. | u v)`` over the whole vocabulary, as an array (for tests and sampling)."""
        return np.array([self.prob(w, u, v) for w in range(self.vocab_size)])

    def score(self, ids):
        """``(log_prob, tokens)`` of one document: natural log, ``len(ids) + 1`` targets."""
        sequence = padded(ids)
        log_prob = sum(math.log(self.prob(w, u, v)) for u, v, w in zip(sequence, sequence[1:], sequence[2:]))
        return log_prob, len(sequence) - 2

    def evaluate(self, documents):
        """Summed log-probability and target count over documents, and the perplexity."""
        log_prob, tokens = 0.0, 0
        for ids in documents:
            document_log_prob, count = self.score(ids)
            log_prob += document_log_prob
            tokens += count
        return {"log_prob": log_prob, "tokens": tokens,
                "perplexity": math.exp(-log_prob / tokens) if tokens else float("nan")}


def describe(model):
    return (f"interpolated Kneser-Ney trigram (discounts D1 {model.d1:.3f}, D2 {model.d2:.3f}, D3 {model.d3:.3f}; "
            f"{len(model.trigrams):,} trigram types)")

