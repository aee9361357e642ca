"""Bad sentiment data through ``apps.sentiment.train``: one ``file:line`` error, exit 2.

Each case is what users really feed the app: an empty export, a file saved in latin-1, a
CSV whose review holds an unquoted comma, a label typo in a separate test set. Texts the
model can only see cut (or see as nothing) are trained on, and counted in the log.
"""

import gzip

import pytest

from apps.sentiment.data import load_splits, read_examples
from apps.sentiment.train import main
from shared.errors import run_cli
from tests.datafiles import command_error, error_at, write

GOOD_ROWS = "".join(f"{'pos' if n % 2 else 'neg'}\t{'a fine' if n % 2 else 'a dull'} film, number {n}\n"
                    for n in range(40))

CASES = {
    # name: (file name, bytes, line the error names or None, words the message must hold)
    "empty file": ("reviews.tsv", b"", None, "no examples found"),
    "blank lines only": ("reviews.tsv", b"\n  \n\t\n", None, "no examples found"),
    "latin-1 bytes": ("reviews.tsv", "pos\tun film génial\n".encode("latin-1"), 1, "not valid UTF-8 text"),
    "tsv line without a label": ("reviews.tsv", b"pos\tgood\n\tno label\n", 2, "expected a TSV line"),
    "csv row with an unquoted comma": ("reviews.csv", b"text,label\ngood,pos\nslow, then great,pos\n", 3,
                                       "3 field(s), the header has 2 (an unquoted comma"),
    "csv row too short": ("reviews.csv", b"text,label\ngood,pos\nbad\n", 3, "1 field(s), the header has 2"),
    "csv without the columns": ("reviews.csv", b"comment,stars\ngood,5\n", 1, "the header must name a text column"),
    "fastText label without text": ("reviews.txt", b"__label__pos good\n__label__neg\n", 2, "has a label but no text"),
    "one label only": ("reviews.tsv", b"".join(b"pos\tgood %d\n" % n for n in range(30)), None,
                       "needs at least 2"),
    "truncated gzip": ("reviews.tsv.gz", gzip.compress(GOOD_ROWS.encode() * 50)[:300], None,
                       "truncated or corrupt gzip data"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_training_file(case, tmp_path, isolated_dirs, capsys):
    name, content, line, message = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    error = command_error(main, ["--data", path, "--no-export"], capsys)
    assert error.startswith(error_at(path, line)) and message in error, error


def test_unknown_label_in_the_test_set_names_its_line(tmp_path, isolated_dirs, capsys):
    train = write(tmp_path / "train.tsv", GOOD_ROWS)
    test = write(tmp_path / "test.tsv", "pos\tgood\nneg\tbad\npostive\ta typo in the label\n")
    error = command_error(main, ["--data", train, "--test-data", test, "--no-export"], capsys)
    assert error.startswith(error_at(test, 3)) and "label 'postive' never occurs in the training data" in error


def test_byte_order_mark_and_windows_line_ends_read_like_plain_utf8(tmp_path):
    plain = load_splits(write(tmp_path / "plain.tsv", GOOD_ROWS))
    windows = load_splits(write(tmp_path / "windows.tsv", GOOD_ROWS, bom=True, crlf=True))
    assert (plain.train, plain.validation, plain.test) == (windows.train, windows.validation, windows.test)


def test_latin1_file_reads_with_encoding(tmp_path):
    path = tmp_path / "latin.tsv"
    path.write_bytes("pos\tun film génial\nneg\tennuyeux\n".encode("latin-1"))
    assert [e.text for e in read_examples(path, encoding="latin-1")] == ["un film génial", "ennuyeux"]


@pytest.mark.slow
def test_texts_cut_or_empty_are_counted_in_the_log(tmp_path, isolated_dirs, capsys):
    rows = GOOD_ROWS + "pos\t" + "long " * 3000 + "\n" + "neg\t\u200b\u200b\n"  # only zero-width spaces: no tokens
    path = write(tmp_path / "reviews.tsv", rows * 2)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, ["--data", str(path), "--max-length", "50", "--epochs", "1", "--units", "8",
                       "--embedding-dim", "8", "--no-export"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    warning = next(line for line in out.splitlines() if line.startswith("WARNING:") and "--max-length 50" in line)
    assert "longer than --max-length 50 and were cut (longest: 3,000)" in warning
    assert "have no tokens at all" in warning
