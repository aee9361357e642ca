"""Word vectors: training, loading, caching, evaluating and turning them into Keras layers.

Every text app embeds its tokens with the same pretrained word2vec vectors, trained once on
the union of the apps' default corpora (:data:`TEXT_CORPORA`) and cached under
``cache_dir() / "word2vec"``, so the apps really share one embedding. Vectors published by
others (word2vec binary or text, GloVe) load through :func:`load_vectors` and plug into the
same :func:`embedding_matrix` / :func:`make_embedding` path.

Nothing written here uses pickle: our cache is ``vectors.npy`` (float32) + ``words.json``
+ ``meta.json``, readable from any language. TensorFlow is imported only by
:func:`make_embedding`, so training and evaluating vectors stays light.

    python -m shared.embeddings                      # build (or load) the shared vectors
    python -m shared.embeddings --evaluate glove.txt # analogy accuracy of any vectors file
"""

import argparse
import codecs
import collections
import datetime
import hashlib
import importlib
import json
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from shared.atomic import write_folder, write_json
from shared.errors import DataError, SeqappsError, run_cli
from shared.paths import cache_dir

ALGORITHMS = {"cbow": 0, "skipgram": 1}
FORMATS = ("auto", "word2vec-binary", "word2vec-text", "glove", "numpy")

# Each entry is "module:function"; the function takes no arguments and returns the app's
# offline default training texts (raw strings). Add an app here to make it share the vectors.
TEXT_CORPORA = ("apps.sentiment.data:embedding_corpus", "apps.ner.demo:embedding_corpus")

VECTORS_FILE, WORDS_FILE, META_FILE = "vectors.npy", "words.json", "meta.json"
CACHE_VERSION = 1  # bump when the cache layout or the training recipe changes

# gensim silently truncates longer sentences to this many tokens; we split them instead.
_GENSIM_MAX_SENTENCE = 10000
_SNIFF_BYTES = 1 << 16  # enough for a header and one 300-d text vector at full precision
_DECODE_ERRORS = "seqapps-latin1-fallback"


# ----------------------------------------------------------------------------- training


def _stable_hash(text):
    """Process-independent stand-in for ``hash``, whatever ``PYTHONHASHSEED`` says."""
    return zlib.crc32(str(text).encode("utf-8"))


def _as_token_lists(sentences):
    """Materialise (gensim iterates once per epoch) and split over-long sentences."""
    token_lists = []
    for sentence in sentences:
        if isinstance(sentence, (str, bytes)):
            raise SeqappsError(
                "train_word2vec expects token lists, not raw strings: tokenize each text first "
                "(shared.text.tokenize)"
            )
        tokens = [str(token) for token in sentence]
        for start in range(0, len(tokens), _GENSIM_MAX_SENTENCE):
            token_lists.append(tokens[start : start + _GENSIM_MAX_SENTENCE])
    return token_lists


def _check_positive(**values):
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SeqappsError(f"{name} must be a positive integer, not {value!r}")


def train_word2vec(
    sentences,
    *,
    algorithm="cbow",
    dim=100,
    window=5,
    min_count=2,
    epochs=5,
    seed=1337,
    workers=1,
):
    """Train word2vec on token lists and return only the word vectors.

    With ``workers=1`` the result is a pure function of the inputs: gensim 4.4 draws the
    initial vectors from ``seed`` and its training RNG is seeded too. More workers train
    faster but interleave batches nondeterministically.
    """
    from gensim.models import Word2Vec

    if algorithm not in ALGORITHMS:
        raise SeqappsError(f"unknown word2vec algorithm {algorithm!r}: use one of {sorted(ALGORITHMS)}")
    _check_positive(dim=dim, window=window, min_count=min_count, epochs=epochs, workers=workers)
    token_lists = _as_token_lists(sentences)
    counts = collections.Counter(token for tokens in token_lists for token in tokens)
    if not any(count >= min_count for count in counts.values()):
        raise SeqappsError(
            f"cannot train word2vec: no word occurs at least min_count={min_count} times "
            f"in {len(token_lists):,} sentences"
        )
    model = Word2Vec(
        sentences=token_lists,
        vector_size=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        sg=ALGORITHMS[algorithm],
        seed=seed,
        workers=workers,
        # Unused by gensim 4.4's initialisation (seeded from `seed`), but older and possibly
        # future versions hash words with it; the builtin hash varies per process.
        hashfxn=_stable_hash,
    )
    return model.wv


