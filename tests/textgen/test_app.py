"""The textgen app through its public commands, as a user runs them."""

import json
import re
import shlex

import numpy as np
import pytest

from shared.paths import REPO_ROOT
from tests.commands import json_rows, run

SENTENCES = ["The fire spread towards the town.", "Police said the man was arrested.", "", "¡Olé! 😀"]
PROMPTS = ["the government", "", "police said"]


def _env(root):
    return {"SEQAPPS_CACHE": str(root / "cache"), "SEQAPPS_RUNS_DIR": str(root / "runs"),
            "SEQAPPS_EXPORT_DIR": str(root / "exported")}


@pytest.fixture(scope="module")
def textgen_export(demo_exports):
    """The session's textgen demo export (tests/demo_exports.py): ``(root, output)``."""
    return demo_exports("textgen")


def _export(root):
    return ["--export-dir", str(root / "exported"), "--json"]


def test_offline_default_trains_compares_with_kn_and_exports(textgen_export):
    root, output = textgen_export
    assert "DEMO DATA" in output and "lee_background.cor" in output
    assert "validation perplexity per token: LSTM" in output and "vs KN trigram" in output
    metrics = json.loads((root / "runs" / "textgen" / "metrics.json").read_text())
    assert metrics["demo_data"] is True and metrics["sizes"]["train"] == 30
    for split in ("validation", "test"):
        model, kn = metrics[split]["model"], metrics[split]["kn_trigram"]
        assert model["tokens"] == kn["tokens"] > 100  # the same targets for both models
        assert 1 < model["perplexity"] < metrics["vocabulary_size"] * 1.5 and 1 < kn["perplexity"]
        assert metrics[split]["perplexity_ratio"] == pytest.approx(model["perplexity"] / kn["perplexity"])
    manifest = json.loads((root / "exported" / "textgen" / "manifest.json").read_text())
    parity = manifest["parity"]
    assert all(parity["greedy_equal"].values()) and parity["tokens_equal"]
    assert max(v for entry in parity["score"].values() for v in entry.values()) <= 1e-4
    assert set(manifest["onnx"]["models"]) == {"step"}
    assert manifest["savedmodel"]["inputs"] == {"sentences": {"dtype": "string", "shape": [None]}}
    assert set(manifest["savedmodel"]["other_signatures"]) == {"score", "generate"}


def test_scores_agree_between_savedmodel_and_onnx(textgen_export):
    root, _ = textgen_export
    saved = json_rows(run("apps.textgen.score", *_export(root), "--runtime", "savedmodel", *SENTENCES))
    onnx = json_rows(run("apps.textgen.score", *_export(root), "--runtime", "onnx", stdin="\n".join(SENTENCES) + "\n"))
    assert [row["text"] for row in saved] == [row["text"] for row in onnx] == SENTENCES
    assert [row["tokens"] for row in saved] == [row["tokens"] for row in onnx]
    assert saved[2]["tokens"] == 1  # the empty sentence: only [EOS] is predicted
    for a, b in zip(saved, onnx):
        assert a["log_prob"] < 0
        assert a["perplexity"] == pytest.approx(np.exp(-a["log_prob"] / a["tokens"]), rel=1e-3)
        assert a["log_prob"] == pytest.approx(b["log_prob"], rel=1e-4, abs=1e-3)


def test_greedy_generation_agrees_token_for_token(textgen_export):
    root, _ = textgen_export
    flags = ["--length", "15", "--temperature", "0"] + [f"--prompt={prompt}" for prompt in PROMPTS]
    saved = json_rows(run("apps.textgen.generate", *_export(root), "--runtime", "savedmodel", *flags))
    onnx = json_rows(run("apps.textgen.generate", *_export(root), "--runtime", "onnx", *flags))
    assert [row["prompt"] for row in saved] == PROMPTS
    assert [row["token_ids"] for row in saved] == [row["token_ids"] for row in onnx]
    assert [row["text"] for row in saved] == [row["text"] for row in onnx]
    assert all(len(row["token_ids"]) == 15 for row in saved)


def test_sampling_repeats_for_one_seed(textgen_export):
    root, _ = textgen_export
    flags = ["--length", "10", "--temperature", "1.2", "--top-k", "50", "--seed", "11", "--runtime", "savedmodel"]
    rows = json_rows(run("apps.textgen.generate", *_export(root), *flags, "--prompt", "the fire", "--prompt", "the fire"))
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
    result = run("apps.textgen.train", "--data", str(text), "--level", "char", "--cell", "gru", "--layers", "1",
                 "--units", "16", "--epochs", "1", "--window", "32", "--sample-length", "5", "--verbose", "0",
                 "--no-export", env=_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bits per character" in result.stdout and "random character embeddings" in result.stdout
    metrics = json.loads((tmp_path / "runs" / "textgen" / "metrics.json").read_text())
    assert metrics["level"] == "char" and metrics["vocabulary_size"] < 40
    assert metrics["test"]["model"]["bits_per_token"] > 0


def test_the_readme_score_and_generate_commands_run(textgen_export):
    root, _ = textgen_export
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## The textgen app"):]
    block = section[section.index("```bash") + len("```bash"):section.index("```", section.index("```bash") + 7)]
    commands = [line.split("  #")[0].strip() for line in block.splitlines()
                if re.search(r"apps\.textgen\.(score|generate)", line)]
    assert len(commands) >= 3
    for command in commands:
        args = shlex.split(command)[2:]  # after "python -m"
        result = run(*args, env={"SEQAPPS_EXPORT_DIR": str(root / "exported")})
        assert result.returncode == 0 and result.stdout.strip(), f"`{command}`: {result.stderr[-2000:]}"
