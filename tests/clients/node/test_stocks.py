"""The Node.js client reads, repairs and forecasts exactly as ``python -m apps.stocks.predict``.

The price files are written here, in the layouts apps/stocks/formats.py recognises (Yahoo,
Stooq, Alpha Vantage newest first, the long multi-ticker file), with the faults its repairs
exist for (rows out of order, a repeated day, missing cells, a high below the close, a
holiday row, a 2:1 split in an unadjusted layout) and ones it refuses.
"""

import gzip
import json

import pytest

from apps.stocks.data import demo_prices
from tests.clients.node.client import assert_rows_match
from tests.commands import json_rows, run

DAYS = 80  # the demo model's window is 30 days


def _export(demo_exports):
    root, _ = demo_exports("stocks")
    return root / "exported"


def _cell(value):
    return repr(float(value))


def _rows(ticker, seed):
    series = demo_prices(days=DAYS, seed=seed, tickers=(ticker,)).series[ticker]
    return [[str(day), *map(float, values)] for day, values in zip(series.dates, series.ohlcv)]


def write_yahoo(path):
    """One ticker, Yahoo layout: unsorted rows, an identical repeated day, missing volume and
    open, a high below the close."""
    rows = _rows("ACME", seed=3)
    rows[10][5] = ""  # missing volume -> 0
    rows[20][1] = "NA"  # missing open -> previous close
    rows[30][2] = rows[30][4] * 0.99  # high below the close -> widened
    rows[40], rows[41] = rows[41], rows[40]  # out of order -> sorted
    rows.insert(50, list(rows[50]))  # the same day twice, identical -> one dropped
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    lines += [",".join([day, *(value if isinstance(value, str) else _cell(value) for value in (o, h, l, c, c)),
                        v if isinstance(v, str) else str(int(v))]) for day, o, h, l, c, v in rows]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def write_long(path):
    """Two tickers, Kaggle's long layout (gzipped): a holiday row, a missing close, a 2:1 split."""
    a, b = _rows("DEMO_A", seed=0), _rows("DEMO_B", seed=1)
    for row in b[:50]:  # before the split every price was twice as high
        row[1:5] = [value * 2 for value in row[1:5]]
        row[5] = row[5] / 2
    close = a[59][4]
    a[60][1:6] = [close, close, close, close, 0.0]  # a non-trading day
    a[70][4] = ""  # missing close -> dropped
    lines = ["date,open,high,low,close,volume,Name"]
    for ra, rb in zip(a, b):
        for name, (day, o, h, l, c, v) in (("DEMO_A", ra), ("DEMO_B", rb)):
            cells = [value if isinstance(value, str) else _cell(value) for value in (o, h, l, c)]
            lines.append(",".join([day, *cells, str(int(v)), name]))
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def write_stooq(path, ticker, seed):
    """One ticker, Stooq's layout (no Adj Close, split-adjusted): a missing volume."""
    rows = _rows(ticker, seed=seed)
    lines = ["Date,Open,High,Low,Close,Volume"]
    lines += [",".join([day, *map(_cell, (o, h, l, c)), "" if i == 15 else str(int(v))])
              for i, (day, o, h, l, c, v) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_alpha_vantage(path, ticker, seed, adjusted=False):
    """One ticker, Alpha Vantage's ``datatype=csv`` answer: the newest day first, prices as
    traded; the adjusted series has a 2:1 split (undone, as in the long layout)."""
    rows = _rows(ticker, seed=seed)
    if adjusted:
        for row in rows[:40]:
            row[1:5] = [value * 2 for value in row[1:5]]
            row[5] = row[5] / 2
    header = "timestamp,open,high,low,close,volume"
    if adjusted:
        header = "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient"
    lines = []
    for i, (day, o, h, l, c, v) in enumerate(rows):
        cells = [day, *map(_cell, (o, h, l, c))]
        if adjusted:
            cells += [_cell(c / 2 if i < 40 else c), str(int(v)), "0.0000", "2.0" if i == 40 else "1.0"]
        else:
            cells.append(str(int(v)))
        lines.append(",".join(cells))
    path.write_text("\n".join([header, *reversed(lines)]) + "\n")
    return path


@pytest.fixture
def download_files(tmp_path):
    """Files as Stooq and Alpha Vantage name them, and a folder mixing both."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    write_stooq(folder / "abc_us_d.csv", "ABC", seed=6)
    write_stooq(folder / "def_us_d.csv", "DEF", seed=7)
    write_alpha_vantage(folder / "daily_MSFT.csv", "MSFT", seed=8)
    return (write_stooq(tmp_path / "xyz_us_d.csv", "XYZ", seed=4),
            write_alpha_vantage(tmp_path / "daily_adjusted_IBM.csv", "IBM", seed=5, adjusted=True), folder)


@pytest.fixture
def price_files(tmp_path):
    return write_yahoo(tmp_path / "acme_prices.csv"), write_long(tmp_path / "market.csv.gz")


def _python(export_dir, *args):
    return run("apps.stocks.predict", "--runtime", "onnx", "--export-dir", str(export_dir), *map(str, args))


def _repair_lines(stderr):
    return [line for line in stderr.splitlines() if not line.startswith(("WARNING", "W0000", "I0000"))
            and (line.startswith(("read ", "note: ")) or " row(s) " in line or ": rows were " in line
                 or " split detected " in line)]


STOOQ = "Stooq CSV (Date,Open,High,Low,Close,Volume)"
ALPHA_VANTAGE = "Alpha Vantage CSV (timestamp,open,high,low,close,volume), newest first, read oldest first"


def test_node_rows_and_repairs_equal_python(demo_exports, node_client, price_files, download_files):
    export_dir = _export(demo_exports)
    files = [*price_files, *download_files]
    python = _python(export_dir, "--json", *files)
    python_rows = json_rows(python)
    assert [row["ticker"] for row in python_rows] == ["ACME", "DEMO_A", "DEMO_B", "XYZ", "IBM", "ABC", "DEF", "MSFT"]
    repairs = _repair_lines(python.stderr)
    for expected in ("sorted", "identical row for the same date dropped", "missing volume set to 0",
                     "missing open/high/low filled", "widened", "non-trading days", "missing close dropped",
                     "2:1 split detected", "XYZ: 1 row(s) with missing volume set to 0", "IBM: 2:1 split detected",
                     "as Yahoo Finance CSV (Date,Open,High,Low,Close,Adj Close,Volume) (first ",
                     "as long multi-ticker CSV (date,open,high,low,close,volume,Name) (first ",
                     f"xyz_us_d.csv as {STOOQ} (first ", f"daily_adjusted_IBM.csv as {ALPHA_VANTAGE} (first ",
                     f"downloads as {STOOQ}; {ALPHA_VANTAGE} (first "):  # one name per layout, in order
        assert any(expected in line for line in repairs), (expected, repairs)
    assert not any(": rows were not in date order" in line for line in repairs if "IBM" in line or "MSFT" in line)

    node = node_client.run("stocks", "--export-dir", export_dir, "--json", *files)
    assert node.returncode == 0, node.stderr[-3000:]
    node_rows = [json.loads(line) for line in node.stdout.splitlines()]
    assert_rows_match(node_rows, python_rows, tolerance=1e-6)
    assert _repair_lines(node.stderr) == repairs  # the same repairs, in the same words and order

    # one path per line on standard input, one window per model call
    piped = node_client.rows("stocks", "--export-dir", export_dir, "--batch-size", "1",
                             stdin="\n".join(map(str, files)) + "\n\n")
    assert_rows_match(piped, python_rows, tolerance=1e-6)


def test_ticker_and_as_of_select_like_python(demo_exports, node_client, price_files):
    export_dir = _export(demo_exports)
    _, market = price_files
    args = ["--ticker", "demo_b", "--ticker", " DEMO_A ", "--as-of", "2015-03-01", market]
    python_rows = json_rows(_python(export_dir, "--json", *args))
    assert [row["last_known_day"] for row in python_rows] == ["2015-02-27", "2015-02-27"]
    assert_rows_match(node_client.rows("stocks", "--export-dir", export_dir, *args), python_rows, tolerance=1e-6)

    plain = ["--ticker", "DEMO_B", "--as-of", "2015-03-18T12:00", *price_files]
    python = _python(export_dir, *plain)
    assert python.returncode == 0, python.stderr[-3000:]
    node = node_client.run("stocks", "--export-dir", export_dir, *plain)
    assert node.returncode == 0 and node.stdout == python.stdout and node.stdout.count("\n") == 2


def _one_line_error(result):
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return errors[0]


@pytest.mark.parametrize("fault, where", [
    ("bad_number", ":5: bad number '12..5' in column close"),
    ("negative", ":7: ACME: low is -1.5 on "),
    ("conflict", ":9: ACME: two different rows for the date "),
    ("columns", ":4: expected 7 comma-separated columns like the header, got 6"),
])
def test_bad_rows_fail_with_file_line_like_python(demo_exports, node_client, tmp_path, fault, where):
    export_dir = _export(demo_exports)
    path = write_yahoo(tmp_path / "acme.csv")
    lines = path.read_text().splitlines()
    cells = lines[4 if fault != "columns" else 3].split(",")
    if fault == "bad_number":
        cells[4] = "12..5"
    elif fault == "negative":
        lines[6] = ",".join([*lines[6].split(",")[:3], "-1.5", *lines[6].split(",")[4:]])
    elif fault == "conflict":
        lines[8] = ",".join([lines[7].split(",")[0], *lines[8].split(",")[1:]])
    else:
        cells = cells[:-1]
    if fault in ("bad_number", "columns"):
        lines[4 if fault != "columns" else 3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")

    python = _one_line_error(_python(export_dir, "--json", path))
    node = _one_line_error(node_client.run("stocks", "--export-dir", export_dir, "--json", path))
    assert node == python
    assert node.startswith(f"error: {path}{where}"), node


def test_other_errors_are_one_line(demo_exports, node_client, tmp_path, price_files):
    export_dir = _export(demo_exports)
    acme, _ = price_files
    # what Alpha Vantage answers a refused request with, saved as the .csv asked for
    answer = tmp_path / "daily_IBM.csv"
    answer.write_text('{\n    "Information": "Thank you for using Alpha Vantage! Please visit premium, thanks"\n}\n')
    unknown = tmp_path / "prices.csv"
    unknown.write_text("Day,Open,High,Low,Close,Volume\n2015-01-02,1,1,1,1,1\n")
    for args in (["--as-of", "2015-13-01", acme], ["--as-of", "2015-01-20", acme],
                 ["--ticker", "NOPE", "--ticker", "acme", acme],
                 [tmp_path / "missing.csv"], [answer], [unknown]):
        python = _one_line_error(_python(export_dir, *args))
        assert _one_line_error(node_client.run("stocks", "--export-dir", export_dir, *args)) == python
        if args == [answer]:
            assert python.startswith(f"error: {answer}:1: this is JSON, not CSV: "), python
    assert python.startswith(f"error: {unknown}:1: unrecognised header: ") and "called timestamp" in python

    # built-in sources are Python's own data: the Node client says to pass a CSV file instead
    for source in ("matplotlib:goog", "demo"):
        error = _one_line_error(node_client.run("stocks", "--export-dir", export_dir, source))
        assert error.startswith(f"error: {source}: a built-in source of the Python app") and "CSV" in error
