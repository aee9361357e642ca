"""Word vectors: training, every file format, embedding matrices, Keras layers, analogies, cache."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from shared import embeddings
from shared.embeddings import (Coverage, detect_format, embedding_matrix, evaluate_analogies,
                               format_analogies, load_vectors, make_embedding, resolve_corpus,
                               save_vectors, shared_vectors, train_word2vec)
from shared.errors import DataError, SeqappsError, run_cli

REPO_ROOT = Path(__file__).resolve().parents[2]

SUBJECTS = ["king", "queen", "man", "woman", "boy", "girl"]
VERBS = ["rules", "walks", "sees", "likes", "finds"]
OBJECTS = ["the castle", "a river", "the city", "a horse", "the garden", "a book"]


def toy_corpus():
    """A few hundred raw sentences from a tiny grammar; stands in for an app's corpus."""
    rng = np.random.default_rng(7)
    return [
        f"The {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, "
        f"and the {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
        for _ in range(300)
    ]


def toy_sentences():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)]
    return [list(rng.choice(words, size=8)) for _ in range(300)] + [["hapax", "w1"]]


def make_vectors(words_and_rows):
    words = list(words_and_rows)
    matrix = np.asarray([words_and_rows[word] for word in words], dtype=np.float32)
    vectors = KeyedVectors(vector_size=matrix.shape[1], count=0, dtype=np.float32)
    vectors.add_vectors(words, matrix)
    return vectors


@pytest.fixture
def small_vectors():
    rng = np.random.default_rng(0)
    words = ["the", "cat", "café", "naïve", "paris"]
    return make_vectors({word: rng.normal(size=6).round(4) for word in words})


# ----------------------------------------------------------------------------- training


@pytest.mark.parametrize("algorithm", ["cbow", "skipgram"])
def test_training_is_deterministic_with_one_worker(algorithm):
    first = train_word2vec(toy_sentences(), algorithm=algorithm, dim=16, window=3, epochs=3, seed=5)
    second = train_word2vec(toy_sentences(), algorithm=algorithm, dim=16, window=3, epochs=3, seed=5)
    assert first.vector_size == 16
    assert "w1" in first.key_to_index and "hapax" not in first.key_to_index  # min_count=2
    assert first.index_to_key == second.index_to_key
    np.testing.assert_array_equal(first.vectors, second.vectors)
    other_seed = train_word2vec(toy_sentences(), algorithm=algorithm, dim=16, window=3, epochs=3, seed=6)
    assert not np.allclose(first.vectors, other_seed.vectors)


def test_cbow_and_skipgram_learn_different_vectors():
    cbow = train_word2vec(toy_sentences(), algorithm="cbow", dim=16, epochs=2)
    skipgram = train_word2vec(toy_sentences(), algorithm="skipgram", dim=16, epochs=2)
    assert cbow.index_to_key == skipgram.index_to_key
    assert not np.allclose(cbow.vectors, skipgram.vectors)


def test_training_accepts_a_one_shot_generator():
    vectors = train_word2vec((tokens for tokens in toy_sentences()), dim=8, epochs=2)
    assert len(vectors) == 40 and all(isinstance(word, str) for word in vectors.index_to_key)


def test_training_rejects_bad_arguments():
    with pytest.raises(SeqappsError, match="unknown word2vec algorithm 'glove'"):
        train_word2vec(toy_sentences(), algorithm="glove")
    with pytest.raises(SeqappsError, match="token lists"):
        train_word2vec(["raw text is not tokenized"])
    with pytest.raises(SeqappsError, match="min_count=1000"):
        train_word2vec(toy_sentences(), min_count=1000)
    with pytest.raises(SeqappsError, match="dim"):
        train_word2vec(toy_sentences(), dim=0)


# ------------------------------------------------------------------------------ loading


def write_glove(vectors, path, opener=open):
    with opener(path, "wt", encoding="utf-8") as stream:
        for word in vectors.index_to_key:
            stream.write(word + " " + " ".join(repr(float(x)) for x in vectors[word]) + "\n")


def assert_same_vectors(loaded, expected):
    assert loaded.index_to_key == expected.index_to_key
    np.testing.assert_allclose(loaded.vectors, expected.vectors, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "name, expected_format",
    [
        ("vectors.bin", "word2vec-binary"),
        ("vectors.w2v", "word2vec-binary"),  # no .bin suffix: detected from its bytes
        ("vectors.txt", "word2vec-text"),
        ("glove.txt", "glove"),
        ("glove.txt.gz", "glove"),
        ("cache_folder", "numpy"),
    ],
)
def test_every_format_round_trips(small_vectors, tmp_path, name, expected_format):
    path = tmp_path / name
    if expected_format == "word2vec-binary":
        small_vectors.save_word2vec_format(str(path), binary=True)
    elif expected_format == "word2vec-text":
        small_vectors.save_word2vec_format(str(path), binary=False)
    elif name.endswith(".gz"):
        write_glove(small_vectors, path, opener=gzip.open)
    elif expected_format == "glove":
        write_glove(small_vectors, path)
    else:
        save_vectors(small_vectors, path)
    assert detect_format(path) == expected_format
    assert_same_vectors(load_vectors(path), small_vectors)
    assert_same_vectors(load_vectors(path, fmt=expected_format), small_vectors)


