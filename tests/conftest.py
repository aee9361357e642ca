import os
import sys
from pathlib import Path, PurePosixPath

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


# ---------------------------------------------------------------------------------------
# Scheduling and the fast loop

# `make test` runs the files in parallel workers (pytest-xdist, ``--dist loadfile``), each
# file whole on one worker, dealt out in collection order (the first files alternately to
# each worker). The app files that train a demo model other files wait for go first, the
# apps with the longest training first, so that the demo models are trained early and in
# parallel; then the longest self-contained files (measured with ``--durations``), so that
# no long file starts last. The rest keep their order.
LONGEST_FIRST = (
    "captioning/test_app.py", "translation/test_app.py", "ner/test_app.py", "sentiment/test_app.py",
    "textgen/test_app.py", "stocks/test_app.py", "shared/test_faults.py", "shared/test_multiworker.py",
    "shared/test_serving_inputs.py", "shared/test_demo.py", "shared/test_export.py", "textgen/test_model.py",
)

# `make test-fast` leaves out the tests marked slow: those that train, export, or start
# TensorFlow in a new process. Besides the tests marked where they are written, that is
# every test of these files (each app's end-to-end commands, exports, faults, workers)
# and every test that needs one of these fixtures (a demo model, Node.js, Chromium, the
# real datasets).
SLOW_FILES = ("*/test_app.py", "shared/test_export.py", "shared/test_faults.py", "shared/test_multiworker.py",
              "shared/test_speed.py")
HEAVY_FIXTURES = {"demo_exports", "all_demo_exports", "node_client", "web_tools", "shared_data"}


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).parent
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.relative_to(tests).as_posix(), len(rank)))
    for item in items:
        path = PurePosixPath(item.path.relative_to(tests).as_posix())
        if any(path.match(pattern) for pattern in SLOW_FILES) or \
                HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
