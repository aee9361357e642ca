"""One tokenizer spec, three implementations, identical ids on any Unicode text.

The SavedModel tokenises in TensorFlow graph ops (``shared/text_tf.py``), Python clients with
``shared/text.py`` and JavaScript clients with ``clients/node/lib/tokenizer.js``; all three
read the same ``tokenizer.json``. Hypothesis generates the text. Characters unassigned in
Python's Unicode database are left out: the three bundle different Unicode versions, and
how a newer character is classified is the documented exception to parity.
"""

import json
import subprocess
import sys
import unicodedata

import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.text import TOKENIZER_VERSION, TextConfig, Tokenizer, Vocabulary, tokenize
from shared.text_tf import TokenIds
from tests.clients.node.client import CLIENT_DIR
from tests.shared.test_text import HARD_STRINGS

CONFIGS = {"nfkc-lower": TextConfig(), "nfkc-cased": TextConfig(lowercase=False),
           "nfc-lower-keep-br": TextConfig(unicode_form="NFC", strip_line_breaks=False)}

# Every assigned code point Python knows (no surrogates, no Cn), weighted towards the
# characters the rules treat specially: separators, controls, format characters, marks.
ASSIGNED = st.characters(exclude_categories=("Cs", "Cn"))
TRICKY = st.sampled_from(list(" \t\n\r\x00\x85\u00a0\u2028\u3000\u200b\u00ad\ufeff\u0301\u0307İΣσςﬁ½²①<>/bBrR'.-"))
TEXTS = st.lists(st.text(st.one_of(ASSIGNED, TRICKY), max_size=40), min_size=1, max_size=12)


class JsTokenizer:
    """``node clients/node/tokenize.js SPEC``, kept running: one JSON line in, one out."""

    def __init__(self, node, spec_path):
        self.process = subprocess.Popen([node, str(CLIENT_DIR / "tokenize.js"), str(spec_path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)

    def __call__(self, text):
        self.process.stdin.write(json.dumps(text) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the JavaScript tokenizer exited"
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


def vocabulary_for(config):
    """A vocabulary of real tokens (from the hard strings) so ids are not all [UNK]."""
    return Vocabulary.build([tokenize(text, config=config) for text in HARD_STRINGS[:-1]])


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def three_tokenizers(request, node_client, tmp_path_factory):
    config = CONFIGS[request.param]
    tokenizer = Tokenizer(vocabulary_for(config), config, max_length=24)
    spec = tmp_path_factory.mktemp("spec") / "tokenizer.json"
    tokenizer.save(spec)
    graph = TokenIds(Tokenizer.load(spec))
    javascript = JsTokenizer(node_client.node, spec)
    yield Tokenizer.load(spec), graph, javascript
    javascript.close()


def graph_rows(graph, texts):
    ids = graph(tf.constant(texts)).numpy()
    tokens = graph.tokens(tf.constant(texts)).to_list()
    return [[token.decode("utf-8") for token in row] for row in tokens], ids.tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=TEXTS)
def test_graph_python_and_javascript_give_identical_ids(three_tokenizers, texts):
    python, graph, javascript = three_tokenizers
    graph_tokens, graph_ids = graph_rows(graph, texts)
    python_ids = python.encode_batch(texts)
    assert graph_ids == python_ids
    width = len(python_ids[0])
    for text, tokens, ids in zip(texts, graph_tokens, python_ids, strict=True):
        js = javascript(text)
        assert js["tokens"] == python.tokenize(text) == tokens, ascii(text)
        assert js["ids"] + [0] * (width - len(js["ids"])) == ids, ascii(text)


def test_hard_strings_agree_in_all_three(three_tokenizers):
    python, graph, javascript = three_tokenizers
    graph_tokens, graph_ids = graph_rows(graph, HARD_STRINGS)
    assert graph_ids == python.encode_batch(HARD_STRINGS)
    for text, tokens in zip(HARD_STRINGS, graph_tokens, strict=True):
        assert javascript(text)["tokens"] == python.tokenize(text) == tokens, ascii(text[:60])


def test_spec_describes_every_rule_and_readers_check_its_version(tmp_path, node_client):
    spec = Tokenizer(vocabulary_for(TextConfig())).to_dict()
    assert spec["version"] == TOKENIZER_VERSION and spec["format"] == "seqapps-tokenizer"
    assert {"unicode_form", "lowercase", "strip_line_breaks", "line_break_pattern"} <= set(spec["normalization"])
    assert spec["splitting"]["unicode_version"] == unicodedata.unidata_version
    assert spec["special_ids"] == {"pad": 0, "unk": 1, "bos": 2, "eos": 3}
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**spec, "version": TOKENIZER_VERSION + 1}))
    result = subprocess.run([node_client.node, str(CLIENT_DIR / "tokenize.js"), str(future)], input="",
                            capture_output=True, text=True)
    assert result.returncode == 2 and f"tokenizer version {TOKENIZER_VERSION + 1} is not supported" in result.stderr


def test_python_reference_imports_no_tensorflow():
    code = "import sys, shared.text, apps.ner.encoding; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=CLIENT_DIR.parent.parent)
    assert result.stdout.strip() == "False", result.stderr[-2000:]
