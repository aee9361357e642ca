"""``make demo``'s job: every app trains on its offline default and is exported."""

import json
import os
import subprocess
import sys

import pytest

from shared.demo import APPS
from shared.paths import REPO_ROOT


@pytest.mark.slow
def test_demo_trains_and_exports_every_app(isolated_dirs):
    result = subprocess.run([sys.executable, "-m", "shared.demo", "--epochs", "1"], capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=900, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    exported = isolated_dirs / "exported"
    config = (exported / "models.config").read_text()
    for app in APPS:
        manifest = json.loads((exported / app / "manifest.json").read_text())
        assert manifest["app"] == app and (exported / app / str(manifest["model_version"])).is_dir()
        assert f'name: "{app}"' in config
        assert app in result.stdout.split("export version")[-1]
    assert "analogy accuracy" in result.stdout
