"""Writes that readers never see half-done: a crash leaves the old version or the new one.

Checkpoints, metrics, manifests, caches and extracted datasets all go through here, so a
killed process or a full disk never leaves a file that parses as something it is not.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path


def write_file(path, write, suffix=""):
    """Let ``write(temporary_path)`` write a file (``model.save_weights``), fsync it, ``os.replace`` it.

    ``suffix`` ends the temporary name, for writers that check it (Keras wants ``.weights.h5``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def write_text(path, text):
    """Write ``text`` (UTF-8) through a temporary file in the same folder, fsync, then ``os.replace``."""
    return write_file(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))


def write_json(path, payload):
    return write_text(path, json.dumps(payload, ensure_ascii=False, indent=1) + "\n")


def replace_folder(source, dest):
    """Move the finished folder ``source`` to ``dest``, replacing any folder already there."""
    source, dest = Path(source), Path(dest)
    if not dest.exists():
        os.replace(source, dest)
        return dest
    retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
    os.replace(dest, retired / dest.name)
    os.replace(source, dest)
    shutil.rmtree(retired, ignore_errors=True)
    return dest


def write_folder(folder, write):
    """Let ``write(staging)`` fill a sibling temporary folder, then swap it into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write(staging)
        return replace_folder(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
