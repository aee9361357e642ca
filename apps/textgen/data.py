"""Plain text for the language model: reading, splitting, the two token levels, windows.

``--data`` names text files or folders (every file inside, recursively, in sorted order);
each may be gzipped (recognised by content), carry a UTF-8 byte order mark or Windows line
endings, all handled by :func:`shared.datasets.iter_lines`, so a byte that is not valid in
``--encoding`` is reported as ``file:line`` like in every other app. Every non-blank line is
one *document* (a review, a paragraph, a sentence).

Documents are split into train/validation/test by a hash of ``seed`` and the document's
text, never by position: the split is deterministic, independent of file order, and a line
that repeats (boilerplate, a quoted sentence) always lands in one split, so the test score
never rewards memorisation of a training line.

Two token levels share everything downstream:

* ``word``: the suite's tokenizer (:class:`shared.text.Tokenizer`), so the shared word2vec
  vectors fit the vocabulary; rare words become ``[UNK]``.
* ``char``: Unicode code points after NFC normalisation, case kept (:class:`CharTokenizer`).

A document is modelled as ``[BOS] tokens [EOS]``: the model reads ``[BOS]`` first and must
predict every token and the final ``[EOS]``; ``[BOS]`` itself is never a target. The
Kneser-Ney baseline (``baseline.py``) scores exactly the same targets.

Without ``--data`` the app trains on Lee's news corpus that gensim ships for its tests
(``lee_background.cor``, 300 paragraphs of Australian news), clearly labelled demo data.
"""

import hashlib
import importlib.util
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic import write_json
from shared.datasets import check_split_fractions, iter_lines
from shared.errors import DataError, SeqappsError
from shared.text import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, Tokenizer, Vocabulary, tokenize

LEVELS = ("word", "char")
DEMO_FILENAME = "lee_background.cor"
DEMO_ENCODING = "latin-1"  # gensim's test files are latin-1 (../shared/STACK.md)
DEMO_SOURCE = "demo data: 300 paragraphs of Lee's Australian news corpus shipped with gensim (lee_background.cor)"
CHAR_TOKENIZER_FORMAT = "seqapps-char-tokenizer"
CHAR_TOKENIZER_VERSION = 1
# Long enough never to cut a document when scoring (a review is a few thousand tokens).
MAX_TOKENS = 1_000_000


@dataclass
class Corpus:
    """Documents (strings) per split, and what the log and ``metrics.json`` say about them."""

    train: list
    validation: list
    test: list
    description: str
    is_demo: bool = False
    files: int = 0


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def text_files(paths):
    """The files named by ``paths``; a folder stands for its non-hidden files, recursively."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file()
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise DataError(path, "folder holds no files")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(path, "file not found")
    return found


def read_documents(paths, encoding="utf-8"):
    """Every non-blank line of every file, stripped, in file order."""
    files = text_files(paths)
    documents = []
    for path in files:
        before = len(documents)
        documents.extend(line.strip() for _, line in iter_lines(path, encoding) if line.strip())
        if len(documents) == before:
            raise DataError(path, "no text: the file is empty or blank")
    return documents, len(files)


def demo_path():
    """gensim's copy of the Lee corpus, found without importing gensim (which takes 1 s)."""
    spec = importlib.util.find_spec("gensim")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "test" / "test_data" / DEMO_FILENAME
        if candidate.is_file():
            return candidate
    raise SeqappsError("the demo data comes with gensim, which is not installed; "
                       "install gensim or pass your text with --data PATH")


# ---------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------


def _position(document, seed):
    """A stable number in [0, 1) per document text (sha256: ``hash`` changes per process)."""
    digest = hashlib.sha256(f"{seed}\0{document}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def split_documents(documents, *, validation_fraction=0.1, test_fraction=0.1, seed=1337):
    """``(train, validation, test)`` by the hash of each document; input order kept inside.

    A tiny corpus may give a requested split no document by chance; it then takes the
    training document with the lowest position, while at least one is left to train on.
    """
    check_split_fractions(validation_fraction, test_fraction)
    positions = [_position(document, seed) for document in documents]
    names = ["test" if p < test_fraction else "validation" if p < test_fraction + validation_fraction else "train"
             for p in positions]
    for name, fraction in (("test", test_fraction), ("validation", validation_fraction)):
        train = [i for i, split in enumerate(names) if split == "train"]
        if fraction > 0 and name not in names and len(train) > 1:
            names[min(train, key=lambda i: positions[i])] = name
    return tuple([d for d, split in zip(documents, names) if split == name]
                 for name in ("train", "validation", "test"))


def load_corpus(data=None, *, encoding="utf-8", validation_fraction=0.1, test_fraction=0.1, seed=1337):
    """The documents of ``data`` (a list of paths; None: the demo corpus), split."""
    if data:
        documents, files = read_documents(data, encoding)
        description = f"{len(documents):,} documents from {', '.join(str(p) for p in data)}"
        is_demo = False
    else:
        documents, files = read_documents([demo_path()], DEMO_ENCODING)
        description, is_demo = DEMO_SOURCE, True
    train, validation, test = split_documents(documents, validation_fraction=validation_fraction,
                                              test_fraction=test_fraction, seed=seed)
    return Corpus(train, validation, test, description, is_demo, files)


# ---------------------------------------------------------------------------------------
# Token levels
# ---------------------------------------------------------------------------------------


def char_tokens(text):
    """The character level's tokens: code points of the NFC form (TF: ``unicode_split``)."""
    return list(unicodedata.normalize("NFC", text))


@dataclass
class CharTokenizer:
    """Characters to ids with the four special tokens first, like :class:`Tokenizer`.

    Saved as ``char_tokenizer.json``: NFC-normalise, split into code points, look each up
    (``[UNK]`` when absent). Generation joins characters with nothing between them.
    """

    vocabulary: Vocabulary
    max_length: int = MAX_TOKENS

    def tokenize(self, text):
        return char_tokens(text)

    def encode(self, text):
        return self.vocabulary.ids(self.tokenize(text))[: self.max_length]

    def to_dict(self):
        return {"format": CHAR_TOKENIZER_FORMAT, "version": CHAR_TOKENIZER_VERSION,
                "normalization": {"unicode_form": "NFC", "lowercase": False},
                "splitting": "every Unicode code point is a token",
                "special_ids": {"pad": PAD_ID, "unk": 1, "bos": BOS_ID, "eos": EOS_ID},
                "vocabulary": self.vocabulary.tokens}

    def save(self, path):
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, spec, source="<char tokenizer>"):
        if spec.get("format") != CHAR_TOKENIZER_FORMAT or spec.get("version") != CHAR_TOKENIZER_VERSION:
            raise DataError(source, f"not a {CHAR_TOKENIZER_FORMAT} v{CHAR_TOKENIZER_VERSION} file: re-export")
        return cls(Vocabulary(list(spec["vocabulary"])))


