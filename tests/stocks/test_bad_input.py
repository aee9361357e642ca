"""Bad price files through ``apps.stocks.train`` and ``predict``: one ``file:line`` error, exit 2.

The readers' repairs (missing cells, unsorted rows, identical duplicates) are covered with
their logged counts in tests/stocks/test_data.py; here is what stops a run, as a user sees it.
"""

import gzip

import pytest

from apps.stocks.predict import main as predict_main
from apps.stocks.train import main as train_main
from tests.datafiles import command_error, error_at

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
DAY_1 = "2020-01-02,10,12,9,11,11,1000\n"


def prices(second_row):
    return (HEADER + DAY_1 + second_row).encode()


CASES = {
    # name: (bytes, line the error names or None, words the message must hold)
    "empty file": (b"", None, "empty file: expected a header"),
    "header only": (HEADER.encode(), 1, "no data rows after the header"),
    "unknown header": (b"day,price\n2020-01-02,3\n", 1, "header"),
    "wrong column count": (prices("2020-01-03,10,12,9,11,11\n"), 3, "expected 7 comma-separated columns"),
    "non-numeric price": (prices("2020-01-03,ten,12,9,11,11,1000\n"), 3, "bad number 'ten' in column open"),
    "infinite price": (prices("2020-01-03,10,inf,9,11,11,1000\n"), 3, "'inf' in column high is not a finite number"),
    "zero price": (prices("2020-01-03,10,12,9,0,0,1000\n"), 3, "close is 0 on 2020-01-03: prices must be > 0"),
    "negative price": (prices("2020-01-03,10,12,9,-11,11,1000\n"), 3, "close is -11 on 2020-01-03"),
    "bad date": (prices("03/01/2020,10,12,9,11,11,1000\n"), 3, "date"),
    "conflicting duplicate date": (prices("2020-01-02,10,12,9,11.5,11.5,1000\n"), 3,
                                   "two different rows for the date 2020-01-02: lines 2 and 3"),
    "latin-1 bytes": ((HEADER.strip() + ",Note\n" + DAY_1.strip() + ",café\n").encode("latin-1"), 2,
                      "not valid UTF-8 text"),
    "truncated gzip": (gzip.compress((HEADER + DAY_1 * 4000).encode())[:200], None, "truncated or corrupt gzip data"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_training_file(case, tmp_path, isolated_dirs, capsys):
    content, line, message = CASES[case]
    path = tmp_path / "MSFT.csv"
    path.write_bytes(content)
    error = command_error(train_main, ["--data", path, "--no-export"], capsys)
    assert error.startswith(error_at(path, line)) and message in error, error


@pytest.mark.parametrize("case", ["empty file", "non-numeric price", "zero price"])
def test_bad_file_to_predict(case, tmp_path, demo_exports, capsys):
    root, _ = demo_exports("stocks")
    content, line, message = CASES[case]
    path = tmp_path / "MSFT.csv"
    path.write_bytes(content)
    error = command_error(predict_main, ["--export-dir", root / "exported", "--runtime", "onnx", path], capsys)
    assert error.startswith(error_at(path, line)) and message in error, error
