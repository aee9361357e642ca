"""The TensorFlow graph tokenizer and the pure-Python reference must agree exactly."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from shared.errors import DataError
from shared.text import (BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID, TextConfig, Tokenizer,
                         Vocabulary, detokenize, tokenize, words_until_eos)
from shared.text_tf import TokenIds, join_until_eos, tokenize_graph

HARD_STRINGS = [
    "",
    "   ",
    "\t\n\r",
    "Hello, World!",
    "It's a GREAT movie... 10/10!!!",
    "Café naïve résumé coöperate Ångström",
    "e\u0301 vs \u00e9 (decomposed and composed)",
    "ÉCOLE İSTANBUL ΣΑΣ Straße ǅemal",
    "ﬁne ＦＵＬＬＷＩＤＴＨ ①②③ x² ½",
    "Numbers: 3.14159, 1,000,000 and 2024-11-23; ٣٤٥ ६७",
    "日本語のテキストと漢字。中文句子，标点！",
    "Привет, мир! Ελληνικά κείμενα. עברית וערבית العربية",
    "हिन्दी भाषा ग्रंथ and தமிழ் and ไทย",
    "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
    "zero\u200bwidth soft\u00adhyphen bom\ufeffhere",
    "nbsp\u00a0and\u2003em space\u3000ideographic\u2028line\u2029para",
    "controls\x00\x01\x1c\x1d\x1e\x1f\x7f\x85done",
    "Great!<br /><br />Loved it<BR>and<br/>more<br   />end",
    "email@example.com https://example.com/a?b=c#d C++ $100 50% #hashtag",
    "tabs\tand\nnewlines\r\nmixed\vvertical\fform",
    "quotes “curly” ‘single’ «guillemets» — dashes – and … ellipsis",
    "word" * 500 + " " + "long " * 3000,
]


def graph_tokens(strings, config):
    ragged = tokenize_graph(tf.constant(strings), config)
    return [[token.decode("utf-8") for token in row] for row in ragged.to_list()]


@pytest.mark.parametrize("config", [TextConfig(), TextConfig(lowercase=False),
                                    TextConfig(unicode_form="NFC", strip_line_breaks=False),
                                    TextConfig(unicode_form="NFKD")], ids=str)
def test_graph_and_reference_give_identical_tokens_on_hard_strings(config):
    expected = [tokenize(text, config=config) for text in HARD_STRINGS]
    assert graph_tokens(HARD_STRINGS, config) == expected


def test_rules_on_examples():
    assert tokenize("It's GREAT!<br />10/10") == ["it", "'", "s", "great", "!", "10", "/", "10"]
    assert tokenize("ΣΑΣ İ", lowercase=True) == ["σας", "i\u0307"]
    assert tokenize("Café", lowercase=False) == ["Café"]
    assert tokenize("e\u0301") == ["\u00e9"]
    assert tokenize("ﬁne ＡＢＣ x²") == ["fine", "abc", "x2"]
    assert tokenize("zero\u200bwidth a\u00a0b") == ["zerowidth", "a", "b"]
    assert tokenize("") == [] and tokenize(" \t\n") == []
    assert tokenize("日本語。") == ["日本語", "。"]


def test_vocabulary_special_ids_and_frequency_order():
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "b", "a"], ["rare"]], min_count=2)
    assert vocab.tokens[:4] == list(SPECIAL_TOKENS)
    assert (vocab.id("[PAD]"), vocab.id("[UNK]"), vocab.id("[BOS]"), vocab.id("[EOS]")) == (0, 1, 2, 3)
    assert vocab.tokens[4:] == ["b", "a"]
    assert vocab.id("rare") == UNK_ID and vocab.id("never seen") == UNK_ID
    assert len(Vocabulary.build([["x", "y", "z"]], max_size=5)) == 5


def test_tokenizer_json_round_trip_and_version_check(tmp_path):
    tokenizer = Tokenizer(Vocabulary.build([tokenize("the movie was good, the end")]), max_length=7)
    path = tmp_path / "tokenizer.json"
    tokenizer.save(path)
    spec = json.loads(path.read_text(encoding="utf-8"))
    assert spec["version"] == 1 and spec["vocabulary"][:2] == ["[PAD]", "[UNK]"]
    again = Tokenizer.load(path)
    assert again.encode("The movie was GOOD") == tokenizer.encode("The movie was GOOD")
    spec["version"] = 99
    path.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(DataError, match="version 99"):
        Tokenizer.load(path)


def test_graph_ids_equal_reference_ids_with_padding_truncation_and_specials():
    corpus = [tokenize(text) for text in HARD_STRINGS]
    tokenizer = Tokenizer(Vocabulary.build(corpus, max_size=60), max_length=12)
    for add_bos, add_eos in [(False, False), (True, True), (True, False)]:
        expected = tokenizer.encode_batch(HARD_STRINGS, add_bos=add_bos, add_eos=add_eos)
        layer = TokenIds(tokenizer, add_bos=add_bos, add_eos=add_eos)
        got = layer(tf.constant(HARD_STRINGS)).numpy()
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, np.array(expected, dtype=np.int32))
    only_empty = TokenIds(tokenizer)(tf.constant(["", " "])).numpy()
    assert only_empty.shape == (2, 1) and (only_empty == PAD_ID).all()
    with_specials = tokenizer.encode("good", add_bos=True, add_eos=True)
    assert with_specials[0] == BOS_ID and with_specials[-1] == EOS_ID


@pytest.mark.slow
def test_exported_token_ids_reload_in_a_fresh_process(tmp_path):
    tokenizer = Tokenizer(Vocabulary.build([tokenize(t) for t in HARD_STRINGS]), max_length=50)
    module = TokenIds(tokenizer)
    serve = tf.function(module.__call__, input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "ids"), signatures={"serving_default": serve})
    script = (
        "import sys, json, tensorflow as tf, tensorflow_text\n"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "out = m.signatures['serving_default'](tf.constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps(list(out.values())[0].numpy().tolist()))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ids"), json.dumps(HARD_STRINGS[:8])],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == tokenizer.encode_batch(HARD_STRINGS[:8])


DETOKENIZE_EXAMPLES = [
    ("¿Dónde está el T-shirt?", "¿Dónde está el T-shirt?"),
    ("I don't know, Tom.", "I don't know, Tom."),
    ("«Hola», dijo (en voz baja)...", "«Hola», dijo (en voz baja)..."),
    ("rock-and-roll / jazz 100 %", "rock-and-roll/jazz 100%"),
    ('Er sagt: " ja "', 'Er sagt: " ja "'),
]


@pytest.mark.parametrize("text, expected", DETOKENIZE_EXAMPLES)
def test_detokenize_undoes_the_tokenizer_on_ordinary_punctuation(text, expected):
    assert detokenize(tokenize(text, lowercase=False)) == expected


def test_graph_join_and_detokenize_equal_the_reference_on_hard_strings():
    config = TextConfig(unicode_form="NFC", lowercase=False)
    texts = [text for text, _ in DETOKENIZE_EXAMPLES] + HARD_STRINGS
    vocabulary = Vocabulary.build(tokenize(text, config=config) for text in texts)
    tokenizer = Tokenizer(vocabulary, config, max_length=400)
    rows = [tokenizer.encode(text) + [EOS_ID] for text in texts]
    rows[0] = rows[0][:3] + [UNK_ID, BOS_ID] + rows[0][3:]  # special tokens are dropped, not printed
    width = max(len(row) for row in rows) + 2
    ids = np.array([row + [PAD_ID] * (width - len(row)) for row in rows], np.int32)
    ids[1, -1] = vocabulary.id("Tom")  # after [EOS]: ignored
    expected_words = [words_until_eos(tokenizer, row) for row in ids]
    assert expected_words[1] == tokenize(texts[1], config=config)
    joined = join_until_eos(tf.constant(ids), vocabulary.tokens).numpy()
    assert [text.decode("utf-8") for text in joined] == [" ".join(words) for words in expected_words]
    detokenized = join_until_eos(tf.constant(ids), vocabulary.tokens, detokenize=True).numpy()
    assert [text.decode("utf-8") for text in detokenized] == [detokenize(words) for words in expected_words]
