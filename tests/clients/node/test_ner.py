"""The Node.js client tags exactly as ``python -m apps.ner.predict --runtime onnx`` does."""

import json

from tests.clients.node.client import assert_rows_match
from tests.commands import run

# Raw sentences: NFKC (full-width letters and digits, the ﬁ ligature, a composed accent),
# <br /> line breaks, invisible format characters, emoji, punctuation splitting, an empty
# input and one of separators only.
TEXTS = [
    "Angela Merkel joined Siemens in Paris last week .",
    "Mr. Schmidt said the deal was worth 40 million dollars.",
    "ＦＵＬＬ-width Ｍｅｒｋｅｌ visited Ｐａｒｉｓ on １９９６-０８-２２ … ﬁne",
    "",
    "\u3000\t ",
    "😀 Police in Berlin arrested two men on Friday!!! 👍🏽",
    "Talks between Siemens<br />and Fiat broke down in Cafe\u0301 naïve İstanbul\u200b .",
    "\"We are very happy,\" she told reporters (U.S.-based) — ΣΑΣ.",
]

# Pretokenized: split on whitespace only (Python's str.split, so \x1c and \x85 too), every
# token kept as typed, one tag per token.
PRETOKENIZED = [
    "Angela Merkel joined Siemens in Paris last week .",
    "U.S.  officials\tmet in New\x85York",
    "ＦＵＬＬ １９９６ 😀 naïve\x1cZürich",
    "",
]


def _export(demo_exports):
    root, _ = demo_exports("ner")
    return root / "exported"


def _json_lines(result):
    """JSON rows split on "\\n" only: the rows may hold \\x85 or \\x1c, which str.splitlines splits on."""
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.split("\n") if line.startswith("{")]


def _python(export_dir, *args, stdin=None):
    return _json_lines(run("apps.ner.predict", "--runtime", "onnx", "--json", "--export-dir", str(export_dir), *args,
                           stdin=stdin))


def _node(node_client, export_dir, *args, stdin=None):
    return _json_lines(node_client.run("ner", "--export-dir", export_dir, "--json", *args, stdin=stdin))


def test_node_rows_equal_python_rows_from_arguments_and_stdin(demo_exports, node_client):
    export_dir = _export(demo_exports)
    python = _python(export_dir, *TEXTS)
    assert [row["text"] for row in python] == TEXTS
    assert any(row["entities"] for row in python)  # the demo model does find entities
    assert "FULL" in python[2]["tokens"] and python[3]["tokens"] == [] and python[4]["tokens"] == []
    assert_rows_match(node_client.rows("ner", "--export-dir", export_dir, *TEXTS), python)

    # standard input, one sentence per line, several model calls. Compared with Python at the
    # same batch size: the model's tags can depend on how wide the batch's character padding
    # is (the longest word in the batch), so both sides must batch alike.
    stdin = "\n".join(TEXTS) + "\n"
    python_piped = _python(export_dir, "--batch-size", "3", stdin=stdin)
    assert [row["text"] for row in python_piped] == TEXTS
    piped = node_client.rows("ner", "--export-dir", export_dir, "--batch-size", "3", stdin=stdin)
    assert_rows_match(piped, python_piped)


def test_pretokenized_rows_equal_python_rows(demo_exports, node_client):
    export_dir = _export(demo_exports)
    python = _python(export_dir, "--pretokenized", *PRETOKENIZED)
    assert [row["tokens"] for row in python] == [text.split() for text in PRETOKENIZED]
    node = _node(node_client, export_dir, "--pretokenized", *PRETOKENIZED)
    assert_rows_match(node, python)
    stdin = "\n".join(PRETOKENIZED) + "\n"
    python_piped = _python(export_dir, "--pretokenized", "--batch-size", "1", stdin=stdin)
    piped = _node(node_client, export_dir, "--pretokenized", "--batch-size", "1", stdin=stdin)
    assert_rows_match(piped, python_piped)


def test_plain_output_matches_python(demo_exports, node_client):
    export_dir = _export(demo_exports)
    python = run("apps.ner.predict", "--runtime", "onnx", "--export-dir", str(export_dir), *TEXTS[:4])
    assert python.returncode == 0, python.stderr[-3000:]
    node = node_client.run("ner", "--export-dir", export_dir, *TEXTS[:4])
    assert node.returncode == 0, node.stderr[-3000:]
    assert node.stdout == python.stdout
    assert "\n    " in node.stdout  # the entity line under each tagged sentence
