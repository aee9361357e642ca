"""Text normalisation, word tokenisation and vocabularies: the pure-Python reference.

Every text app tokenises with this module in training, and the exported serving graph
tokenises with its TensorFlow twin in ``shared/text_tf.py``. The two must give the same
tokens for any input, so the rules are deliberately few and each one is written so that
both Python's ``re``/``unicodedata`` and TensorFlow's RE2/ICU ops implement it exactly:

1. Unicode normalisation (NFKC by default: full-width letters, ligatures and compatibility
   digits become their plain forms; accents are kept, composed).
2. HTML line breaks (``<br />``, common in scraped reviews) become spaces.
3. Optional lowercasing with Unicode's full mapping (``"ΣΑΣ"`` becomes ``"σας"``).
4. Invisible format characters (Unicode category Cf: zero-width spaces, soft hyphens, BOMs)
   are removed.
5. Every separator (categories Z*) and control character (Cc) becomes a space.
6. Every character that is not a letter, mark or number (L*, M*, N*) becomes a token of its
   own: punctuation and symbols split off words, ``"don't"`` is ``don ' t``.
7. Split on spaces.

This module imports nothing heavier than the standard library, so that clients and tests
can tokenise without TensorFlow. Characters unassigned in Python's Unicode database
(``unicodedata.unidata_version``) may be classified differently by TensorFlow's newer
tables; they are the one documented exception to parity.
"""

import collections
import json
import re
import unicodedata
from dataclasses import dataclass, field

from shared.atomic import write_json
from shared.errors import DataError

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

TOKENIZER_FORMAT = "seqapps-tokenizer"
TOKENIZER_VERSION = 1

# The same pattern string is compiled by Python's re and by RE2 inside TensorFlow: it only
# uses syntax whose meaning is identical in both engines (no \s, \w or case-insensitive flags).
LINE_BREAK_PATTERN = r"<[bB][rR][ \t\n\r\f\v]*/?>"
_LINE_BREAK_RE = re.compile(LINE_BREAK_PATTERN)

_WORD_CATEGORIES = ("L", "M", "N")

# Rules 4 to 6 as the tokenizer spec states them (a trailing * matches a whole category group).
SPLITTING_RULES = {
    "remove_categories": ["Cf"],
    "space_categories": ["Zs", "Zl", "Zp", "Cc"],
    "word_categories": ["L*", "M*", "N*"],
}

# Detokenisation: generated tokens back to text ("¿ dónde está ?" -> "¿dónde está?"). Each
# rule is a (pattern, replacement) pair that Python's re and TensorFlow's RE2 read alike,
# applied in order to the tokens joined by single spaces. Closing punctuation attaches to
# the word before it, opening punctuation to the word after it, and apostrophes, hyphens
# and slashes join their neighbours ("don ' t" -> "don't", "t - shirt" -> "t-shirt"; a
# dash that stood between spaces is joined too: tokens no longer say which it was). Double
# quotes stay spaced: whether one opens or closes is ambiguous.
DETOKENIZE_RULES = (
    (r" ([.,!?;:%)\]}»…])", r"\1"),
    (r"([¿¡(\[{«]) ", r"\1"),
    (r" (['’/-]) ", r"\1"),
)


@dataclass(frozen=True)
class TextConfig:
    """How raw text becomes tokens; stored in the tokenizer JSON beside every model."""

    unicode_form: str = "NFKC"
    lowercase: bool = True
    strip_line_breaks: bool = True

    def __post_init__(self):
        if self.unicode_form not in ("NFC", "NFKC", "NFD", "NFKD"):
            raise ValueError(f"unicode_form must be NFC, NFKC, NFD or NFKD, not {self.unicode_form!r}")


def _char_class(char):
    """'drop', 'space', 'word' or 'split' for one character, by its Unicode category."""
    category = unicodedata.category(char)
    if category == "Cf":
        return "drop"
    if category[0] == "Z" or category == "Cc":
        return "space"
    if category[0] in _WORD_CATEGORIES:
        return "word"
    return "split"


def normalize(text, config=TextConfig()):
    """Apply rules 1 to 3 (Unicode form, line breaks, case) to one string."""
    text = unicodedata.normalize(config.unicode_form, text)
    if config.strip_line_breaks:
        text = _LINE_BREAK_RE.sub(" ", text)
    if config.lowercase:
        text = text.lower()
    return text


def tokenize(text, *, lowercase=True, config=None):
    """Split one string into word and punctuation tokens (rules 1 to 7 above)."""
    config = config or TextConfig(lowercase=lowercase)
    pieces = []
    for char in normalize(text, config):
        kind = _char_class(char)
        if kind == "word":
            pieces.append(char)
        elif kind == "split":
            pieces.append(f" {char} ")
        elif kind == "space":
            pieces.append(" ")
    return [token for token in "".join(pieces).split(" ") if token]


def detokenize(tokens):
    """Tokens to one string by :data:`DETOKENIZE_RULES`; ``shared.text_tf`` has the graph twin."""
    text = " ".join(tokens)
    for pattern, replacement in DETOKENIZE_RULES:
        text = re.sub(pattern, replacement, text)
    return text


def words_until_eos(tokenizer, ids):
    """Generated ids -> tokens, stopping at [EOS]; other special tokens are dropped."""
    words = []
    for index in ids:
        token = tokenizer.vocabulary.token(int(index))
        if token == EOS:
            break
        if token not in SPECIAL_TOKENS:
            words.append(token)
    return words


