"""The textgen app through its public commands, as a user runs them."""

import importlib
import json
import math
import re
import shlex
from collections import Counter

import numpy as np
import pytest

from apps.textgen.data import encode_documents, load_corpus, load_tokenizer
from apps.textgen.generate import main as generate_main
from apps.textgen.score import main as score_main
from shared.paths import REPO_ROOT
from shared.text import EOS_ID
from tests.commands import main_output, main_rows, run

# Inputs the export's parity check never saw (it scores test documents, "" and "   ", and
# continues the first words of test documents and the empty prompt).
SENTENCES = ["The fire spread towards the town.", "Police said the man was arrested.", "\t \u3000", "¡Olé! 😀"]
PROMPTS = ["the government", "police said", "Ünïcödé 😀 fire"]


def _env(root):
    return {"SEQAPPS_CACHE": str(root / "cache"), "SEQAPPS_RUNS_DIR": str(root / "runs"),
            "SEQAPPS_EXPORT_DIR": str(root / "exported")}


@pytest.fixture(scope="module")
def textgen_export(demo_exports):
    """The session's textgen demo export (tests/demo_exports.py): ``(root, output)``."""
    return demo_exports("textgen")


def _export(root):
    return ["--export-dir", str(root / "exported")]


def unigram_perplexity(run_dir, split="test"):
    """``(perplexity, targets)`` on ``split`` of the unigram model of the run's training data.

    Counted on the very documents the run trained on (its config.json: data, split
    fractions, seed, --limit), encoded with the run's own tokenizer (the same vocabulary and
    [UNK] mapping), over the same targets as the app's metrics: every token and the final
    [EOS] of each document. Maximum likelihood, the best unigram model of the training text.
    """
    config = json.loads((run_dir / "config.json").read_text())
    corpus = load_corpus(config["data"], encoding=config["encoding"], seed=config["seed"],
                         validation_fraction=config["validation_fraction"], test_fraction=config["test_fraction"])
    train = corpus.train[:config["limit"]] if config["limit"] else corpus.train
    tokenizer = load_tokenizer(next(path for path in (run_dir / "tokenizer.json", run_dir / "char_tokenizer.json")
                                    if path.exists()))
    counts = Counter(target for ids in encode_documents(tokenizer, train) for target in (*ids, EOS_ID))
    targets = [target for ids in encode_documents(tokenizer, getattr(corpus, split)) for target in (*ids, EOS_ID)]
    assert all(counts[target] for target in targets), "a target the training text never has: no ML unigram"
    total = sum(counts.values())
    log_prob = sum(math.log(counts[target] / total) for target in targets)
    return math.exp(-log_prob / len(targets)), len(targets)


def test_offline_default_trains_compares_with_kn_and_exports(textgen_export):
    root, output = textgen_export
    assert "DEMO DATA" in output and "lee_background.cor" in output
    assert "validation perplexity per token: LSTM" in output and "vs KN trigram" in output
    metrics = json.loads((root / "runs" / "textgen" / "metrics.json").read_text())
    assert metrics["demo_data"] is True and metrics["sizes"]["train"] == 30
    for split in ("validation", "test"):
        model, kn = metrics[split]["model"], metrics[split]["kn_trigram"]
        assert model["tokens"] == kn["tokens"] > 100  # the same targets for both models
        assert model["bits_per_token"] == pytest.approx(math.log2(model["perplexity"]))
        assert metrics[split]["perplexity_ratio"] == pytest.approx(model["perplexity"] / kn["perplexity"])
    # The floor: a trained language model beats the unigram model of its own training text.
    unigram, targets = unigram_perplexity(root / "runs" / "textgen")
    test = metrics["test"]
    assert targets == test["model"]["tokens"]  # the same targets as the metrics
    assert test["model"]["perplexity"] < unigram, f"LSTM {test['model']['perplexity']:.2f} vs unigram {unigram:.2f}"
    assert test["kn_trigram"]["perplexity"] < unigram
    manifest = json.loads((root / "exported" / "textgen" / "manifest.json").read_text())
    assert set(manifest["onnx"]["models"]) == {"step"}
    assert manifest["savedmodel"]["inputs"] == {"sentences": {"dtype": "string", "shape": [None]}}
    assert set(manifest["savedmodel"]["other_signatures"]) == {"score", "generate"}


