"""Writing small input files for reader tests, and expecting errors at a file and line."""

import gzip
import re

import pytest

from shared.errors import DataError, run_cli


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


def command_error(main, argv, capsys):
    """Run a command's ``main`` the way its console script does; return its error line.

    Checks the contract every bad input must meet: exit status 2, no traceback, and exactly
    one ``error:`` line on stderr.
    """
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, [str(arg) for arg in argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err[-2000:]
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err[-2000:]
    return errors[0]


def error_at(path, line=None):
    """The start of the error line that names ``path`` (and ``line``)."""
    return f"error: {path}:{line}: " if line is not None else f"error: {path}: "
