"""The Node.js client translates exactly as ``python -m apps.translation.predict --runtime onnx``."""

from tests.clients.node.client import assert_rows_match
from tests.commands import json_rows, run

SENTENCES = ["The red cat sees the dog.", "Do the old horses follow my small truck?", "",
             "¿Unknown wörds, ΣΑΣ!", "ＴＨＥ　ＲＥＤ cat<br/>sees\u200bthe dog . . ."]


def python_rows(export_dir, *args):
    return json_rows(run("apps.translation.predict", "--runtime", "onnx", "--json", "--export-dir", str(export_dir),
                         *args))


def test_node_translations_equal_python_with_the_exported_beam_and_others(demo_exports, node_client):
    export_dir = demo_exports("translation")[0] / "exported"
    python = python_rows(export_dir, *SENTENCES)
    assert_rows_match(node_client.rows("translation", "--export-dir", export_dir, *SENTENCES), python)
    assert python[0]["translation"] and python[0]["token_ids"][-1] == 0
    for beam in ("1", "4"):
        assert_rows_match(node_client.rows("translation", "--export-dir", export_dir, "--beam", beam, *SENTENCES),
                          python_rows(export_dir, "--beam", beam, *SENTENCES))


def test_stdin_batches_and_plain_output(demo_exports, node_client):
    export_dir = demo_exports("translation")[0] / "exported"
    piped = node_client.rows("translation", "--export-dir", export_dir, "--batch-size", "2",
                             stdin="\r\n".join(SENTENCES) + "\r\n")
    assert [row["text"] for row in piped] == SENTENCES
    assert_rows_match(piped, python_rows(export_dir, *SENTENCES))
    plain = node_client.run("translation", "--export-dir", export_dir, SENTENCES[0])
    assert plain.returncode == 0 and plain.stdout == piped[0]["translation"] + "\n"
    bad = node_client.run("translation", "--export-dir", export_dir, "--beam", "0", "x")
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --beam must be an integer >= 1, not 0"
