"""Where things live: the repo, the cache, the exports and the shared datasets.

Environment variables override every default so that tests, CI and users with other
layouts never need to edit code.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir():
    """Downloads and derived data (word2vec vectors, image features); ``$SEQAPPS_CACHE``."""
    return Path(os.environ.get("SEQAPPS_CACHE", REPO_ROOT / "cache"))


def default_export_dir():
    """Root of the exported models (TensorFlow Serving layout); ``$SEQAPPS_EXPORT_DIR``."""
    return Path(os.environ.get("SEQAPPS_EXPORT_DIR", REPO_ROOT / "exported"))


def default_runs_dir():
    """Root of training run directories (checkpoints, logs, metrics); ``$SEQAPPS_RUNS_DIR``."""
    return Path(os.environ.get("SEQAPPS_RUNS_DIR", REPO_ROOT / "runs"))


def shared_data_dir():
    """The real public datasets kept beside the repo (``../shared/data``), or None.

    ``$SEQAPPS_SHARED_DATA`` points elsewhere. Nothing in it is ever copied into the repo.
    """
    candidate = Path(os.environ.get("SEQAPPS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None