def test_gzipped_word2vec_text_loads(small_vectors, tmp_path):
    path = tmp_path / "vectors.txt.gz"
    small_vectors.save_word2vec_format(str(path), binary=False)
    assert detect_format(path) == "word2vec-text"
    assert_same_vectors(load_vectors(path), small_vectors)


@pytest.mark.parametrize("header", [b"", b"2 3\n"])
def test_stray_latin1_words_in_a_utf8_file_are_recovered(tmp_path, header):
    # Real files mix encodings: gensim's own pang_lee_polarity_fasttext.vec has b"clich\xe9s".
    path = tmp_path / "mixed.txt"
    path.write_bytes(header + b"clich\xe9s 1 2 3\n" + "café 4 5 6\n".encode("utf-8"))
    assert detect_format(path) == ("word2vec-text" if header else "glove")
    vectors = load_vectors(path)
    assert vectors.index_to_key == ["clichés", "café"]
    np.testing.assert_array_equal(vectors["café"], [4, 5, 6])


def test_real_glove_file(shared_data):
    path = shared_data / "embeddings" / "test_glove.50d.txt"
    vectors = load_vectors(path)
    assert detect_format(path) == "glove"
    assert (len(vectors), vectors.vector_size) == (76, 50)
    np.testing.assert_allclose(vectors["the"][:3], [0.418, 0.24968, -0.41242], rtol=1e-6)


@pytest.mark.parametrize(
    "content, fmt, expected",
    [
        ("a 1 2 3\nb 1 2\nc 1 2 3\n", "glove", r"bad\.txt:2: expected 3 numbers after the word, found 2"),
        ("a 1 2 3\nb 1 2 3 4\n", "auto", r"bad\.txt:2: expected 3 numbers"),
        ("a 1 2 3\nb 1 x 3\n", "glove", r"bad\.txt:2: vector values must be numbers"),
        ("a 1 2 3\n\n", "glove", r"bad\.txt:2: expected a word followed by its vector"),
        ("3 3\na 1 2 3\nb 1 2 3\n", "auto", r"bad\.txt:1: header announces 3 vectors but the file has 2"),
        ("2 3\na 1 2 3\nb 1 2\n", "word2vec-text", r"bad\.txt:3: expected 3 numbers"),
        ("", "auto", r"bad\.txt: the vectors file is empty"),
        ("\n\n", "glove", r"bad\.txt: the vectors file is empty"),
    ],
)
def test_malformed_text_files_name_file_and_line(tmp_path, content, fmt, expected):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        load_vectors(path, fmt=fmt)


def test_malformed_binary_and_cache_files(small_vectors, tmp_path):
    truncated = tmp_path / "cut.bin"
    small_vectors.save_word2vec_format(str(truncated), binary=True)
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(DataError, match="cut.bin: damaged word2vec binary file"):
        load_vectors(truncated)
    not_vectors = tmp_path / "model.bin"
    not_vectors.write_bytes(b"\x80\x04\x95 a pickle\0\n")
    with pytest.raises(DataError, match="model.bin: not a word2vec binary file: no 'count dim' first line"):
        load_vectors(not_vectors)

    folder = save_vectors(small_vectors, tmp_path / "cache")
    (folder / "words.json").write_text('["only", "two"]', encoding="utf-8")
    with pytest.raises(DataError, match="2 words do not match"):
        load_vectors(folder)

    with pytest.raises(DataError, match="missing.txt: vectors file not found"):
        load_vectors(tmp_path / "missing.txt")
    with pytest.raises(SeqappsError, match="unknown vectors format 'fasttext'"):
        load_vectors(folder, fmt="fasttext")


def test_save_vectors_layout_and_atomic_overwrite(small_vectors, tmp_path):
    folder = save_vectors(small_vectors, tmp_path / "w2v" / "key", meta={"note": "first"})
    matrix = np.load(folder / "vectors.npy", allow_pickle=False)
    assert matrix.dtype == np.float32 and matrix.shape == (5, 6)
    assert json.loads((folder / "words.json").read_text(encoding="utf-8")) == small_vectors.index_to_key
    assert json.loads((folder / "meta.json").read_text(encoding="utf-8")) == {"note": "first"}

    smaller = make_vectors({"only": np.ones(3)})
    save_vectors(smaller, folder)
    assert_same_vectors(load_vectors(folder), smaller)
    assert not (folder / "meta.json").exists()
    assert [p.name for p in folder.parent.iterdir()] == ["key"]  # no temp folders left behind


