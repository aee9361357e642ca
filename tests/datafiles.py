"""Writing small input files for reader tests, and expecting errors at a file and line."""

import gzip
import re

import pytest

from shared.errors import DataError


def write(path, text, *, gz=False, bom=False, crlf=False):
    """Write ``text`` as UTF-8, optionally gzipped, with a BOM or with CRLF line endings."""
    if crlf:
        text = text.replace("\n", "\r\n")
    payload = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def raises_at(path, line):
    """``pytest.raises`` for a DataError located at ``path:line``."""
    return pytest.raises(DataError, match="^" + re.escape(f"{path}:{line}: "))
