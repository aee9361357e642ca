"""Run the apps' commands as a user would: ``python -m ...`` in a fresh process."""

import json
import os
import subprocess
import sys

from shared.paths import REPO_ROOT


def run(*args, stdin=None, timeout=900, env=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, input=stdin,
                          cwd=REPO_ROOT, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def json_rows(result):
    """The JSON lines a ``--json`` predict command printed; fails on a non-zero exit."""
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
