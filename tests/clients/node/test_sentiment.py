"""The Node.js client classifies exactly as ``python -m apps.sentiment.predict`` does."""

from tests.clients.node.client import assert_rows_match
from tests.commands import json_rows, run

TEXTS = ["A moving, beautifully acted film.", "Dull, predictable and far too long.", "", "¡Increíble! 😀",
         "ＦＵＬＬ-width <br /> ＴＥＸＴ… naïve café", "ΣΑΣ and İstanbul\u200b and tabs\tand\u00a0spaces"]


def test_node_rows_equal_python_rows_from_arguments_and_stdin(demo_exports, node_client):
    root, _ = demo_exports("sentiment")
    export_dir = root / "exported"
    python = json_rows(run("apps.sentiment.predict", "--runtime", "onnx", "--json", "--export-dir", str(export_dir),
                           *TEXTS))
    assert_rows_match(node_client.rows("sentiment", "--export-dir", export_dir, *TEXTS), python)
    piped = node_client.rows("sentiment", "--export-dir", export_dir, "--batch-size", "2",
                             stdin="\n".join(TEXTS) + "\n")
    assert_rows_match(piped, python)
    assert len(python) == len(piped) == len(TEXTS)
    assert [row["text"] for row in piped] == [row["text"] for row in python] == TEXTS


def test_plain_output_matches_python_and_errors_are_one_line(demo_exports, node_client):
    root, _ = demo_exports("sentiment")
    export_dir = root / "exported"
    python = run("apps.sentiment.predict", "--runtime", "onnx", "--export-dir", str(export_dir), *TEXTS[:2])
    node = node_client.run("sentiment", "--export-dir", export_dir, *TEXTS[:2])
    assert node.returncode == 0 and node.stdout == python.stdout
    missing = node_client.run("sentiment", "--export-dir", root / "nowhere", "text")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no sentiment export")
    assert len(missing.stderr.strip().splitlines()) == 1  # no stack trace
    unknown = node_client.run("nosuchapp", "--export-dir", export_dir)
    assert unknown.returncode == 2 and "unknown app" in unknown.stderr
    assert node_client.run("--help").stdout.startswith("usage: node clients/node/cli.js APP")
