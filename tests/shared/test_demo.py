"""``make demo``'s job: every app trains on its offline default and is exported.

Each app's own demo training is tested once per session (tests/demo_exports.py); here the
demo command itself runs on the quickest app, and the summary's metric is checked to
exist in every app's metrics.json.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from shared.demo import APPS, EXPECTED_SECONDS, QUICK, RECIPES, headline_metric
from shared.paths import REPO_ROOT


@pytest.mark.slow
def test_demo_trains_exports_answers_and_summarises(isolated_dirs):
    """The demo command on its quickest app: progress, training, export, both runtimes'
    answers, the summary and the way on to real data."""
    result = subprocess.run([sys.executable, "-m", "shared.demo", "--epochs", "1", "--apps", "sentiment"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=900,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    exported = isolated_dirs / "exported"
    manifest = json.loads((exported / "sentiment" / "manifest.json").read_text())
    assert manifest["app"] == "sentiment" and (exported / "sentiment" / str(manifest["model_version"])).is_dir()
    assert 'name: "sentiment"' in (exported / "models.config").read_text()
    out = result.stdout
    assert "analogy accuracy" in out
    assert re.search(r"\[1/2\] word2vec vectors shared by the text apps: 0:00 elapsed, about \d+:\d\d left", out)
    assert re.search(r"\[2/2\] sentiment: \d+:\d\d elapsed, about \d+:\d\d left", out)
    table = out.split("export version")[1]
    assert re.search(rf"sentiment +test accuracy \d\.\d{{3}} +{manifest['model_version']} ", table)
    # one answer block per runtime, each with a row per example review
    for runtime in ("savedmodel", "onnx"):
        lines = out.split(f"sentiment ({runtime}):\n")[1].splitlines()
        answers = lines[:next(i for i, line in enumerate(lines) if not line.startswith("  "))]
        assert len(answers) == len(APPS["sentiment"]["example"]) and all("\t0." in line for line in answers)
    assert out.rstrip().endswith(APPS["sentiment"]["real"])


def test_the_quick_demo_is_two_apps_and_every_app_has_a_recipe_and_an_estimate():
    assert set(RECIPES) == set(APPS) == set(EXPECTED_SECONDS) - {"embeddings"}
    assert set(QUICK) < set(APPS) and len(QUICK) == 2


@pytest.mark.parametrize("app", APPS)
def test_the_summary_metric_exists_for_every_app(app, demo_exports):
    root, _ = demo_exports(app)
    label, value = headline_metric(app, json.loads((root / "runs" / app / "metrics.json").read_text()))
    assert label and isinstance(value, float) and value == value
