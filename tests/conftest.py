import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

from shared.paths import shared_data_dir  # noqa: E402


@pytest.fixture
def shared_data():
    """The real datasets in ../shared/data; the test is skipped when they are absent."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("real datasets not found: put them at ../shared/data or set SEQAPPS_SHARED_DATA")
    return root


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """Point cache, runs and exports at a temporary folder so tests never touch the repo's."""
    for name, sub in (("SEQAPPS_CACHE", "cache"), ("SEQAPPS_RUNS_DIR", "runs"),
                      ("SEQAPPS_EXPORT_DIR", "exported")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    return tmp_path


@pytest.fixture(scope="session")
def demo_exports(tmp_path_factory):
    """Every app's demo export, trained once per session on first use (see tests/demo_exports.py)."""
    from tests.demo_exports import DemoExports

    return DemoExports(tmp_path_factory)


@pytest.fixture(scope="session")
def all_demo_exports(demo_exports, tmp_path_factory):
    """One export root with the demo exports of the apps every client covers (all but textgen), and their models.config."""
    from tests.demo_exports import combined_export_root

    return combined_export_root(demo_exports, tmp_path_factory.mktemp("all-exports"))


@pytest.fixture(scope="session")
def node_client():
    """The Node.js client (clients/node) with its packages installed (``npm ci --ignore-scripts``, once)."""
    from tests.clients.node.client import NodeClient

    return NodeClient.installed()
