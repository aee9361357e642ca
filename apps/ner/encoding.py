"""Tokens to model inputs: word ids that share vectors, character ids that keep the case.

A tagger needs case ("Apple" the company, "apple" the fruit), but word vectors are best
shared across case and across numbers. So each token feeds the model twice:

* ``word_ids``: the token lowercased with every ASCII digit replaced by ``0`` (so
  "1996-08-22" and "1997-01-05" share one vector), looked up in the word vocabulary;
* ``char_ids``: the token's characters, case kept, looked up in a character vocabulary;
  the model also derives case features (initial capital, all caps, digits) from them.

:class:`NerEncoder` is the pure-Python reference (training, ONNX clients) and
:class:`apps.ner.encoding_tf.NerInputs` its TensorFlow twin inside the exported SavedModel. Both first apply
the suite's Unicode normalisation to each token, and raw sentences are split with the
suite's tokenizer, case kept. Everything an ONNX user needs is in one JSON spec. This
module imports no TensorFlow, so clients can encode without it.
"""

import json
import re
import unicodedata

import numpy as np

from shared.atomic import write_json
from shared.errors import DataError
from shared.text import PAD, PAD_ID, UNK, UNK_ID, TextConfig, tokenize

FORMAT = "seqapps-ner-inputs"
VERSION = 1
TEXT_CONFIG = TextConfig(unicode_form="NFKC", lowercase=False, strip_line_breaks=True)
DIGITS = "[0-9]"
_DIGITS_RE = re.compile(DIGITS)
SPECIALS = (PAD, UNK)


def word_key(token):
    """The form a token is looked up by in the word vocabulary."""
    return _DIGITS_RE.sub("0", unicodedata.normalize(TEXT_CONFIG.unicode_form, token).lower())


def token_chars(token):
    return list(unicodedata.normalize(TEXT_CONFIG.unicode_form, token))


def _ranked(counter, min_count=1, max_size=None):
    ranked = sorted((k for k, c in counter.items() if c >= min_count), key=lambda k: (-counter[k], k))
    return ranked if max_size is None else ranked[:max_size]


class NerEncoder:
    """Word and character vocabularies plus the rules that turn tokens into ids."""

    def __init__(self, words, chars, *, max_chars=20):
        self.words = list(words)
        self.chars = list(chars)
        self.max_chars = max_chars
        for name, vocabulary in (("words", self.words), ("chars", self.chars)):
            if tuple(vocabulary[:2]) != SPECIALS:
                raise ValueError(f"{name} must start with {SPECIALS}")
        self._word_ids = {w: i for i, w in enumerate(self.words)}
        self._char_ids = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def build(cls, token_lists, *, extra_words=(), max_words=None, max_chars=20):
        """Vocabularies from training tokens, plus ``extra_words`` (words that have vectors).

        Every training word is kept; ``extra_words`` (most frequent first) fill the
        vocabulary up to ``max_words``, so a test word never seen in training still gets
        its pretrained vector instead of [UNK].
        """
        import collections

        word_counts, char_counts = collections.Counter(), collections.Counter()
        for tokens in token_lists:
            word_counts.update(word_key(t) for t in tokens)
            for token in tokens:
                char_counts.update(token_chars(token))
        words = [w for w in _ranked(word_counts) if w not in SPECIALS]
        seen = set(words) | set(SPECIALS)
        for word in map(word_key, extra_words):
            if max_words is not None and len(words) >= max_words:
                break
            if word not in seen:
                seen.add(word)
                words.append(word)
        chars = [c for c in _ranked(char_counts) if c not in SPECIALS]
        return cls(list(SPECIALS) + words, list(SPECIALS) + chars, max_chars=max_chars)

    def tokenize(self, text):
        """Split a raw sentence into tokens (case kept), exactly as the SavedModel does."""
        return tokenize(text, config=TEXT_CONFIG)

    def word_ids(self, tokens):
        return [self._word_ids.get(word_key(t), UNK_ID) for t in tokens]

    def char_ids(self, token):
        return [self._char_ids.get(c, UNK_ID) for c in token_chars(token)[: self.max_chars]]

    def encode_batch(self, token_lists):
        """``{"word_ids": [batch, time], "char_ids": [batch, time, chars]}`` int32, zero-padded.

        Time is the longest sentence (at least 1), chars the longest word (at least 1,
        at most ``max_chars``): the same shapes the SavedModel builds.
        """
        time = max([len(tokens) for tokens in token_lists] + [1])
        width = max([min(len(token_chars(t)), self.max_chars) for tokens in token_lists for t in tokens] + [1])
        words = np.zeros((len(token_lists), time), np.int32)
        chars = np.zeros((len(token_lists), time, width), np.int32)
        for row, tokens in enumerate(token_lists):
            words[row, : len(tokens)] = self.word_ids(tokens)
            for column, token in enumerate(tokens):
                ids = self.char_ids(token)
                chars[row, column, : len(ids)] = ids
        return {"word_ids": words, "char_ids": chars}

    def coverage_counts(self, token_lists):
        """``(known, total)`` tokens: how much of some text the word vocabulary covers."""
        total = known = 0
        for tokens in token_lists:
            total += len(tokens)
            known += sum(1 for i in self.word_ids(tokens) if i != UNK_ID)
        return known, total

    def to_dict(self):
        return {
            "format": FORMAT,
            "version": VERSION,
            "sentence_splitting": {"tokenizer": "seqapps-tokenizer rules, case kept",
                                   "unicode_form": TEXT_CONFIG.unicode_form, "lowercase": False,
                                   "strip_line_breaks": TEXT_CONFIG.strip_line_breaks},
            "word_key": {"unicode_form": TEXT_CONFIG.unicode_form, "lowercase": True,
                         "digits": DIGITS, "digit_replacement": "0"},
            "max_chars": self.max_chars,
            "special_ids": {"pad": PAD_ID, "unk": UNK_ID},
            "words": self.words,
            "chars": self.chars,
        }

    def save(self, path):
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, spec, source="<ner inputs>"):
        if spec.get("format") != FORMAT or spec.get("version") != VERSION:
            raise DataError(source, f"not a {FORMAT} v{VERSION} file (format={spec.get('format')!r}, "
                                    f"version={spec.get('version')!r}): re-export the model")
        return cls(spec["words"], spec["chars"], max_chars=int(spec["max_chars"]))

    @classmethod
    def load(cls, path):
        try:
            spec = json.loads(open(path, encoding="utf-8").read())
        except FileNotFoundError:
            raise DataError(path, "NER inputs spec not found") from None
        except json.JSONDecodeError as error:
            raise DataError(path, f"invalid JSON: {error.msg}", line=error.lineno) from None
        return cls.from_dict(spec, source=str(path))
