"""The NER app through its public commands, as a user runs them."""

import json

import numpy as np
import onnxruntime
import pytest

from apps.ner.crf import viterbi_decode
from apps.ner.encoding import NerEncoder
from apps.ner.predict import main as predict_main
from tests.commands import main_output, main_rows, run

# Sentences the export's parity check never saw (it tags test sentences, "", "   ", one
# Merkel/Macron sentence and "Ünïcödé Zürich 東京 😀").
SENTENCES = ["Maria Lopez joined the Bank of England in New York last week .",
             "\t\u3000 ", "Ünïcödé Genève 大阪 🙂 Straße", "Jordan spoke in Washington ."]


def assert_runtimes_agree(export_dir, sentences, capsys, *flags):
    """The same rows, token for token and tag for tag, from ``--runtime savedmodel`` and ``onnx``."""
    rows = {runtime: main_rows(predict_main, ["--export-dir", export_dir, "--runtime", runtime, *flags, *sentences],
                               capsys) for runtime in ("savedmodel", "onnx")}
    saved, onnx = rows["savedmodel"], rows["onnx"]
    assert len(saved) == len(onnx) == len(sentences)
    assert [r["text"] for r in saved] == [r["text"] for r in onnx] == list(sentences)
    for a, b in zip(saved, onnx, strict=True):
        assert (a["tokens"], a["tags"], a["entities"]) == (b["tokens"], b["tags"], b["entities"]), a["text"]
    return saved


@pytest.fixture(scope="module")
def demo_export(demo_exports):
    """The session's ner demo export (tests/demo_exports.py)."""
    return demo_exports("ner")


def test_offline_default_trains_scores_and_exports(demo_export):
    root, output = demo_export
    assert "DEMO DATA" in output
    metrics = json.loads((root / "runs" / "ner" / "metrics.json").read_text())
    assert metrics["demo_data"] is True and metrics["scheme"] == "iobes"
    overall = metrics["test"]["overall"]
    assert set(metrics["test"]["per_type"]) == {"PER", "ORG", "LOC", "MISC"}
    assert overall["gold_entities"] == metrics["sizes"]["test"]["entities"] > 0
    # The demo sentences come from templates: after a few epochs the tagger must find most entities.
    assert overall["f1"] >= 0.6, overall
    predictions = (root / "runs" / "ner" / "test_predictions.txt").read_text().strip().split("\n\n")
    assert len(predictions) == metrics["sizes"]["test"]["sentences"]
    manifest = json.loads((root / "exported" / "ner" / "manifest.json").read_text())
    assert set(manifest["onnx"]["inputs"]) == {"word_ids", "char_ids"}
    assert set(manifest["savedmodel"]["outputs"]) >= {"tokens", "tags", "lengths"}
    assert "tag_tokens" in manifest["savedmodel"]["other_signatures"]
    assert (root / "runs" / "ner" / "history.png").exists()


def test_savedmodel_and_onnx_tag_alike(demo_export, capsys):
    root, _ = demo_export
    saved = assert_runtimes_agree(root / "exported", SENTENCES, capsys)
    first = saved[0]
    assert first["tokens"][:2] == ["Maria", "Lopez"] and len(first["tags"]) == len(first["tokens"])
    assert saved[1]["tokens"] == [] and saved[1]["entities"] == []
    for entity in first["entities"]:
        assert entity["text"] == " ".join(first["tokens"][entity["start"]:entity["end"]])


def test_pretokenized_input_keeps_one_tag_per_token(demo_export, capsys):
    root, _ = demo_export
    line = "U.S. officials met Maria Lopez in New York on 1996-08-22 ."
    tagged = {}
    for runtime in ("savedmodel", "onnx"):
        rows = main_rows(predict_main, ["--export-dir", root / "exported", "--pretokenized", "--runtime", runtime],
                         capsys, stdin=line + "\n")
        assert len(rows) == 1
        assert rows[0]["tokens"] == line.split() and len(rows[0]["tags"]) == len(line.split())
        tagged[runtime] = rows[0]["tags"]
    assert tagged["savedmodel"] == tagged["onnx"]
    readable = main_output(predict_main, ["--export-dir", root / "exported", "--runtime", "onnx", "--pretokenized",
                                          line], capsys)
    assert "U.S." in readable


def test_onnx_tags_equal_reference_viterbi_on_its_emissions(demo_export):
    """The in-graph decoder against the reference one, from the same exported emissions."""
    root = demo_export[0] / "exported" / "ner"
    manifest = json.loads((root / "manifest.json").read_text())
    encoder = NerEncoder.load(root / manifest["files"]["inputs.json"])
    session = onnxruntime.InferenceSession(str(root / manifest["onnx"]["path"]), providers=["CPUExecutionProvider"])
    feed = encoder.encode_batch([encoder.tokenize(s) for s in SENTENCES])
    emissions, tag_ids = session.run(["emissions", "tag_ids"], feed)
    crf = json.loads((root / manifest["files"]["crf.json"]).read_text())
    keys = ("transitions_from_row_to_column", "start", "end")
    transitions, start, end = (np.array(crf[key], np.float32) for key in keys)
    mask = feed["word_ids"] > 0
    reference = viterbi_decode(emissions, mask, transitions, start, end).numpy()
    np.testing.assert_array_equal(reference, tag_ids)


def test_malformed_conll_line_is_one_line_error(tmp_path, isolated_dirs):
    bad = tmp_path / "train.txt"
    bad.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nGerman JJ B-MISC\n", encoding="utf-8")
    result = run("apps.ner.train", "--data", str(bad), "--no-export")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"{bad}:4:" in last and "German JJ B-MISC" in last


def test_help_lists_every_flag():
    result = run("apps.ner.train", "--help")
    assert result.returncode == 0
    for flag in ("--data", "--epochs", "--export-dir", "--crf", "--no-crf", "--char-features", "--no-char-features",
                 "--embeddings", "--tag-scheme", "--units", "--layers", "--time-budget", "--strategy", "--precision"):
        assert flag in result.stdout, flag
    predict = run("apps.ner.predict", "--help")
    for flag in ("--runtime", "--json", "--pretokenized", "--export-dir"):
        assert flag in predict.stdout, flag


@pytest.mark.slow
def test_short_real_conll_run_reaches_nontrivial_f1(shared_data, tmp_path, isolated_dirs):
    result = run("apps.ner.train", "--data", str(shared_data / "ner" / "conll2003"), "--limit", "3000",
                 "--epochs", "3", "--learning-rate", "3e-3", "--no-export", "--verbose", "2", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["sizes"]["test"]["sentences"] == 3453
    assert metrics["test"]["overall"]["f1"] >= 0.5, metrics["test"]["overall"]


def test_softmax_head_without_char_features_exports_with_parity(tmp_path, isolated_dirs, capsys):
    """The ablation flags build a model that trains, scores and exports like the full one."""
    result = run("apps.ner.train", "--no-crf", "--no-char-features", "--embeddings", "none", "--tag-scheme", "iob2",
                 "--epochs", "2", "--units", "16", "--verbose", "0", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((isolated_dirs / "exported" / "ner" / "manifest.json").read_text())
    assert "crf.json" not in manifest["files"]
    assert_runtimes_agree(isolated_dirs / "exported", SENTENCES, capsys)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["options"]["crf"] is False
