"""The translation app through its public commands, as a user runs them."""

import json
import random

import matplotlib.image
import pytest

from apps.translation.predict import main as predict_main
from tests.commands import main_rows, run
from tests.datafiles import command_error, write

OFFLINE = {"SEQAPPS_OFFLINE": "1"}
SMALL_MODEL = ["--units", "128", "--batch-size", "32", "--verbose", "2"]


def environment(root):
    return {**OFFLINE, "SEQAPPS_RUNS_DIR": str(root / "runs"), "SEQAPPS_CACHE": str(root / "cache"),
            "SEQAPPS_EXPORT_DIR": str(root / "exported")}


@pytest.fixture(scope="module")
def demo_export(demo_exports):
    """The session's translation demo export (tests/demo_exports.py)."""
    return demo_exports("translation")


def metrics_of(root, run_name="translation"):
    return json.loads((root / "runs" / run_name / "metrics.json").read_text())


def test_demo_model_learns_the_demo_grammar(demo_export):
    root, output = demo_export
    assert "DEMO DATA" in output
    metrics = metrics_of(root)
    assert metrics["demo_data"] is True and metrics["languages"] == {"source": "en", "target": "es"}
    test = metrics["test"]
    assert test["pairs"] == metrics["sizes"]["test"] > 50
    assert test["beam_3"]["bleu"] >= 70, test
    assert test["beam_3"]["chrf"] >= 80, test
    assert set(test["greedy"]) >= {"bleu", "bleu_lowercase", "chrf", "exact_match", "signature"}
    assert "13a" in test["greedy"]["signature"]["bleu"]
    rows = (root / "runs" / "translation" / "test_translations.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "source\treference\tgreedy\tbeam" and len(rows) == test["pairs"] + 1
    heatmap = matplotlib.image.imread(root / "runs" / "translation" / "attention.png")
    assert heatmap.shape[0] > 200 and heatmap.shape[1] > 200


def test_export_holds_an_encoder_and_a_decoder_step(demo_export):
    root, _ = demo_export
    manifest = json.loads((root / "exported" / "translation" / "manifest.json").read_text())
    assert manifest["savedmodel"]["inputs"] == {"text": {"dtype": "string", "shape": [None]}}
    assert set(manifest["savedmodel"]["outputs"]) == {"translation", "token_ids", "score"}
    models = manifest["onnx"]["models"]
    assert set(models["encoder"]["inputs"]) == {"source"}
    assert set(models["encoder"]["outputs"]) == {"h", "c", "memory", "mask"}
    assert set(models["decoder_step"]["inputs"]) == {"token", "h", "c", "memory", "mask"}
    assert set(models["decoder_step"]["outputs"]) == {"log_probs", "new_h", "new_c", "attention"}
    assert manifest["parity"]["decoding"]["beam_size"] == 3
    assert set(manifest["files"]) == {"source_tokenizer.json", "target_tokenizer.json", "decoding.json"}
    decoding = json.loads((root / "exported" / "translation" / manifest["files"]["decoding.json"]).read_text())
    assert decoding["state"] == ["h", "c", "memory", "mask"] and decoding["detokenize"]["rules"]


# Sentences the export's parity check never saw (it translates test pairs, "" and "   ").
SENTENCES = ["The red cat sees the dog.", "Does my old horse follow this small truck?", "\t", "\u3000 \u00a0",
             "Ünïcödé ☃ and words it never saw, 12345!", "the " * 200,
             "The cat sees the caf\u00e9.", "The cat sees the cafe\u0301."]  # composed and decomposed é


def assert_runtimes_agree(export_dir, sentences, capsys):
    """The same translations and token ids from ``--runtime savedmodel`` and ``onnx``, scores within 1e-4."""
    rows = {runtime: main_rows(predict_main, ["--export-dir", export_dir, "--runtime", runtime, *sentences], capsys)
            for runtime in ("savedmodel", "onnx")}
    saved, onnx = rows["savedmodel"], rows["onnx"]
    assert len(saved) == len(onnx) == len(sentences)
    assert [row["text"] for row in saved] == [row["text"] for row in onnx] == list(sentences)
    assert [row["translation"] for row in saved] == [row["translation"] for row in onnx]
    assert [row["token_ids"] for row in saved] == [row["token_ids"] for row in onnx]
    for a, b in zip(saved, onnx, strict=True):
        assert abs(a["score"] - b["score"]) <= 1e-4, (a, b)  # the export's parity tolerance
    return saved


def test_savedmodel_and_onnx_predict_the_same_translations(demo_export, capsys):
    root, _ = demo_export
    saved = assert_runtimes_agree(root / "exported", SENTENCES, capsys)
    assert saved[0]["translation"] == "El gato rojo ve al perro."
    assert saved[-2]["token_ids"] == saved[-1]["token_ids"]  # one NFC normalisation in the graph


def test_onnx_beam_one_is_greedy_and_the_savedmodel_refuses_another_beam(demo_export, capsys):
    root, _ = demo_export
    metrics = metrics_of(root)
    test_pairs = (root / "runs" / "translation" / "test_translations.tsv").read_text(encoding="utf-8").splitlines()[1:6]
    sources = [line.split("\t")[0] for line in test_pairs]
    greedy = [line.split("\t")[2] for line in test_pairs]
    export = ["--export-dir", root / "exported"]
    rows = main_rows(predict_main, [*export, "--runtime", "onnx", "--beam", "1", *sources], capsys)
    assert [row["translation"] for row in rows] == greedy, metrics["test"]["greedy"]
    error = command_error(predict_main, [*export, "--beam", "1", "x"], capsys)
    assert "beam 3" in error


def test_stdin_lines_are_translated_in_order(demo_export, capsys):
    root, _ = demo_export
    lines = ["The cats are near the river.", "", "A dog."]
    piped = run("apps.translation.predict", stdin="\n".join(lines) + "\n", env=environment(root))
    assert piped.returncode == 0, piped.stderr[-2000:]
    alone = [main_rows(predict_main, ["--export-dir", root / "exported", line], capsys)
             for line in reversed(lines)]
    assert [len(rows) for rows in alone] == [1, 1, 1]
    assert piped.stdout.splitlines() == [rows[0]["translation"] for rows in alone[::-1]]


def reverse_task(path, count=1500, seed=7):
    """Sequences of letters and the same letters reversed: learnable exactly with attention."""
    rng = random.Random(seed)
    lines = set()
    while len(lines) < count:
        letters = [rng.choice("abcdefghij") for _ in range(rng.randint(2, 6))]
        lines.add(f"{' '.join(letters)}\t{' '.join(reversed(letters))}")
    return write(path, "\n".join(sorted(lines)) + "\n")


@pytest.mark.slow
def test_reversing_sequences_is_learned_exactly(tmp_path):
    data = reverse_task(tmp_path / "reverse.tsv")
    result = run("apps.translation.train", "--data", str(data), "--units", "64", "--embeddings", "none",
                 "--embedding-dim", "16", "--epochs", "30", "--patience", "6", "--learning-rate", "3e-3",
                 "--beam", "1", "--validation-fraction", "0.1", "--test-fraction", "0.1", "--no-export",
                 "--verbose", "0", env=environment(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    test = metrics_of(tmp_path)["test"]
    assert test["pairs"] > 100 and test["greedy"]["exact_match"] == 1.0, test
    assert test["greedy"]["bleu"] == 100.0


@pytest.mark.slow
def test_mixed_precision_on_two_replicas_trains_and_exports_with_parity(tmp_path, capsys):
    data = reverse_task(tmp_path / "reverse.tsv", count=600)
    result = run("apps.translation.train", "--data", str(data), "--precision", "mixed_float16", "--strategy",
                 "mirrored", "--cpu-devices", "2", "--attention", "bahdanau", "--units", "32", "--embeddings",
                 "none", "--embedding-dim", "16", "--epochs", "2", "--beam", "2", "--batch-size", "16", "--verbose", "2",
                 env=environment(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MirroredStrategy with 2 replicas" in result.stdout and "precision: mixed_float16" in result.stdout
    assert "overflow" not in result.stderr
    manifest = json.loads((tmp_path / "exported" / "translation" / "manifest.json").read_text())
    assert "keys" in manifest["onnx"]["models"]["decoder_step"]["inputs"]
    # sequences the export's parity check (test pairs, "" and "   ") never saw: the reverse task's
    # letters in new orders, and longer than any it trained on
    assert_runtimes_agree(tmp_path / "exported", ["j i h g f e d c b a", "a a a a", "b", "j"], capsys)


def test_a_line_without_a_tab_stops_with_its_file_and_line(tmp_path):
    data = write(tmp_path / "pairs.tsv", "Hello.\tHola.\nGoodbye without a tab\n")
    result = run("apps.translation.train", "--data", str(data), "--no-export", env=environment(tmp_path))
    assert result.returncode == 2
    assert f"{data}:2:" in result.stderr and "Traceback" not in result.stderr


def test_every_flag_is_in_the_help():
    result = run("apps.translation.train", "--help")
    assert result.returncode == 0
    for flag in ("--data", "--source", "--target", "--reverse", "--attention", "--cell", "--bidirectional",
                 "--layers", "--beam", "--length-penalty", "--time-budget", "--export-dir", "--strategy"):
        assert flag in result.stdout
    assert "bahdanau" in result.stdout and "luong" in result.stdout
