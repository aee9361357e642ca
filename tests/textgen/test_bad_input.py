"""Bad text through ``apps.textgen.train``: one ``error: file[:line]: ...`` line, exit 2, no traceback."""

import gzip

import pytest

from apps.textgen.train import main
from tests.datafiles import command_error

CASES = {
    # name: (file name, bytes, line the error names or None, words the message must hold)
    "empty file": ("text.txt", b"", None, "no text"),
    "blank lines only": ("text.txt", b"\n  \r\n\t\n", None, "no text"),
    "latin-1 bytes": ("text.txt", "one\ntwo\nun film génial\n".encode("latin-1"), 3, "not valid UTF-8 text"),
    "utf-16 file": ("text.txt", "hello\nworld\n".encode("utf-16"), 1, "not valid UTF-8 text"),
    "one line only": ("text.txt", b"a single document\n", None, "train, validation and test"),
    "truncated gzip": ("text.txt.gz", gzip.compress(b"a line of text\n" * 5000)[:120], None,
                       "truncated or corrupt gzip data"),
}


def _error(argv, capsys):
    return command_error(main, argv, capsys)


@pytest.mark.parametrize("case", CASES)
def test_bad_training_file(case, tmp_path, isolated_dirs, capsys):
    name, content, line, message = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    error = _error(["--data", path, "--no-export", "--embeddings", "none"], capsys)
    where = f"error: {path}:{line}: " if line is not None else (f"error: {path}: " if "no text" in message or "gzip" in message else "error: ")
    assert error.startswith(where) and message in error, error


def test_missing_file_and_empty_folder(tmp_path, isolated_dirs, capsys):
    assert _error(["--data", tmp_path / "nope.txt", "--no-export"], capsys).startswith(
        f"error: {tmp_path / 'nope.txt'}: file not found")
    (tmp_path / "empty").mkdir()
    assert "folder holds no files" in _error(["--data", tmp_path / "empty", "--no-export"], capsys)

