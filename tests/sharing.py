"""What the parallel workers of one test run share: a folder, and a lock to build things once.

``make test`` runs the suite in pytest-xdist worker processes. A session fixture that
builds something expensive (an app's demo export, a client's ``node_modules``) would
otherwise be built once per worker; with these helpers the first worker builds it while
the others wait on the lock, and then every worker reads the same files. Without xdist
the same code runs in one process and the lock is never contended.
"""

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path


def run_folder(tmp_path_factory):
    """A folder that every worker of this test run sees, and no other run.

    Each xdist worker's base temporary folder is ``<run>/popen-gwN``; ``<run>`` is the
    one the workers have in common.
    """
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def exclusive(path):
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the ``with`` block.

    The kernel drops the lock when its holder dies, so a crashed worker never blocks the
    others for good.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def machine_lock(name):
    """A lock shared by every process on this machine, for installs into the repository
    (``npm ci`` into ``clients/node``, ``apt-get``) that two workers must not run at once."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return exclusive(Path(tempfile.gettempdir()) / f"seqapps-tests-{digest}.lock")