# ------------------------------------------------------------------------------ loading


def _open_bytes(path):
    """Binary reader that decompresses ``.gz``/``.bz2`` transparently, like gensim does."""
    from gensim import utils

    return utils.open(str(path), "rb")


def _read_head(path):
    with _open_bytes(path) as stream:
        return stream.read(_SNIFF_BYTES)


def _latin1_fallback(error):
    """Decode the bytes that are not UTF-8 as Latin-1 instead of failing.

    Published vector files are UTF-8 with stray Latin-1 words (gensim's own
    ``pang_lee_polarity_fasttext.vec`` has ``clich\\xe9s``), and word2vec.c cuts long words
    mid-character. Latin-1 recovers the former exactly and gives the latter a harmless key.
    """
    return error.object[error.start : error.end].decode("latin-1"), error.end


def _decode_errors():
    try:
        codecs.lookup_error(_DECODE_ERRORS)
    except LookupError:
        codecs.register_error(_DECODE_ERRORS, _latin1_fallback)
    return _DECODE_ERRORS


def _decode(raw):
    return raw.decode("utf-8", errors=_decode_errors())


def _is_header(line):
    fields = line.split()
    return len(fields) == 2 and all(field.isdigit() for field in fields)


def _is_vector_line(line, dim):
    fields = line.rstrip().split(" ")
    if len(fields) != dim + 1:
        return False
    try:
        np.asarray(fields[1:], dtype=np.float32)
    except ValueError:
        return False
    return True


def detect_format(path):
    """Guess the format of a vectors file or folder (see :func:`load_vectors`).

    Both word2vec formats start with a ``count dim`` line; the text one follows it with a
    word and ``dim`` numbers, the binary one with raw float32 bytes. No header means GloVe.
    """
    path = Path(path)
    if path.is_dir() or path.name == VECTORS_FILE:
        return "numpy"
    if not path.exists():
        raise DataError(path, "vectors file not found")
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes[-1:] == [".bin"] or suffixes[-2:] == [".bin", ".gz"]:
        return "word2vec-binary"
    head = _read_head(path)
    if not head.strip():
        raise DataError(path, "the vectors file is empty")
    first_line, _, rest = head.partition(b"\n")
    if not _is_header(_decode(first_line)):
        return "word2vec-binary" if b"\0" in head else "glove"
    dim = int(first_line.split()[1])
    second_line = rest.partition(b"\n")[0]
    return "word2vec-text" if _is_vector_line(_decode(second_line), dim) else "word2vec-binary"


def _text_problem(path, has_header):
    """Locate the first malformed line of a text vectors file, as a DataError (or None).

    Runs only after gensim has refused the file, to turn its terse error into a place.
    """
    expected_count, dim, count = None, None, 0
    with _open_bytes(path) as stream:
        for line_number, raw in enumerate(stream, start=1):
            line = _decode(raw).rstrip()
            if has_header and line_number == 1:
                if not _is_header(line):
                    return DataError(path, "expected a 'count dim' header", line=1, content=line)
                expected_count, dim = (int(field) for field in line.split())
                continue
            fields = line.split(" ")
            if len(fields) < 2:
                message = "expected a word followed by its vector"
                return DataError(path, message, line=line_number, content=line)
            if dim is None:
                dim = len(fields) - 1
            if len(fields) - 1 != dim:
                message = f"expected {dim} numbers after the word, found {len(fields) - 1}"
                return DataError(path, message, line=line_number, content=line)
            if not _is_vector_line(line, dim):
                message = "vector values must be numbers separated by single spaces"
                return DataError(path, message, line=line_number, content=line)
            count += 1
    if count == 0:
        return DataError(path, "no vectors in file")
    if expected_count is not None and expected_count != count:
        message = f"header announces {expected_count:,} vectors but the file has {count:,}"
        return DataError(path, message, line=1)
    return None


