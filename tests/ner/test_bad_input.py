"""Bad CoNLL data through ``apps.ner.train``: one ``file:line`` error, exit 2.

Tag sequences that break their file's scheme (an IOBES ``B-PER`` that never ends) are an
error when more than the tolerated few sentences hold them (0.1%, at least one: see
tests/ner/test_schemes.py for the tolerated side), because the lenient reading guesses
where each entity ends; ``--repair-tags`` accepts them and says how many were repaired.
"""

import pytest

from apps.ner.data import load_splits
from apps.ner.train import main
from shared.errors import run_cli
from tests.datafiles import command_error, error_at, write

SENTENCES = "".join(f"Maria{n} B-PER\nvisited O\nParis S-LOC\n\n" for n in range(20)).replace("B-PER", "S-PER")

CASES = {
    # name: (bytes, line the error names or None, words the message must hold)
    "empty file": (b"", None, "no sentences found"),
    "blank lines only": (b"\n\n   \n", None, "no sentences found"),
    "wrong column count": (b"EU NNP B-NP B-ORG\nrejects VBZ B-VP\n", 2, "expected 4 whitespace-separated columns"),
    "unknown tag": (b"EU B-ORG\nrejects X-FOO\n", 2, "bad NER tag 'X-FOO'"),
    # two breaks in 22 sentences: more than the one tolerated
    "IOBES entity that never ends": ((SENTENCES + "John B-PER\nleft O\n\n" * 2).encode(), 81,
                                     "tag 'B-PER' after the sentence start breaks the IOBES scheme"),
    "IOBES end without a start": ((SENTENCES + "he O\nSmith E-PER\n\n" * 2).encode(), 82,
                                  "tag 'E-PER' after 'O' breaks the IOBES scheme"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_training_file(case, tmp_path, isolated_dirs, capsys):
    content, line, message = CASES[case]
    path = tmp_path / "train.txt"
    path.write_bytes(content)
    error = command_error(main, ["--data", path, "--no-export"], capsys)
    assert error.startswith(error_at(path, line)) and message in error, error


def test_invalid_utf8_with_an_explicit_encoding_names_the_line(tmp_path, isolated_dirs, capsys):
    """``--encoding utf-8`` turns off the latin-1 fallback of ``auto`` (tests/ner/test_formats.py)."""
    path = tmp_path / "train.txt"
    path.write_bytes("Zürich B-LOC\n".encode("latin-1"))
    error = command_error(main, ["--data", path, "--encoding", "utf-8", "--no-export"], capsys)
    assert error.startswith(error_at(path, 1)) and "not valid UTF-8 text" in error, error


def test_scheme_break_in_the_validation_file_names_that_file(tmp_path, isolated_dirs, capsys):
    train = write(tmp_path / "train.txt", SENTENCES)
    # IOBES by its single-token entities; two of its three sentences break it
    valid = write(tmp_path / "valid.txt", "Rome S-LOC\nsaw O\nJohn B-PER\n\nOslo S-LOC\n\nLima S-LOC\nBo B-PER\n\n")
    error = command_error(main, ["--data", f"{train},{valid}", "--no-export"], capsys)
    assert error.startswith(error_at(valid, 3)) and "expected 'S-PER'" in error and "--repair-tags" in error


def test_repaired_tags_are_counted(tmp_path):
    path = write(tmp_path / "train.txt", SENTENCES + "John B-PER\nleft O\n\n" * 3)
    splits = load_splits(path, scheme="iobes", repair_tags=True)
    assert "repaired the tags of 3 sentence(s) that broke IOBES in train.txt (first at line 81)" in splits.source
    repaired = [s for split in (splits.train, splits.validation, splits.test) for s in split if s.tokens[0] == "John"]
    assert {s.tags for s in repaired} == {("S-PER", "O")}


def test_byte_order_mark_and_windows_line_ends_read_like_plain_utf8(tmp_path):
    plain = load_splits(write(tmp_path / "plain.txt", SENTENCES))
    windows = load_splits(write(tmp_path / "windows.txt", SENTENCES, bom=True, crlf=True))
    assert (plain.train, plain.validation, plain.test) == (windows.train, windows.validation, windows.test)


@pytest.mark.slow
def test_a_sentence_of_thousands_of_tokens_trains(tmp_path, isolated_dirs, capsys):
    long_sentence = "".join(f"word{n} O\n" for n in range(2000)) + "Paris S-LOC\n\n"
    path = write(tmp_path / "train.txt", SENTENCES * 2 + long_sentence)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, ["--data", str(path), "--epochs", "1", "--units", "8", "--embedding-dim", "8",
                       "--no-char-features", "--no-export"])
    assert exit_info.value.code == 0, capsys.readouterr().err[-2000:]