# -------------------------------------------------------------------- embedding matrices


def test_coverage_string():
    coverage = Coverage(types_total=10_000, types_covered=8_123,
                        tokens_total=1_250_000, tokens_covered=1_203_220)
    assert str(coverage) == (
        "embedding coverage: 8,123/10,000 types (81.2%), 1,203,220/1,250,000 tokens (96.3%)"
    )
    assert Coverage(0, 0, 0, 0).type_rate == 0.0


def test_embedding_matrix_rows_and_coverage(small_vectors):
    tokens = ["[PAD]", "[UNK]", "the", "Paris", "dog", "cat", "[EOS]"]
    counts = {"the": 10, "Paris": 5, "dog": 3, "cat": 2, "[UNK]": 99}
    matrix, coverage = embedding_matrix(small_vectors, tokens, token_counts=counts)

    assert matrix.shape == (7, 6) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], np.zeros(6))
    np.testing.assert_array_equal(matrix[2], small_vectors["the"])
    np.testing.assert_array_equal(matrix[3], small_vectors["paris"])  # lowercase fallback
    np.testing.assert_array_equal(matrix[5], small_vectors["cat"])
    known_scale = np.std(small_vectors.vectors)
    assert 0 < np.abs(matrix[1]).max() < known_scale  # special tokens: small random rows
    assert np.abs(matrix[4]).max() > 0.1 * known_scale  # unknown word: full-scale random row
    assert coverage == Coverage(types_total=4, types_covered=3, tokens_total=20, tokens_covered=17)

    strict_matrix, strict = embedding_matrix(small_vectors, tokens, token_counts=counts,
                                             lowercase_fallback=False)
    assert strict == Coverage(types_total=4, types_covered=2, tokens_total=20, tokens_covered=12)
    np.testing.assert_array_equal(strict_matrix[4], matrix[4])  # same seed, same random rows

    _, by_type = embedding_matrix(small_vectors, tokens)
    assert by_type == Coverage(types_total=4, types_covered=3, tokens_total=4, tokens_covered=3)


def test_embedding_matrix_without_pretrained_vectors(small_vectors):
    tokens = ["", "[UNK]", "a", "b"]  # TextVectorization spells padding ""
    matrix, coverage = embedding_matrix(None, tokens, dim=8, seed=3)
    again, _ = embedding_matrix(None, tokens, dim=8, seed=3)
    assert matrix.shape == (4, 8)
    np.testing.assert_array_equal(matrix, again)
    np.testing.assert_array_equal(matrix[0], np.zeros(8))
    assert coverage == Coverage(types_total=2, types_covered=0, tokens_total=2, tokens_covered=0)
    with pytest.raises(SeqappsError, match="needs dim"):
        embedding_matrix(None, tokens)
    with pytest.raises(SeqappsError, match="dim=8 does not match"):
        embedding_matrix(small_vectors, tokens, dim=8)


def test_make_embedding_frozen_and_trainable():
    matrix = np.random.default_rng(0).normal(size=(1000, 16)).astype(np.float32)
    frozen = make_embedding(1000, 16, matrix=matrix, trainable=False, name="words")
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 1
    np.testing.assert_array_equal(frozen.get_weights()[0], matrix)
    np.testing.assert_allclose(np.asarray(frozen(np.array([[0, 7]])))[0, 1], matrix[7])
    assert len(json.dumps(frozen.get_config())) < 2000  # the matrix is not in the config

    trainable = make_embedding(1000, 16, matrix=matrix)
    assert len(trainable.trainable_weights) == 1
    np.testing.assert_array_equal(trainable.get_weights()[0], matrix)

    mask = np.asarray(trainable.compute_mask(np.array([[0, 3, 0]])))
    np.testing.assert_array_equal(mask, [[False, True, False]])
    assert make_embedding(10, 4, mask_zero=False).compute_mask(np.array([[0, 3]])) is None

    with pytest.raises(SeqappsError, match=r"shape \(1000, 16\), expected \(999, 16\)"):
        make_embedding(999, 16, matrix=matrix)