def length_note(lengths, limit, *, what, flag):
    """One log line counting the ``lengths`` cut at ``limit`` or equal to 0; None if neither.

    A cut text and an empty one are both trained on as if they were whole, so a run always
    says how many there were (the longest length tells whether ``flag`` is worth raising).
    """
    lengths = list(lengths)
    cut = [length for length in lengths if length > limit]
    empty = sum(length == 0 for length in lengths)
    pieces = []
    if cut:
        pieces.append(f"{len(cut):,} of {len(lengths):,} {what} are longer than {flag} {limit} and were cut "
                      f"(longest: {max(cut):,})")
    if empty:
        pieces.append(f"{empty:,} {what} have no tokens at all")
    return "; ".join(pieces) or None


@dataclass
class Vocabulary:
    """Token <-> id mapping with the four special tokens first: [PAD]=0, [UNK]=1, [BOS], [EOS]."""

    tokens: list
    counts: dict = field(default_factory=dict)

    def __post_init__(self):
        if tuple(self.tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {SPECIAL_TOKENS}")
        self._ids = {token: index for index, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def build(cls, token_lists, *, max_size=None, min_count=1):
        """Most frequent tokens first (ties broken alphabetically, so builds are reproducible)."""
        counter = collections.Counter()
        for tokens in token_lists:
            counter.update(tokens)
        for special in SPECIAL_TOKENS:
            counter.pop(special, None)
        ranked = sorted((t for t, c in counter.items() if c >= min_count), key=lambda t: (-counter[t], t))
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(SPECIAL_TOKENS))]
        return cls(list(SPECIAL_TOKENS) + ranked, {t: counter[t] for t in ranked})

    def __len__(self):
        return len(self.tokens)

    def __contains__(self, token):
        return token in self._ids

    def id(self, token):
        return self._ids.get(token, UNK_ID)

    def ids(self, tokens):
        return [self._ids.get(token, UNK_ID) for token in tokens]

    def token(self, index):
        return self.tokens[index] if 0 <= index < len(self.tokens) else UNK


@dataclass
class Tokenizer:
    """Normalisation rules plus vocabulary: everything needed to turn text into model ids.

    Saved as one JSON file (the tokenizer spec) that ships beside every exported model, so
    that any runtime can reproduce the ids the model was trained on.
    """

    vocabulary: Vocabulary
    config: TextConfig = TextConfig()
    max_length: int = 256

    def tokenize(self, text):
        return tokenize(text, config=self.config)

    def encode(self, text, *, add_bos=False, add_eos=False):
        """Token ids of one text, truncated to ``max_length`` (special tokens included)."""
        ids = self.vocabulary.ids(self.tokenize(text))
        budget = self.max_length - add_bos - add_eos
        ids = ids[:budget]
        return ([BOS_ID] if add_bos else []) + ids + ([EOS_ID] if add_eos else [])

    def encode_batch(self, texts, **kwargs):
        """Right-padded id matrix (list of lists) as long as the longest text, at least 1."""
        rows = [self.encode(text, **kwargs) for text in texts]
        width = max([len(row) for row in rows] + [1])
        return [row + [PAD_ID] * (width - len(row)) for row in rows]

    def decode(self, ids, *, skip_special=True):
        tokens = (self.vocabulary.token(i) for i in ids)
        return [t for t in tokens if not (skip_special and t in SPECIAL_TOKENS)]

    def to_dict(self):
        return {
            "format": TOKENIZER_FORMAT,
            "version": TOKENIZER_VERSION,
            "normalization": {
                "unicode_form": self.config.unicode_form,
                "lowercase": self.config.lowercase,
                "strip_line_breaks": self.config.strip_line_breaks,
                "line_break_pattern": LINE_BREAK_PATTERN,
            },
            "splitting": {**SPLITTING_RULES, "other_characters": "each a token of its own",
                          "unicode_version": unicodedata.unidata_version},
            "max_length": self.max_length,
            "special_tokens": {"pad": PAD, "unk": UNK, "bos": BOS, "eos": EOS},
            "special_ids": {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID},
            "vocabulary": self.vocabulary.tokens,
        }

    def save(self, path):
        """Write the tokenizer spec atomically (a crash never leaves half a file)."""
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, spec, source="<tokenizer>"):
        if spec.get("format") != TOKENIZER_FORMAT:
            raise DataError(source, f"not a {TOKENIZER_FORMAT} file (format={spec.get('format')!r})")
        if spec.get("version") != TOKENIZER_VERSION:
            raise DataError(
                source,
                f"tokenizer version {spec.get('version')!r} is not supported; "
                f"this seqapps reads version {TOKENIZER_VERSION}: re-export the model",
            )
        splitting = {key: spec.get("splitting", {}).get(key) for key in SPLITTING_RULES}
        if splitting != SPLITTING_RULES:
            raise DataError(source, f"splitting rules {splitting} are not the ones this seqapps implements "
                                    f"({SPLITTING_RULES}): re-export the model")
        try:
            norm = spec["normalization"]
            config = TextConfig(norm["unicode_form"], norm["lowercase"], norm["strip_line_breaks"])
            return cls(Vocabulary(list(spec["vocabulary"])), config, int(spec["max_length"]))
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(source, f"malformed tokenizer spec ({type(error).__name__}: {error}): "
                                    "re-export the model") from None

    @classmethod
    def load(cls, path):
        try:
            with open(path, encoding="utf-8") as handle:
                spec = json.load(handle)
        except json.JSONDecodeError as error:
            raise DataError(path, f"invalid JSON: {error.msg}", line=error.lineno) from None
        except FileNotFoundError:
            raise DataError(path, "tokenizer file not found") from None
        return cls.from_dict(spec, source=str(path))
