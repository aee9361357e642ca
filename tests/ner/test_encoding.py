"""Token ids from the Python encoder and from the SavedModel's graph twin must be equal."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.ner.encoding import NerEncoder, word_key
from apps.ner.encoding_tf import NerInputs

TRAIN = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
         ["Peter", "Blackburn", "met", "ＡＢＣ", "in", "Zürich", "on", "1996-08-22"]]
HARD = ["İstanbul'da ΣΑΣ ﬁne", "", "   ", "a\u200bb soft\u00adhyphen", "U.S. 12,5% — “quoted”",
        "東京 and 😀 emoji", "TAB\there", "<br />line break", "x" * 40]


@pytest.fixture(scope="module")
def encoder():
    return NerEncoder.build(TRAIN, extra_words=["london", "the", "Paris"], max_chars=12)


def _graph(encoder, token_lists):
    tokens = tf.ragged.constant(token_lists, dtype=tf.string) if any(token_lists) else \
        tf.RaggedTensor.from_row_lengths(tf.constant([], tf.string), [0] * len(token_lists))
    return {name: value.numpy() for name, value in NerInputs(encoder)(tokens).items()}


def test_word_key_shares_case_and_digits():
    assert word_key("Paris") == word_key("PARIS") == "paris"
    assert word_key("1996-08-22") == word_key("2001-12-31") == "0000-00-00"
    assert word_key("ＡＢＣ") == "abc"


def test_vocabulary_keeps_training_words_and_adds_vector_words(encoder):
    assert encoder.words[:2] == ["[PAD]", "[UNK]"] and encoder.chars[:2] == ["[PAD]", "[UNK]"]
    assert {"german", "london", "paris", "0000-00-00"} <= set(encoder.words)
    assert "B" in encoder.chars and "b" in encoder.chars  # characters keep their case
    ids = encoder.encode_batch([["Berlin"]])["word_ids"]
    assert ids.tolist() == [[1]]  # unknown word


def test_raw_sentences_encode_identically_in_python_and_graph(encoder):
    token_lists = [encoder.tokenize(text) for text in HARD]
    graph_tokens = NerInputs(encoder).tokenize(tf.constant(HARD)).to_list()
    assert [[t.decode() for t in row] for row in graph_tokens] == token_lists
    expected = encoder.encode_batch(token_lists)
    actual = _graph(encoder, token_lists)
    for name in ("word_ids", "char_ids"):
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.text(min_size=1, max_size=15).filter(lambda t: t.strip() == t and t), max_size=6),
                min_size=1, max_size=4))
def test_pretokenized_tokens_encode_identically(encoder, token_lists):
    expected = encoder.encode_batch(token_lists)
    actual = _graph(encoder, token_lists)
    for name in ("word_ids", "char_ids"):
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_spec_round_trips(encoder, tmp_path):
    encoder.save(tmp_path / "inputs.json")
    loaded = NerEncoder.load(tmp_path / "inputs.json")
    assert loaded.words == encoder.words and loaded.chars == encoder.chars and loaded.max_chars == 12