def _load_text(path, has_header):
    from gensim.models import KeyedVectors

    try:
        return KeyedVectors.load_word2vec_format(
            str(path), binary=False, no_header=not has_header, unicode_errors=_decode_errors()
        )
    except (ValueError, TypeError, EOFError) as error:
        problem = _text_problem(path, has_header)
        raise (problem or DataError(path, f"cannot read vectors: {error}")) from None


def _load_binary(path):
    from gensim.models import KeyedVectors

    if not _is_header(_decode(_read_head(path).partition(b"\n")[0])):
        raise DataError(
            path,
            "not a word2vec binary file: no 'count dim' first line "
            "(gensim .model/.kv pickles and fastText .bin models are not supported; use a .vec file)",
        )
    try:
        return KeyedVectors.load_word2vec_format(str(path), binary=True, unicode_errors=_decode_errors())
    except (ValueError, TypeError, EOFError) as error:
        raise DataError(path, f"damaged word2vec binary file ({error})") from None


def _load_numpy(path):
    from gensim.models import KeyedVectors

    folder = Path(path)
    if folder.name == VECTORS_FILE:
        folder = folder.parent
    vectors_path, words_path = folder / VECTORS_FILE, folder / WORDS_FILE
    for required in (vectors_path, words_path):
        if not required.is_file():
            raise DataError(required, "missing from the vectors folder")
    try:
        matrix = np.load(vectors_path, allow_pickle=False)
    except ValueError as error:
        raise DataError(vectors_path, f"not a numpy array file ({error})") from None
    try:
        words = json.loads(words_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(words_path, f"invalid JSON ({error})") from None
    if matrix.ndim != 2 or not isinstance(words, list) or len(words) != matrix.shape[0]:
        raise DataError(folder, f"{len(words)} words do not match a vectors array of shape {matrix.shape}")
    if len(set(words)) != len(words):
        raise DataError(words_path, "words must be unique")
    vectors = KeyedVectors(vector_size=matrix.shape[1], count=0, dtype=np.float32)
    vectors.add_vectors([str(word) for word in words], matrix.astype(np.float32, copy=False))
    return vectors


def load_vectors(path, fmt="auto"):
    """Read word vectors in any of :data:`FORMATS`; gzip-compressed text files work too.

    ``"auto"`` decides from the path and the first bytes: a folder is our numpy cache, a
    ``.bin`` name or non-text bytes is word2vec binary, a ``count dim`` first line is word2vec
    text, anything else GloVe (a word and its numbers on every line, no header).
    """
    if fmt not in FORMATS:
        raise SeqappsError(f"unknown vectors format {fmt!r}: use one of {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise DataError(path, "vectors file not found")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "numpy":
        vectors = _load_numpy(path)
    elif fmt == "word2vec-binary":
        vectors = _load_binary(path)
    else:
        if not _read_head(path).strip():
            raise DataError(path, "the vectors file is empty")
        vectors = _load_text(path, has_header=(fmt == "word2vec-text"))
    if len(vectors) == 0:
        raise DataError(path, "no vectors in file")
    return vectors


def save_vectors(vectors, folder, *, meta=None):
    """Write ``vectors`` as our cache layout (vectors.npy + words.json [+ meta.json]), atomically."""

    def write(staging):
        np.save(staging / VECTORS_FILE, np.asarray(vectors.vectors, dtype=np.float32), allow_pickle=False)
        words = [str(word) for word in vectors.index_to_key]
        (staging / WORDS_FILE).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        if meta is not None:
            write_json(staging / META_FILE, meta)

    return write_folder(folder, write)


# -------------------------------------------------------------------- embedding matrices


@dataclass
class Coverage:
    """How much of a vocabulary the pretrained vectors know, by type and by running token."""

    types_total: int
    types_covered: int
    tokens_total: int
    tokens_covered: int

    @property
    def type_rate(self):
        return self.types_covered / self.types_total if self.types_total else 0.0

    @property
    def token_rate(self):
        return self.tokens_covered / self.tokens_total if self.tokens_total else 0.0

    def __str__(self):
        return (
            f"embedding coverage: {self.types_covered:,}/{self.types_total:,} types "
            f"({self.type_rate:.1%}), {self.tokens_covered:,}/{self.tokens_total:,} tokens "
            f"({self.token_rate:.1%})"
        )


def is_special_token(token):
    """``[PAD]``, ``[UNK]``... and TextVectorization's ``""`` padding are not words."""
    return token == "" or (len(token) > 2 and token.startswith("[") and token.endswith("]"))


def _find_key(vectors, token, lowercase_fallback):
    if token in vectors.key_to_index:
        return token
    if lowercase_fallback:
        lowered = token.lower()
        if lowered in vectors.key_to_index:
            return lowered
    return None


def measure_coverage(vectors, token_counts, *, lowercase_fallback=True):
    """Coverage of a ``{token: count}`` mapping (e.g. a corpus) by ``vectors``."""
    coverage = Coverage(0, 0, 0, 0)
    for token, count in token_counts.items():
        if is_special_token(token):
            continue
        found = vectors is not None and _find_key(vectors, token, lowercase_fallback) is not None
        coverage.types_total += 1
        coverage.tokens_total += count
        coverage.types_covered += found
        coverage.tokens_covered += count if found else 0
    return coverage


def embedding_matrix(vectors, tokens, *, token_counts=None, dim=None, seed=1337, lowercase_fallback=True):
    """Initial Embedding weights for a vocabulary (``tokens`` in id order) and their coverage.

    Id 0 is padding whatever it is called (``[PAD]`` here, ``""`` in TextVectorization) and
    stays zero. Other special tokens get small random rows and are left out of the coverage.
    Known words get their pretrained vector, trying ``token.lower()`` when the exact form is
    missing: the shared vectors are lowercased while some vocabularies (NER) keep case.
    Unknown words get random rows at the pretrained vectors' scale, so they neither dominate
    nor vanish next to the known ones. ``vectors=None`` gives a plain random matrix.
    """
    tokens = [str(token) for token in tokens]
    if vectors is not None:
        if dim is not None and dim != vectors.vector_size:
            raise SeqappsError(f"dim={dim} does not match the {vectors.vector_size}-d pretrained vectors")
        dim = vectors.vector_size
        scale = float(np.std(vectors.vectors)) if len(vectors) else 0.05
    elif dim is None:
        raise SeqappsError("embedding_matrix needs dim when no pretrained vectors are given")
    else:
        scale = 0.05
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, size=(len(tokens), dim)).astype(np.float32)
    coverage = Coverage(0, 0, 0, 0)
    for index, token in enumerate(tokens):
        if index == 0:
            matrix[0] = 0.0
            continue
        if is_special_token(token):
            matrix[index] *= 0.1
            continue
        count = 1 if token_counts is None else int(token_counts.get(token, 0))
        key = _find_key(vectors, token, lowercase_fallback) if vectors is not None else None
        coverage.types_total += 1
        coverage.tokens_total += count
        if key is not None:
            matrix[index] = vectors[key]
            coverage.types_covered += 1
            coverage.tokens_covered += count
    return matrix, coverage


def make_embedding(input_dim, output_dim, *, matrix=None, trainable=True, mask_zero=True, name="embedding"):
    """The one Keras Embedding every text app uses, optionally initialised from ``matrix``.

    The matrix is loaded as weights after building, never through a Constant initializer,
    which would copy the whole matrix into the model config (and every saved config.json).
    """
    import keras

    layer = keras.layers.Embedding(input_dim, output_dim, mask_zero=mask_zero, trainable=trainable, name=name)
    if matrix is not None:
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.shape != (input_dim, output_dim):
            raise SeqappsError(
                f"embedding matrix has shape {matrix.shape}, expected ({input_dim}, {output_dim})"
            )
        layer.build((None,))
        layer.set_weights([matrix])
    return layer


# ------------------------------------------------------------------------------ analogies


def evaluate_analogies(vectors, *, restrict_vocab=30000):
    """Accuracy on the Google analogy questions shipped with gensim (``questions-words.txt``).

    Only questions whose four words are among the ``restrict_vocab`` most frequent count, so
    small corpora are judged on what they can answer; ``accuracy`` is None when that is nothing.
    """
    from gensim.test.utils import datapath

    if len(vectors) == 0:
        sections, total = {}, {"correct": [], "incorrect": []}
    else:
        questions = datapath("questions-words.txt")
        _, raw_sections = vectors.evaluate_word_analogies(questions, restrict_vocab=restrict_vocab)
        *parts, total = raw_sections  # gensim appends the overall tally as a last "section"
        sections = {part["section"]: _tally(part) for part in parts}
    correct, answered = len(total["correct"]), len(total["correct"]) + len(total["incorrect"])
    return {
        "accuracy": correct / answered if answered else None,
        "correct": correct,
        "total": answered,
        "sections": sections,
        "example": _king_queen_example(vectors, restrict_vocab),
    }


def _tally(section):
    correct = len(section["correct"])
    return {"correct": correct, "total": correct + len(section["incorrect"])}


def _king_queen_example(vectors, restrict_vocab):
    if not all(word in vectors.key_to_index for word in ("king", "man", "woman")):
        return None
    nearest = vectors.most_similar(
        positive=["king", "woman"], negative=["man"], topn=1, restrict_vocab=restrict_vocab
    )
    return f"king - man + woman = {nearest[0][0]}" if nearest else None


def format_analogies(result):
    """Two printable lines: overall accuracy with counts, and the king/queen example."""
    if result["accuracy"] is None:
        overall = "analogy accuracy: n/a (no question has all four words in the vocabulary)"
    else:
        overall = (
            f"analogy accuracy: {result['accuracy']:.1%} "
            f"({result['correct']:,}/{result['total']:,} answerable questions)"
        )
    example = result["example"] or "king - man + woman: not in the vocabulary"
    return f"{overall}\n{example}"


# ------------------------------------------------------------------------ shared vectors


def _corpus_name(corpus):
    if isinstance(corpus, str):
        return corpus
    return f"{getattr(corpus, '__module__', '?')}:{getattr(corpus, '__qualname__', repr(corpus))}"


def resolve_corpus(corpus):
    """Turn ``"module:function"`` into the function; callables pass through.

    A corpus that cannot be imported is an error, not a silent gap in the shared vectors.
    """
    if callable(corpus):
        return corpus
    module_name, _, function_name = str(corpus).partition(":")
    if not module_name or not function_name:
        raise SeqappsError(f"corpus {corpus!r} must read 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SeqappsError(f"cannot import text corpus {corpus!r}: {error}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SeqappsError(f"text corpus {corpus!r}: {module_name} has no function {function_name!r}")
    return function


def _collect_texts(corpora, extra_texts):
    texts = []
    for corpus in corpora:
        texts.extend(str(text) for text in resolve_corpus(corpus)())
    texts.extend(extra_texts)
    return texts


def _corpus_fingerprint(texts):
    """Hash of the raw texts plus the tokenizer source, so a cache hit needs no tokenizing."""
    import shared.text

    digest = hashlib.sha256(Path(shared.text.__file__).read_bytes())
    for text in texts:
        digest.update(text.encode("utf-8", errors="surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _cache_key(params, fingerprint):
    payload = json.dumps({"version": CACHE_VERSION, "params": params, "corpus": fingerprint}, sort_keys=True)
    return f"{params['algorithm']}-{params['dim']}d-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"


def shared_vectors(
    *,
    corpora=None,
    extra_texts=(),
    algorithm="cbow",
    dim=100,
    window=5,
    min_count=2,
    epochs=5,
    seed=1337,
    cache=None,
    rebuild=False,
    log=print,
):
    """The word2vec vectors all text apps share, trained once per corpus and parameters.

    ``corpora`` (default :data:`TEXT_CORPORA`) holds ``"module:function"`` strings or
    callables returning raw texts; ``extra_texts`` adds an app's own data to the union. The
    cache key covers parameters, texts and tokenizer, so any change trains fresh vectors.
    Returns ``(vectors, meta)``; ``meta`` is meta.json plus the cache ``folder``.
    """
    import gensim

    from shared.text import tokenize

    corpora = TEXT_CORPORA if corpora is None else tuple(corpora)
    extra_texts = [str(text) for text in extra_texts]
    params = dict(algorithm=algorithm, dim=dim, window=window, min_count=min_count, epochs=epochs, seed=seed)
    texts = _collect_texts(corpora, extra_texts)
    folder = Path(cache or cache_dir()) / "word2vec" / _cache_key(params, _corpus_fingerprint(texts))
    if folder.exists() and not rebuild:
        vectors = load_vectors(folder, fmt="numpy")
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        log(f"loaded shared word2vec vectors from {folder} ({len(vectors):,} words, {vectors.vector_size}-d)")
        return vectors, {**meta, "folder": str(folder)}

    sentences = [tokens for tokens in (tokenize(text, lowercase=True) for text in texts) if tokens]
    token_counts = collections.Counter(token for tokens in sentences for token in tokens)
    names = [_corpus_name(corpus) for corpus in corpora]
    log(
        f"training shared word2vec vectors ({algorithm}, {dim}-d, window {window}, min_count {min_count}, "
        f"{epochs} epochs) on {len(sentences):,} texts, {token_counts.total():,} tokens from "
        f"{', '.join(names) or 'no corpora'}"
        + (f" + {len(extra_texts):,} extra texts" if extra_texts else "")
    )
    started = time.perf_counter()
    vectors = train_word2vec(sentences, workers=1, **params)
    seconds = time.perf_counter() - started
    analogies = evaluate_analogies(vectors)
    coverage = measure_coverage(vectors, token_counts)
    meta = {
        "params": params,
        "corpora": names,
        "extra_texts": len(extra_texts),
        "sentences": len(sentences),
        "tokens": token_counts.total(),
        "vocabulary_size": len(vectors),
        "corpus_coverage": asdict(coverage),
        "analogies": analogies,
        "training_seconds": round(seconds, 2),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "gensim_version": gensim.__version__,
        "cache_version": CACHE_VERSION,
    }
    save_vectors(vectors, folder, meta=meta)
    log(f"trained {len(vectors):,} word vectors in {seconds:.1f}s, saved to {folder}")
    log(f"{coverage} of the training corpus (words below min_count have no vector)")
    log(format_analogies(analogies))
    return vectors, {**meta, "folder": str(folder)}


def add_embedding_arguments(parser, *, algorithm="cbow", epochs=5, freeze_help="keep the pretrained vectors fixed (default: trained)"):
    """The ``--embeddings`` flags every text app's train command has, with this app's defaults."""
    group = parser.add_argument_group("embedding")
    group.add_argument("--embeddings", default="shared",
                       help="'shared': the suite's cached word2vec vectors (trained on the text apps' corpora plus "
                            "this --data's training texts); 'none': random; or a vectors file (word2vec .bin/.txt, "
                            "GloVe .txt, gensim cache folder)")
    group.add_argument("--embedding-dim", type=int, default=100,
                       help="vector size when vectors are trained here or random (default: %(default)s)")
    group.add_argument("--w2v-algorithm", choices=("cbow", "skipgram"), default=algorithm,
                       help="word2vec algorithm for 'shared' (default: %(default)s)")
    group.add_argument("--w2v-epochs", type=int, default=epochs, help="word2vec passes for 'shared' (default: %(default)s)")
    group.add_argument("--w2v-corpus", action="append", default=[], metavar="FILE",
                       help="more unlabelled text for 'shared' vectors, one text per line (plain or gzipped); "
                            "repeatable. Words seen only here still get vectors")
    group.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=False, help=freeze_help)
    return group


def vectors_from_arguments(args, training_texts=(), log=print):
    """The pretrained vectors the ``--embeddings`` flags ask for, or None for random rows.

    ``training_texts`` (the run's own training data, empty for demo data) join the shared
    corpora and every ``--w2v-corpus`` file.
    """
    if args.embeddings == "none":
        return None
    if args.embeddings != "shared":
        return load_vectors(args.embeddings)
    from shared.datasets import iter_lines

    extra = list(training_texts)
    for path in args.w2v_corpus:
        extra.extend(line for _, line in iter_lines(path, getattr(args, "encoding", "utf-8")))
    vectors, _ = shared_vectors(extra_texts=extra, algorithm=args.w2v_algorithm, dim=args.embedding_dim,
                                epochs=args.w2v_epochs, seed=args.seed, log=log)
    return vectors


# ------------------------------------------------------------------------------------ CLI


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m shared.embeddings",
        description=(
            "Build (or load from the cache) the word2vec vectors shared by all text apps, "
            "or evaluate any vectors file on the Google analogy questions."
        ),
        epilog="Add --debug to see a full traceback on errors.",
    )
    parser.add_argument("--evaluate", metavar="PATH",
                        help="evaluate this vectors file or folder instead of building the shared vectors")
    parser.add_argument("--format", default="auto", choices=FORMATS,
                        help="format of the --evaluate file (default: detect from name and content)")
    parser.add_argument("--restrict-vocab", type=int, default=30000,
                        help="only ask analogy questions among this many most frequent words (default 30000)")
    parser.add_argument("--algorithm", default="cbow", choices=sorted(ALGORITHMS),
                        help="word2vec training algorithm (default cbow)")
    parser.add_argument("--dim", type=int, default=100, help="vector dimension (default 100)")
    parser.add_argument("--window", type=int, default=5, help="context window on each side (default 5)")
    parser.add_argument("--min-count", type=int, default=2,
                        help="ignore words rarer than this in the corpus (default 2)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the corpus (default 5)")
    parser.add_argument("--seed", type=int, default=1337,
                        help="random seed; training is deterministic (default 1337)")
    parser.add_argument("--cache", metavar="DIR",
                        help="cache root (default: $SEQAPPS_CACHE or ./cache); "
                             "vectors go to DIR/word2vec/KEY")
    parser.add_argument("--rebuild", action="store_true", help="retrain even when cached vectors exist")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.evaluate:
        vectors = load_vectors(args.evaluate, fmt=args.format)
        print(f"{args.evaluate}: {len(vectors):,} words, {vectors.vector_size}-d")
        print(format_analogies(evaluate_analogies(vectors, restrict_vocab=args.restrict_vocab)))
        return 0
    _, meta = shared_vectors(
        algorithm=args.algorithm, dim=args.dim, window=args.window, min_count=args.min_count,
        epochs=args.epochs, seed=args.seed, cache=args.cache, rebuild=args.rebuild,
    )
    print(f"{meta['vocabulary_size']:,} words, {meta['params']['dim']}-d, in {meta['folder']}")
    print(f"{Coverage(**meta['corpus_coverage'])} of the training corpus")
    print(format_analogies(meta["analogies"]))
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
