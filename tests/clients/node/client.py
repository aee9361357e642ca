"""Run ``clients/node/cli.js`` as a user would, installing its packages first.

``npm ci --ignore-scripts`` installs exactly the lock file's versions; the scripts are
skipped because onnxruntime-node's install script fetches optional GPU binaries from a
host outside the package registry (the CPU binary ships inside the package).
"""

import json
import os
import shutil
import subprocess

import pytest

from shared.paths import REPO_ROOT
from tests.sharing import machine_lock

CLIENT_DIR = REPO_ROOT / "clients" / "node"


def npm_installed(directory):
    """``npm ci --ignore-scripts`` in ``directory`` unless its lock file is installed already;
    returns the path of ``node`` (the test is skipped without Node.js)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not installed: apt-get install nodejs npm")
    stamp = directory / "node_modules" / ".package-lock.json"
    lock = directory / "package-lock.json"
    with machine_lock(f"npm ci {directory}"):  # parallel test workers install it once
        if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
            result = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=directory,
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, \
                f"npm ci failed in {directory}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return node


class NodeClient:
    def __init__(self, node):
        self.node = node

    @classmethod
    def installed(cls):
        return cls(npm_installed(CLIENT_DIR))

    def run(self, *args, stdin=None, timeout=300):
        """``node clients/node/cli.js ARGS``, from the repository root."""
        return subprocess.run([self.node, str(CLIENT_DIR / "cli.js"), *map(str, args)], capture_output=True,
                              text=True, input=stdin, cwd=REPO_ROOT, timeout=timeout,
                              env={key: value for key, value in os.environ.items() if key != "SEQAPPS_EXPORT_DIR"})

    def rows(self, *args, stdin=None):
        """The JSON rows ``cli.js ARGS --json`` printed; fails on a non-zero exit."""
        result = self.run(*args, "--json", stdin=stdin)
        assert result.returncode == 0, result.stderr[-3000:]
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def assert_rows_match(node_rows, python_rows, tolerance=1e-4):
    """Equal row for row: strings, ints and lists exactly, floats within ``tolerance``."""
    assert len(node_rows) == len(python_rows)
    for index, (node_row, python_row) in enumerate(zip(node_rows, python_rows)):
        _assert_same(node_row, python_row, tolerance, f"row {index}")


def _assert_same(a, b, tolerance, where):
    if isinstance(b, dict):
        assert isinstance(a, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in b:
            _assert_same(a[key], b[key], tolerance, f"{where}.{key}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for index, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, tolerance, f"{where}[{index}]")
    elif isinstance(b, float) and not isinstance(b, bool):
        assert isinstance(a, (int, float)) and abs(a - b) <= tolerance, f"{where}: {a!r} != {b!r} (±{tolerance})"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