def test_module_imports_without_tensorflow_or_gensim():
    code = ("import sys, shared.embeddings; "
            "print(sorted({'tensorflow', 'keras', 'gensim'} & set(sys.modules)))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT).stdout
    assert output.strip() == "[]"


# ------------------------------------------------------------------------------ analogies


def royal_vectors():
    """king - man + woman == queen exactly: a 'royal' and a 'gender' axis, noise elsewhere."""
    rng = np.random.default_rng(1)
    rows = {
        "man": [0, -1, 0, 0, 0, 0],
        "woman": [0, 1, 0, 0, 0, 0],
        "king": [1, -1, 0, 0, 0, 0],
        "queen": [1, 1, 0, 0, 0, 0],
    }
    for index in range(20):
        rows[f"filler{index}"] = np.concatenate([[0, 0], rng.normal(size=4)])
    return make_vectors(rows)


def test_analogies_on_hand_built_vectors():
    result = evaluate_analogies(royal_vectors())
    assert result["example"] == "king - man + woman = queen"
    # questions-words.txt has exactly two questions made only of these four words.
    assert (result["correct"], result["total"], result["accuracy"]) == (2, 2, 1.0)
    assert result["sections"]["family"] == {"correct": 2, "total": 2}
    assert result["sections"]["capital-world"] == {"correct": 0, "total": 0}
    text = format_analogies(result)
    assert "analogy accuracy: 100.0% (2/2 answerable questions)" in text
    assert text.endswith("king - man + woman = queen")


def test_analogies_without_answerable_questions():
    vectors = make_vectors({f"filler{i}": np.eye(4)[i % 4] + i for i in range(6)})
    result = evaluate_analogies(vectors)
    assert result["accuracy"] is None and result["total"] == 0 and result["example"] is None
    assert "n/a" in format_analogies(result)


# ------------------------------------------------------------------------ shared vectors


def test_resolve_corpus():
    assert resolve_corpus("json:loads") is json.loads
    assert resolve_corpus(toy_corpus) is toy_corpus
    with pytest.raises(SeqappsError, match="cannot import text corpus 'no_such_module_xyz:f'"):
        resolve_corpus("no_such_module_xyz:f")
    with pytest.raises(SeqappsError, match="has no function 'nope'"):
        resolve_corpus("json:nope")
    with pytest.raises(SeqappsError, match="must read 'module:function'"):
        resolve_corpus("json")


def test_shared_vectors_train_once_then_load(isolated_dirs):
    settings = dict(corpora=[toy_corpus], dim=12, window=3, epochs=2)
    messages = []
    vectors, meta = shared_vectors(**settings, log=messages.append)
    folder = Path(meta["folder"])
    assert folder.parent == isolated_dirs / "cache" / "word2vec"
    assert messages[0].startswith("training shared word2vec vectors (cbow, 12-d")
    assert "test_embeddings:toy_corpus" in messages[0]
    stored = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert stored["params"]["dim"] == 12 and stored["sentences"] == 300
    assert stored["vocabulary_size"] == len(vectors) and "queen" in vectors.key_to_index
    assert stored["analogies"]["example"] is not None  # the grammar has king, man and woman

    messages.clear()
    cached, cached_meta = shared_vectors(**settings, log=messages.append)
    assert messages == [f"loaded shared word2vec vectors from {folder} ({len(vectors):,} words, 12-d)"]
    assert_same_vectors(cached, vectors)
    assert cached_meta == meta

    messages.clear()
    rebuilt, rebuilt_meta = shared_vectors(**settings, rebuild=True, log=messages.append)
    assert messages[0].startswith("training") and rebuilt_meta["folder"] == meta["folder"]
    np.testing.assert_array_equal(rebuilt.vectors, vectors.vectors)  # deterministic

    messages.clear()
    extra_texts = (text for text in ["The queen finds a lamp."])  # a one-shot generator
    _, extra_meta = shared_vectors(**settings, extra_texts=extra_texts, log=messages.append)
    assert messages[0].startswith("training") and extra_meta["folder"] != meta["folder"]
    assert extra_meta["extra_texts"] == 1


def test_cli_builds_and_evaluates(isolated_dirs, monkeypatch, capsys, small_vectors):
    monkeypatch.setattr(embeddings, "TEXT_CORPORA", (toy_corpus,))
    assert embeddings.main(["--dim", "8", "--epochs", "1", "--algorithm", "skipgram"]) == 0
    printed = capsys.readouterr().out
    assert "embedding coverage:" in printed and "analogy accuracy:" in printed

    path = isolated_dirs / "glove.txt"
    write_glove(royal_vectors(), path)
    assert embeddings.main(["--evaluate", str(path)]) == 0
    assert "king - man + woman = queen" in capsys.readouterr().out

    with pytest.raises(SystemExit) as exit_info:
        run_cli(embeddings.main, ["--evaluate", str(isolated_dirs / "missing.txt")])
    assert exit_info.value.code == 2
    assert "missing.txt: vectors file not found" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        embeddings.main(["--help"])
    assert "--min-count" in capsys.readouterr().out
