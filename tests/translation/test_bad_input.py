"""Bad sentence pairs through ``apps.translation.train``: one ``file:line`` error, exit 2.

Pairs with an empty side (or one of invisible characters only) and pairs longer than
``--max-length`` are skipped, never trained on cut, and counted in the log.
"""

import gzip

import pytest

from apps.translation.train import main
from shared.errors import run_cli
from tests.datafiles import command_error, error_at, write

PAIRS = "".join(f"I see {n} cats.\tVeo {n} gatos.\n" for n in range(60))

CASES = {
    # name: (bytes, line the error names or None, words the message must hold)
    "empty file": (b"", None, "no sentence pairs found"),
    "blank lines only": (b"\n \n\n", None, "no sentence pairs found"),
    "only empty sides": (b"Go.\t\n\tVe.\n", None, "no sentence pairs found"),
    "line without a tab": (b"Go.\tVe.\nHow are you? Como estas?\n", 2, "found no tab"),
    "latin-1 bytes": ("Go.\tVe.\nHow?\t¿Cómo?\n".encode("latin-1"), 2, "not valid UTF-8 text"),
    "truncated gzip": (gzip.compress(PAIRS.encode() * 40)[:150], None, "truncated or corrupt gzip data"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_pairs_file(case, tmp_path, isolated_dirs, capsys):
    content, line, message = CASES[case]
    path = tmp_path / "spa.txt"
    path.write_bytes(content)
    error = command_error(main, ["--data", path, "--no-export"], capsys)
    assert error.startswith(error_at(path, line)) and message in error, error


def test_parallel_files_of_different_lengths(tmp_path, isolated_dirs, capsys):
    write(tmp_path / "train.en", "one\ntwo\nthree\n")
    write(tmp_path / "train.de", "eins\nzwei\n")
    error = command_error(main, ["--data", tmp_path / "train", "--source", "en", "--target", "de", "--no-export"],
                          capsys)
    assert error.startswith(error_at(tmp_path / "train.en"))
    assert f"3 lines, but the other side {tmp_path / 'train.de'} has 2" in error


@pytest.mark.slow
def test_empty_sides_and_overlong_pairs_are_skipped_and_counted(tmp_path, isolated_dirs, capsys):
    long_pair = " ".join(["word"] * 2000) + "\t" + " ".join(["palabra"] * 2000) + "\n"
    invisible = "\u200b\u200b\tVe.\n"  # zero-width spaces only: a side of no tokens
    path = write(tmp_path / "spa.txt", PAIRS + "Go.\t\n" + (long_pair + invisible) * 3)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, ["--data", str(path), "--max-length", "12", "--epochs", "1", "--units", "8",
                       "--embedding-dim", "8", "--validation-fraction", "0.2", "--test-fraction", "0.2",
                       "--min-count", "1", "--no-export"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "skipped 1 lines: empty side" in out
    assert "pairs longer than --max-length 12 tokens" in out
    assert "pairs with a side of no tokens" in out