def test_scores_agree_between_savedmodel_and_onnx(textgen_export, capsys):
    root, _ = textgen_export
    saved = main_rows(score_main, [*_export(root), "--runtime", "savedmodel", *SENTENCES], capsys)
    onnx = main_rows(score_main, [*_export(root), "--runtime", "onnx"], capsys, stdin="\n".join(SENTENCES) + "\n")
    assert len(saved) == len(onnx) == len(SENTENCES)
    assert [row["text"] for row in saved] == [row["text"] for row in onnx] == SENTENCES
    assert saved[2]["tokens"] == 1  # whitespace only: only [EOS] is predicted
    for a, b in zip(saved, onnx, strict=True):
        assert a["tokens"] == b["tokens"] and a["log_prob"] < 0
        assert a["perplexity"] == pytest.approx(np.exp(-a["log_prob"] / a["tokens"]), rel=1e-3)
        # the export's documented tolerance: relative score difference 1e-4 (rows are rounded to 4 decimals)
        assert a["log_prob"] == pytest.approx(b["log_prob"], rel=1e-4, abs=1e-4)
        assert a["perplexity"] == pytest.approx(b["perplexity"], rel=1e-4, abs=1e-4)


def test_greedy_generation_agrees_token_for_token(textgen_export, capsys):
    root, _ = textgen_export
    flags = ["--length", "15", "--temperature", "0"] + [f"--prompt={prompt}" for prompt in PROMPTS]
    saved = main_rows(generate_main, [*_export(root), "--runtime", "savedmodel", *flags], capsys)
    onnx = main_rows(generate_main, [*_export(root), "--runtime", "onnx", *flags], capsys)
    assert len(saved) == len(onnx) == len(PROMPTS)
    assert [row["prompt"] for row in saved] == [row["prompt"] for row in onnx] == PROMPTS
    assert [row["token_ids"] for row in saved] == [row["token_ids"] for row in onnx]
    assert [row["text"] for row in saved] == [row["text"] for row in onnx]
    assert all(len(row["token_ids"]) == 15 for row in saved)
    for a, b in zip(saved, onnx, strict=True):
        assert a["log_prob"] == pytest.approx(b["log_prob"], rel=1e-4, abs=1e-4)


def test_sampling_repeats_for_one_seed(textgen_export, capsys):
    root, _ = textgen_export
    flags = ["--length", "10", "--temperature", "1.2", "--top-k", "50", "--seed", "11", "--runtime", "savedmodel"]
    rows = main_rows(generate_main, [*_export(root), *flags, "--prompt", "the fire", "--prompt", "the fire"], capsys)
    assert len(rows) == 2
    assert rows[0]["token_ids"] == rows[1]["token_ids"] and rows[0]["full_text"].startswith("the fire")


def test_help_lists_every_flag():
    result = run("apps.textgen.train", "--help")
    assert result.returncode == 0
    for flag in ("--data", "--level", "--cell", "--layers", "--units", "--window", "--clipnorm", "--clip-norm",
                 "--epochs", "--time-budget", "--embeddings", "--export-dir", "--no-export", "--precision",
                 "--strategy", "--seed", "--vocab-size", "--min-count"):
        assert flag in result.stdout, flag


def test_character_level_reports_bits_per_character(tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text("".join(f"line {i}: the cat sat on mat {i % 7}.\n" for i in range(120)), encoding="utf-8")
    # three short epochs at a high learning rate: enough to learn the lines' characters
    result = run("apps.textgen.train", "--data", str(text), "--level", "char", "--cell", "gru", "--layers", "1",
                 "--units", "16", "--epochs", "3", "--batch-size", "8", "--learning-rate", "1e-2", "--window", "32",
                 "--sample-length", "5", "--verbose", "0", "--no-export", env=_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bits per character" in result.stdout and "random character embeddings" in result.stdout
    metrics = json.loads((tmp_path / "runs" / "textgen" / "metrics.json").read_text())
    assert metrics["level"] == "char" and metrics["vocabulary_size"] < 40
    model = metrics["test"]["model"]
    assert model["bits_per_token"] == pytest.approx(math.log2(model["perplexity"]))
    unigram, targets = unigram_perplexity(tmp_path / "runs" / "textgen")
    assert targets == model["tokens"]
    assert model["bits_per_token"] < math.log2(unigram), f"{model['bits_per_token']:.3f} vs {math.log2(unigram):.3f}"


def test_the_readme_score_and_generate_commands_run(textgen_export, capsys, monkeypatch):
    root, _ = textgen_export
    monkeypatch.setenv("SEQAPPS_EXPORT_DIR", str(root / "exported"))
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## The textgen app"):]
    block = section[section.index("```bash") + len("```bash"):section.index("```", section.index("```bash") + 7)]
    commands = [line.split("  #")[0].strip() for line in block.splitlines()
                if re.search(r"apps\.textgen\.(score|generate)", line)]
    assert len(commands) >= 3
    for command in commands:
        module, *args = shlex.split(command)[2:]  # after "python -m"
        printed = main_output(importlib.import_module(module).main, args, capsys)  # in this process
        assert printed.strip(), f"`{command}` printed nothing"
