"""The sentiment app through its public commands, as a user runs them."""

import json

import numpy as np
import pytest

from apps.sentiment.predict import main as predict_main
from tests.commands import main_output, main_rows, run

# Inputs the export's parity check never saw (it uses test reviews, "", "   ", "¡Increíble! 😀"
# and a 5,000-word text).
TEXTS = ["A moving, beautifully acted film.", "Dull, predictable and far too long.", "\t\u3000",
         "¡Qué película! 😀 naïve <br /> ΣΑΣ", "great " * 600]


@pytest.fixture(scope="module")
def demo_export(demo_exports):
    """The session's sentiment demo export (tests/demo_exports.py)."""
    return demo_exports("sentiment")


def test_offline_default_trains_evaluates_and_exports(demo_export):
    root, output = demo_export
    assert "DEMO DATA" in output and "Pang & Lee" in output
    assert "precision: float32 (auto on CPU" in output
    metrics = json.loads((root / "runs" / "sentiment" / "metrics.json").read_text())
    assert metrics["demo_data"] is True and metrics["sizes"] == {"train": 160, "validation": 20, "test": 20}
    confusion = np.array(metrics["test"]["confusion_matrix"]["rows_true_columns_predicted"])
    assert confusion.sum() == metrics["test"]["examples"] == 20
    assert metrics["test"]["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
    assert (root / "exported" / "models.config").exists()
    assert (root / "runs" / "sentiment" / "history.png").exists()


def test_savedmodel_and_onnx_predictions_agree(demo_export, capsys):
    root, _ = demo_export
    export = ["--export-dir", root / "exported"]
    saved = main_rows(predict_main, [*export, "--runtime", "savedmodel", *TEXTS], capsys)
    onnx = main_rows(predict_main, [*export, "--runtime", "onnx", *TEXTS], capsys)
    assert len(saved) == len(onnx) == len(TEXTS)
    assert [r["text"] for r in saved] == [r["text"] for r in onnx] == TEXTS
    assert [r["label"] for r in saved] == [r["label"] for r in onnx]
    for a, b in zip(saved, onnx, strict=True):
        assert list(a["probabilities"]) == list(b["probabilities"]) == ["neg", "pos"]
        assert sum(a["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(list(a["probabilities"].values()), list(b["probabilities"].values()), atol=1e-4)
        assert a["probability"] == pytest.approx(b["probability"], abs=1e-4)


def test_predict_reads_standard_input_and_prints_readable_lines(demo_export, capsys):
    root, _ = demo_export
    printed = main_output(predict_main, ["--export-dir", root / "exported", "--runtime", "onnx"], capsys,
                          stdin="great fun\nawful\n")
    lines = printed.strip().splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[0] in ("neg", "pos") and lines[1].endswith("awful")


def test_bad_input_is_one_line_error_naming_file_and_line(tmp_path, isolated_dirs):
    bad = tmp_path / "reviews.tsv"
    bad.write_text("pos\tgreat\nneg\tbad\nthis line has no tab\n", encoding="utf-8")
    result = run("apps.sentiment.train", "--data", str(bad), "--no-export")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}:3:" in result.stderr.strip().splitlines()[-1]


def test_predict_without_export_says_what_to_do(tmp_path):
    result = run("apps.sentiment.predict", "--export-dir", str(tmp_path), "hello")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "python -m apps.sentiment.train" in result.stderr


def test_help_lists_every_flag():
    result = run("apps.sentiment.train", "--help")
    assert result.returncode == 0
    for flag in ("--data", "--epochs", "--export-dir", "--cell", "--bidirectional", "--layers", "--dropout",
                 "--precision", "--strategy", "--clipnorm", "--time-budget", "--embeddings", "--freeze-embeddings",
                 "--w2v-algorithm", "--run-dir", "--seed"):
        assert flag in result.stdout, flag


@pytest.mark.slow
def test_short_run_on_real_imdb_slice_beats_chance(shared_data, tmp_path):
    result = run("apps.sentiment.train", "--data", str(shared_data / "sentiment"), "--limit", "2000",
                 "--epochs", "3", "--max-length", "150", "--no-export", "--verbose", "2",
                 "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert test["examples"] > 2000
    assert test["accuracy"] >= 0.65, f"accuracy {test['accuracy']:.3f} is not clearly above chance"
    assert test["accuracy"] > test["majority_baseline_accuracy"] + 0.1


def test_pretrained_vectors_file_sets_the_embedding_size(tmp_path, isolated_dirs):
    rng = np.random.default_rng(0)
    words = ["the", "film", "movie", "good", "bad", "a", "and", "is"]
    glove = tmp_path / "tiny.glove.txt"
    glove.write_text("".join(f"{w} {' '.join(f'{v:.4f}' for v in rng.normal(size=12))}\n" for w in words))
    result = run("apps.sentiment.train", "--embeddings", str(glove), "--epochs", "1", "--units", "4",
                 "--no-export", "--verbose", "0", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    coverage = json.loads((tmp_path / "run" / "metrics.json").read_text())["embedding_coverage"]
    assert 0 < coverage["types_covered"] <= len(words)