def build_tokenizer(level, documents, *, max_size=None, min_count=1):
    """A word or character tokenizer whose vocabulary comes from the training documents."""
    if level == "char":
        return CharTokenizer(Vocabulary.build((char_tokens(d) for d in documents), max_size=max_size,
                                              min_count=min_count))
    if level != "word":
        raise SeqappsError(f"--level must be one of {LEVELS}, not {level!r}")
    vocabulary = Vocabulary.build((tokenize(d) for d in documents), max_size=max_size, min_count=min_count)
    return Tokenizer(vocabulary, max_length=MAX_TOKENS)


def load_tokenizer(path):
    """Either tokenizer from its JSON spec, told apart by its ``format``."""
    import json

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if spec.get("format") == CHAR_TOKENIZER_FORMAT:
        return CharTokenizer.from_dict(spec, str(path))
    return Tokenizer.from_dict(spec, str(path))


def is_char_level(tokenizer):
    return isinstance(tokenizer, CharTokenizer)


def join_tokens(tokenizer, tokens):
    """Generated tokens back to text: characters touch, words are detokenised."""
    from shared.text import detokenize

    words = [t for t in tokens if t not in SPECIAL_TOKENS]
    return "".join(words) if is_char_level(tokenizer) else detokenize(words)


def encode_documents(tokenizer, documents):
    """Id lists, one per document (no [BOS]/[EOS]; empty documents stay empty)."""
    return [tokenizer.encode(document) for document in documents]


# ---------------------------------------------------------------------------------------
# The token stream and its windows
# ---------------------------------------------------------------------------------------


def token_stream(encoded):
    """All documents as one int32 stream: ``[BOS] doc [EOS] [BOS] doc [EOS] ...``."""
    total = sum(len(ids) + 2 for ids in encoded)
    stream = np.empty(total, np.int32)
    at = 0
    for ids in encoded:
        stream[at] = BOS_ID
        stream[at + 1: at + 1 + len(ids)] = ids
        stream[at + 1 + len(ids)] = EOS_ID
        at += len(ids) + 2
    return stream


def stream_windows(stream, length):
    """``(inputs, targets, weights)`` arrays ``[windows, length]`` cut from one token stream.

    Truncated backpropagation through time by **fixed-length, non-overlapping windows**:
    window *i* reads ``stream[i*L : i*L + L]`` and predicts the same positions shifted by
    one, starting from a zero state. The alternative, a stateful RNN carrying its state
    from batch to batch, needs the stream laid out as ``batch`` contiguous lanes, a fixed
    batch size, no shuffling and per-replica state under ``tf.distribute``; windows are
    independent examples, so ``tf.data`` can shuffle them and any strategy can split a
    batch, at the price of less context at the start of each window. Scoring and
    generation also start from a zero state at ``[BOS]``, which the windows teach too.
    The tail that does not fill a window is padded and weighted 0; a target that is
    ``[BOS]`` (the start of the next document, trivially predictable) is weighted 0 too,
    so the training loss counts the same targets the evaluation does.
    """
    if length < 1:
        raise SeqappsError(f"--window must be at least 1, not {length}")
    count = max(1, -(-(len(stream) - 1) // length))
    padded = np.full(count * length + 1, PAD_ID, np.int32)
    padded[: len(stream)] = stream
    inputs = padded[:-1].reshape(count, length)
    targets = padded[1:].reshape(count, length)
    weights = ((targets != PAD_ID) & (targets != BOS_ID)).astype(np.float32)
    return inputs, targets, weights


def window_dataset(stream, length, *, batch_size, shuffle=False, seed=1337, drop_remainder=False):
    """Batches of ``(tokens, targets, weights)`` for ``model.fit``."""
    import tensorflow as tf

    inputs, targets, weights = stream_windows(stream, length)
    dataset = tf.data.Dataset.from_tensor_slices(({"tokens": inputs}, targets, weights))
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def pad_ids(rows):
    """Id lists -> right-padded int32 matrix at least one column wide."""
    width = max([len(row) for row in rows] + [1])
    return np.array([list(row) + [PAD_ID] * (width - len(row)) for row in rows], np.int32).reshape(len(rows), width)
