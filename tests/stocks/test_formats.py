"""Price files as they are downloaded, read through ``load_prices`` (what ``--data`` uses).

The fixtures are written here from each source's documented layout: Yahoo Finance, Stooq,
Alpha Vantage (newest day first) and the long multi-ticker file of Kaggle's S&P 500 data.
Each is recognised from its header, the summary line names the layout, and a broken row is
reported at ``file:line``.
"""

import gzip

import numpy as np
import pytest

from apps.stocks.data import load_prices
from shared.errors import DataError

DAYS = ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04"]
CLOSES = [10.0, 10.5, 10.25, 11.0]


def write(path, *lines, gz=False):
    text = "".join(f"{line}\n" for line in lines)
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def rows(days=DAYS, closes=CLOSES, *extra):
    """``date,open,high,low,close,volume`` rows (plus ``extra`` cells) for the given closes."""
    return [",".join([day, f"{close:g}", f"{close + 0.5:g}", f"{close - 0.5:g}", f"{close:g}", "1000", *extra])
            for day, close in zip(days, closes)]


def loaded(path, **options):
    """``(data, logged lines)`` of ``load_prices`` with its log captured."""
    logged = []
    return load_prices(path, log=logged.append, **options), logged


def summary(path, layout, tickers=1):
    return f"read 4 rows of {tickers} ticker(s) from {path} as {layout} (first 2021-03-01 .. last 2021-03-04)"


def test_yahoo_download(tmp_path):
    lines = [row.replace(",1000", f",{float(row.split(',')[4]) - 0.1:g},1000") for row in rows()]
    path = write(tmp_path / "AAPL.csv", "Date,Open,High,Low,Close,Adj Close,Volume", *lines)
    data, logged = loaded(path)
    assert data.tickers == ["AAPL"] and data.series["AAPL"].close.tolist() == CLOSES
    assert logged == [summary(path, "Yahoo Finance CSV (Date,Open,High,Low,Close,Adj Close,Volume)")]


def test_stooq_download(tmp_path):
    path = write(tmp_path / "aapl_us_d.csv", "Date,Open,High,Low,Close,Volume", *rows())
    data, logged = loaded(path)
    assert data.tickers == ["AAPL"] and data.series["AAPL"].close.tolist() == CLOSES
    assert logged == [summary(path, "Stooq CSV (Date,Open,High,Low,Close,Volume)")]


def test_stooq_bad_number_is_named(tmp_path):
    lines = rows()
    lines[2] = lines[2].replace("10.25", "10,25", 1)  # a decimal comma adds a column
    path = write(tmp_path / "aapl_us_d.csv", "Date,Open,High,Low,Close,Volume", *lines)
    with pytest.raises(DataError, match=f"^{path}:4: expected 6 comma-separated columns"):
        load_prices(path, log=None)


def alpha_vantage(path):
    """Alpha Vantage's ``datatype=csv`` answer: the newest day first."""
    return write(path, "timestamp,open,high,low,close,volume", *reversed(rows()))


def test_alpha_vantage_newest_first_is_read_oldest_first(tmp_path):
    path = alpha_vantage(tmp_path / "daily_IBM.csv")
    data, logged = loaded(path)
    series = data.series["IBM"]
    assert series.dates.astype(str).tolist() == DAYS and series.close.tolist() == CLOSES
    assert series.lines.tolist() == [5, 4, 3, 2] and data.repairs == []
    layout = "Alpha Vantage CSV (timestamp,open,high,low,close,volume), newest first, read oldest first"
    assert logged == [summary(path, layout)]


def test_alpha_vantage_adjusted_layout_has_its_raw_splits_undone(tmp_path):
    header = "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient"
    closes = [100.0, 101.0, 50.5, 51.0]  # a 2:1 split on the third day, as traded
    lines = [row.split(",") for row in rows(DAYS, closes)]
    body = [",".join(cells[:5] + [cells[4], cells[5], "0.0000", "2.0" if cells[0] == DAYS[2] else "1.0"])
            for cells in lines]
    path = write(tmp_path / "daily_adjusted_IBM.csv", header, *reversed(body))
    data, _ = loaded(path)
    np.testing.assert_allclose(data.series["IBM"].close, [50.0, 50.5, 50.5, 51.0])
    assert any("2:1 split detected on 2021-03-03" in line for line in data.repairs)


def test_alpha_vantage_json_answer_is_named(tmp_path):
    path = write(tmp_path / "daily_IBM.csv", "{", '    "Information": "Thank you for using Alpha Vantage!"', "}")
    with pytest.raises(DataError, match=f"^{path}:1: this is JSON, not CSV"):
        load_prices(path, log=None)


def test_long_multi_ticker_file(tmp_path):
    lines = [row + ",AAL" for row in rows()] + [row + ",AAPL" for row in rows(DAYS, [c * 10 for c in CLOSES])]
    path = write(tmp_path / "all_stocks_5yr.csv.gz", "date,open,high,low,close,volume,Name", *lines, gz=True)
    data, logged = loaded(path)
    assert data.tickers == ["AAL", "AAPL"] and data.series["AAPL"].close.tolist() == [100, 105, 102.5, 110]
    layout = "long multi-ticker CSV (date,open,high,low,close,volume,Name)"
    assert logged == [summary(path, layout, tickers=2).replace("read 4 rows", "read 8 rows")]


def test_long_file_row_without_its_ticker_is_named(tmp_path):
    lines = [row + ",AAL" for row in rows()]
    lines[1] = lines[1][: -len("AAL")]
    path = write(tmp_path / "all_stocks_5yr.csv", "date,open,high,low,close,volume,Name", *lines)
    with pytest.raises(DataError, match=f"^{path}:3: empty ticker name"):
        load_prices(path, log=None)
