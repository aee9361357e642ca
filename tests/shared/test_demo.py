"""``make demo``'s job: every app trains on its offline default and is exported.

Each app's own demo training is tested once per session (tests/demo_exports.py); here the
demo command itself runs on the two quickest apps, and the summary's metric is checked to
exist in every app's metrics.json.
"""

import json
import os
import subprocess
import sys

import pytest

from shared.demo import APPS, headline_metric
from shared.paths import REPO_ROOT


@pytest.mark.slow
def test_demo_trains_exports_and_summarises(isolated_dirs):
    apps = ["sentiment", "stocks"]
    result = subprocess.run([sys.executable, "-m", "shared.demo", "--epochs", "1", "--apps", *apps],
                            capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=900, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    exported = isolated_dirs / "exported"
    config = (exported / "models.config").read_text()
    for app in apps:
        manifest = json.loads((exported / app / "manifest.json").read_text())
        assert manifest["app"] == app and (exported / app / str(manifest["model_version"])).is_dir()
        assert f'name: "{app}"' in config
        assert app in result.stdout.split("export version")[-1]
    assert "analogy accuracy" in result.stdout


@pytest.mark.parametrize("app", APPS)
def test_the_summary_metric_exists_for_every_app(app, demo_exports):
    root, _ = demo_exports(app)
    label, value = headline_metric(app, json.loads((root / "runs" / app / "metrics.json").read_text()))
    assert label and isinstance(value, float) and value == value
