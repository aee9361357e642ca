"""Reading, validating and repairing price files (apps/stocks/data.py), through its public API."""

import functools
import gzip
import importlib.util
import io
import re
import tarfile

import numpy as np
import pytest

from apps.stocks.data import (BUILTIN_SOURCES, COLUMNS, PriceData, PriceSeries, demo_prices,
                              load_prices, read_prices)
from shared.errors import DataError, SeqappsError

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
PLAIN_HEADER = "Date,Open,High,Low,Close,Volume"
LONG_HEADER = "date,open,high,low,close,volume,Name"
PMDARIMA_HEADER = "Date,Open,High,Low,Close,Volume,OpenInt"


def write(folder, name, *lines):
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read(path, **options):
    """``(data, logged lines)`` of read_prices with its log captured."""
    logged = []
    return read_prices(path, log=logged.append, **options), logged


def assert_invariants(series):
    assert isinstance(series, PriceSeries)
    assert series.dates.dtype == np.dtype("datetime64[D]")
    assert series.ohlcv.dtype == np.float64 and series.ohlcv.shape == (len(series), 5)
    assert series.lines.dtype == np.int64 and series.lines.shape == (len(series),)
    assert np.isfinite(series.ohlcv).all()
    assert (series.ohlcv[:, :4] > 0).all() and (series.ohlcv[:, 4] >= 0).all()
    low, high = series.ohlcv[:, 2], series.ohlcv[:, 1]
    for column in (0, 3):
        assert (low <= series.ohlcv[:, column]).all() and (series.ohlcv[:, column] <= high).all()
    assert (np.diff(series.dates.astype(np.int64)) > 0).all()


# ---------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------


def test_yahoo_layout_is_read_as_one_ticker_named_after_the_file(tmp_path):
    path = write(tmp_path, "ORCL_1995-2014.csv", YAHOO_HEADER,
                 "1995-01-03,2.18,2.19,2.11,2.12,1.88,36301200",
                 "1995-01-04,2.12,2.15,2.09,2.14,1.90,46051600")
    data, logged = read(path)
    assert isinstance(data, PriceData) and data.tickers == ["ORCL"] and not data.is_demo
    series = data.series["ORCL"]
    assert len(series) == 2 and series.dates.tolist() == [np.datetime64("1995-01-03").item(),
                                                          np.datetime64("1995-01-04").item()]
    np.testing.assert_array_equal(series.ohlcv[0], [2.18, 2.19, 2.11, 2.12, 36301200])
    np.testing.assert_array_equal(series.close, [2.12, 2.14])
    assert series.lines.tolist() == [2, 3]
    assert data.repairs == [] and data.source == str(path)
    assert logged == [f"read 2 rows of 1 ticker(s) from {path} as Yahoo Finance CSV (Date,Open,High,Low,Close,"
                      "Adj Close,Volume) (first 1995-01-03 .. last 1995-01-04)"]
    assert COLUMNS == ("open", "high", "low", "close", "volume")


def test_long_layout_groups_interleaved_rows_by_ticker_sorted(tmp_path):
    path = write(tmp_path, "all.csv", LONG_HEADER,
                 "2013-02-08,15.07,15.12,14.63,14.75,8407500,ZZ",
                 "2013-02-08,67.71,68.40,66.89,67.85,158168416,AAPL",
                 "2013-02-11,14.89,15.01,14.26,14.46,8882000,ZZ",
                 "2013-02-11,68.07,69.28,67.61,68.56,129029425,AAPL")
    data, _ = read(path)
    assert data.tickers == ["AAPL", "ZZ"]
    np.testing.assert_array_equal(data.series["AAPL"].close, [67.85, 68.56])
    assert data.series["ZZ"].lines.tolist() == [2, 4]


@pytest.mark.parametrize("name", ["ticker", "Symbol", " NAME "])
def test_long_layout_accepts_each_ticker_column_name(tmp_path, name):
    path = write(tmp_path, "all.csv", f"date,open,high,low,close,volume,{name}",
                 "2013-02-08,1,2,1,2,5,AAA", "2013-02-11,2,3,2,3,5,AAA")
    assert read(path)[0].tickers == ["AAA"]


def test_pmdarima_layout_ignores_openint(tmp_path):
    path = write(tmp_path, "msft.us.txt", PMDARIMA_HEADER,
                 "1986-03-13,0.0672,0.0755,0.0672,0.0724,1371330506,0",
                 "1986-03-14,0.0724,0.0760,0.0724,0.0750,409569463,0")
    data, _ = read(path)
    assert data.tickers == ["MSFT"]
    np.testing.assert_array_equal(data.series["MSFT"].ohlcv[1], [0.0724, 0.0760, 0.0724, 0.0750, 409569463])


def test_gzip_is_detected_by_content_and_the_name_loses_its_suffixes(tmp_path):
    text = f"{PLAIN_HEADER}\n2020-01-02,1,2,1,2,10\n2020-01-03,2,3,2,3,10\n"
    for name in ("msft.csv.gz", "aapl.csv"):
        (tmp_path / name).write_bytes(gzip.compress(text.encode()))
    assert read(tmp_path / "msft.csv.gz")[0].tickers == ["MSFT"]
    data, _ = read(tmp_path / "aapl.csv")
    assert data.tickers == ["AAPL"] and len(data.series["AAPL"]) == 2


def test_columns_in_any_order_case_and_spaces_with_extra_columns(tmp_path):
    path = write(tmp_path, "x.csv", " VOLUME , close,Date,low,Comment,HIGH,open",
                 "100,10.5,2020-01-02,9,hello,11,10", "200,11,2020-01-03,10,,12,10.5")
    series = read(path)[0].series["X"]
    np.testing.assert_array_equal(series.ohlcv, [[10, 11, 9, 10.5, 100], [10.5, 12, 10, 11, 200]])


def test_bom_and_windows_line_endings(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{PLAIN_HEADER}\r\n2020-01-02,1,2,1,2,3\r\n2020-01-03,2,2,2,2,3\r\n".encode())
    assert len(read(path)[0].series["X"]) == 2


def test_unknown_header_is_an_error_at_line_1_naming_what_was_found(tmp_path):
    path = write(tmp_path, "x.csv", "Day,Price,Volume", "2020-01-02,1,2")
    with pytest.raises(DataError) as caught:
        read(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:1: unrecognised header")
    assert "found columns day, price, volume" in text
    assert "required: date, open, high, low, close, volume" in text


@pytest.mark.parametrize("content", ["", "\n\n", PLAIN_HEADER + "\n"])
def test_empty_file_or_header_only_is_an_error(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=r"empty file|no data rows"):
        read(path)


def test_row_with_the_wrong_number_of_columns(tmp_path):
    path = write(tmp_path, "x.csv", PLAIN_HEADER, "2020-01-02,1,2,1,2,3", "2020-01-03,1,2,1,2")
    with pytest.raises(DataError, match=r"x\.csv:3: expected 6 comma-separated columns"):
        read(path)


# ---------------------------------------------------------------------------------------
# Dates and numbers
# ---------------------------------------------------------------------------------------


def test_dates_may_carry_a_time_part(tmp_path):
    path = write(tmp_path, "x.csv", PLAIN_HEADER, "2020-01-02 00:00:00,1,2,1,2,3",
                 "2020-01-03T16:00:00Z,2,2,2,2,3")
    assert read(path)[0].series["X"].dates.astype(str).tolist() == ["2020-01-02", "2020-01-03"]


@pytest.mark.parametrize("date", ["01/03/2020", "2020-1-3", "2020-02-30", "20200103", "yesterday"])
def test_bad_date_names_path_line_and_content(tmp_path, date):
    path = write(tmp_path, "x.csv", PLAIN_HEADER, "2020-01-02,1,2,1,2,3", f"{date},1,2,1,2,3")
    with pytest.raises(DataError) as caught:
        read(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:3: bad date") and "expected a date YYYY-MM-DD" in text
    assert f"(got: '{date},1,2,1,2,3')" in text


@pytest.mark.parametrize("cell", ["abc", "1,5", "inf", "1.2.3"])
def test_bad_number_names_path_line_column_and_content(tmp_path, cell):
    path = write(tmp_path, "x.csv", PLAIN_HEADER, "2020-01-02,1,2,1,2,3", f'2020-01-03,1,"{cell}",1,2,3')
    with pytest.raises(DataError) as caught:
        read(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:3: ") and "column high" in text and repr(cell) in text


@pytest.mark.parametrize("cell", ["", "null", "NaN", "nan", "NA", "-", " "])
def test_every_missing_spelling_is_missing(tmp_path, cell):
    path = write(tmp_path, "x.csv", PLAIN_HEADER, "2020-01-02,1,2,1,2,3", f"2020-01-03,2,3,2,3,{cell}")
    data, _ = read(path)
    assert data.series["X"].ohlcv[1, 4] == 0
    assert data.repairs == ["X: 1 row(s) with missing volume set to 0 (first at x.csv:3)"]


# ---------------------------------------------------------------------------------------
# Repairs and errors
# ---------------------------------------------------------------------------------------


def test_missing_cells_are_filled_or_dropped_and_logged(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER,
                 "2020-01-02,,,,10,100",           # first row: open from its own close
                 "2020-01-03,,12,,11,200",          # open from the previous close (10)
                 "2020-01-06,NA,null,-,10.8,300",   # open 11; high/low span open and close
                 "2020-01-07,10,10.5,9.5,,400",     # no close: dropped
                 "2020-01-08,10,10.5,9.5,10.2,")    # volume 0
    data, logged = read(path)
    np.testing.assert_array_equal(data.series["T"].ohlcv, [
        [10, 10, 10, 10, 100],
        [10, 12, 10, 11, 200],
        [11, 11, 10.8, 10.8, 300],
        [10, 10.5, 9.5, 10.2, 0]])
    assert data.series["T"].lines.tolist() == [2, 3, 4, 6]
    assert data.repairs == [
        "T: 1 row(s) with a missing close dropped (first at t.csv:5)",
        "T: 1 row(s) with missing volume set to 0 (first at t.csv:6)",
        "T: 3 row(s) with missing open/high/low filled from the close (first at t.csv:2)",
    ]
    assert logged[:-1] == data.repairs and logged[-1].startswith("read 4 rows of 1 ticker(s)")


@pytest.mark.parametrize("row, column, rule", [
    ("2020-01-03,0,2,1,2,3", "open", "prices must be > 0"),
    ("2020-01-03,1,2,1,-2,3", "close", "prices must be > 0"),
    ("2020-01-03,1,2,1,2,-3", "volume", "volume must be >= 0"),
])
def test_non_positive_price_is_an_error_by_default(tmp_path, row, column, rule):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-02,1,2,1,2,3", row, "2020-01-06,1,2,1,2,3")
    with pytest.raises(DataError) as caught:
        read(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:3: T: {column} is ") and rule in text
    assert "--on-bad-row drop" in text


def test_non_positive_price_dropped_on_request(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-02,1,2,1,2,3", "2020-01-03,0,2,1,2,3",
                 "2020-01-06,1,2,1,2,-1", "2020-01-07,1,2,1,1.5,3")
    data, _ = read(path, on_bad_row="drop")
    assert data.series["T"].lines.tolist() == [2, 5]
    assert data.repairs == ["T: 2 row(s) with a non-positive price or negative volume dropped "
                            "(first at t.csv:3)"]
    with pytest.raises(SeqappsError, match="on_bad_row must be one of error, drop"):
        read(path, on_bad_row="skip")


def test_inconsistent_range_is_widened(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-02,10,9.9,9.5,10.2,5",
                 "2020-01-03,10,9,11,10,5", "2020-01-06,10,11,9,10.5,5")
    data, _ = read(path)
    np.testing.assert_array_equal(data.series["T"].ohlcv[:, :4],
                                  [[10, 10.2, 9.5, 10.2], [10, 10, 10, 10], [10, 11, 9, 10.5]])
    assert data.repairs == ["T: 2 row(s) with high/low not covering open/close widened to include "
                            "them (first at t.csv:2)"]


def test_unsorted_rows_are_sorted_and_logged(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-03,11,11,11,11,1", "2020-01-02,10,10,10,10,1",
                 "2020-01-06,12,12,12,12,1")
    data, _ = read(path)
    series = data.series["T"]
    assert series.dates.astype(str).tolist() == ["2020-01-02", "2020-01-03", "2020-01-06"]
    assert series.lines.tolist() == [3, 2, 4] and series.close.tolist() == [10, 11, 12]
    assert data.repairs == ["T: rows were not in date order: sorted (1 step(s) back in time, "
                            "first at t.csv:3)"]


def test_identical_duplicate_is_dropped(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-02,10,10,10,10,1", "2020-01-03,11,11,11,11,1",
                 "2020-01-03,11,11.0,11,11,1")
    data, _ = read(path)
    assert data.series["T"].lines.tolist() == [2, 3]
    assert data.repairs == ["T: 1 row(s) duplicating an identical row for the same date dropped "
                            "(first at t.csv:4)"]


def test_conflicting_duplicate_names_both_lines(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-03,2,2,2,2,1", "2020-01-02,1,1,1,1,1",
                 "2020-01-03,2,2,2,2.5,1")
    with pytest.raises(DataError) as caught:
        read(path)
    assert str(caught.value).startswith(f"{path}:4: T: two different rows for the date 2020-01-03: "
                                        "lines 2 and 4")


def test_non_trading_day_is_dropped(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-12-24,10,11,9,10.5,100",
                 "2020-12-25,10.5,10.5,10.5,10.5,0", "2020-12-28,10.5,11,10,10.7,100",
                 "2020-12-29,10.7,10.7,10.7,10.7,50")  # flat but traded: kept
    data, _ = read(path)
    assert data.series["T"].lines.tolist() == [2, 4, 5]
    assert data.repairs == ["T: 1 row(s) with zero volume and prices equal to the previous close "
                            "(non-trading days) dropped (first at t.csv:3)"]


def test_long_gap_is_noted_not_filled(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-02,10,10,10,10,1", "2020-01-03,10,11,10,11,1",
                 "2020-01-21,11,11,11,11,1", "2020-01-22,11,12,11,12,1")
    data, _ = read(path)
    assert len(data.series["T"]) == 4
    assert data.repairs == ["note: T: largest gap between rows is 18 calendar days "
                            "(2020-01-03 .. 2020-01-21); gaps are not filled"]


def test_too_few_rows(tmp_path):
    path = write(tmp_path, "t.csv", PLAIN_HEADER, "2020-01-02,1,1,1,1,1", "2020-01-03,1,1,1,,1")
    with pytest.raises(SeqappsError, match="T has 1 usable row"):
        read(path)


# ---------------------------------------------------------------------------------------
# Splits and adjusted closes
# ---------------------------------------------------------------------------------------

AAPL_ROWS = ("2014-06-05,646.2,649.37,642.61,647.35,44739900,AAPL",
             "2014-06-06,649.9,651.26,644.47,645.57,87484600,AAPL",
             "2014-06-09,92.7,93.88,91.75,93.7,75414804,AAPL",
             "2014-06-10,94.73,95.05,93.57,94.25,62777042,AAPL")


def test_split_is_detected_and_earlier_prices_divided_exactly(tmp_path):
    path = write(tmp_path, "s.csv", LONG_HEADER, *AAPL_ROWS)
    data, _ = read(path)
    ohlcv = data.series["AAPL"].ohlcv
    np.testing.assert_array_equal(ohlcv[:2, :4], np.array([[646.2, 649.37, 642.61, 647.35],
                                                           [649.9, 651.26, 644.47, 645.57]]) / 7)
    np.testing.assert_array_equal(ohlcv[:2, 4], [44739900 * 7, 87484600 * 7])
    np.testing.assert_array_equal(ohlcv[2:, 3], [93.7, 94.25])
    assert data.repairs == ["AAPL: 7:1 split detected on 2014-06-09 (close 645.57 -> 93.70): "
                            "earlier prices divided by 7"]


def test_reverse_and_consecutive_splits_compound(tmp_path):
    path = write(tmp_path, "r.csv", LONG_HEADER, "2020-01-02,2,2.1,1.9,2,1000,R",
                 "2020-01-03,9.9,10.2,9.8,10.1,200,R", "2020-01-06,10,10.2,9.9,10,200,R",
                 "2020-01-07,6.7,6.8,6.6,6.7,300,R")  # then a 3:2 split
    data, _ = read(path)
    np.testing.assert_array_equal(data.series["R"].close, [2 * 5 / 1.5, 10.1 / 1.5, 10 / 1.5, 6.7])
    assert [line.split(" (")[0] for line in data.repairs] == [
        "R: 1:5 reverse split detected on 2020-01-03", "R: 3:2 split detected on 2020-01-07"]


def test_no_split_on_an_ordinary_big_fall_or_a_single_bad_close(tmp_path):
    path = write(tmp_path, "d.csv", LONG_HEADER, "2020-01-02,100,101,99,100,10,D",
                 "2020-01-03,92,93,89,90,10,D",                       # -10%
                 "2016-05-18,35.76,36.25,35.19,35.35,1061648,LNT",
                 "2016-05-19,35.19,35.785,35.085,17.87,1231722,LNT",  # a bad print, as in the S&P file
                 "2016-05-20,35.8,36.32,35.55,35.91,997954,LNT")
    data, _ = read(path)
    np.testing.assert_array_equal(data.series["D"].close, [100, 90])
    np.testing.assert_array_equal(data.series["LNT"].close, [35.35, 17.87, 35.91])
    assert not any("split detected" in line for line in data.repairs)
    assert ("note: LNT: 2 day(s) where the close moved by more than x1.6 and no split was detected "
            "(largest: 17.87 -> 35.91 on 2016-05-20 at d.csv:6); left as is") in data.repairs


def test_adjust_splits_false_keeps_raw_prices_and_yahoo_is_not_adjusted(tmp_path):
    long_path = write(tmp_path, "s.csv", LONG_HEADER, *AAPL_ROWS)
    raw = [647.35, 645.57, 93.7, 94.25]
    np.testing.assert_array_equal(read(long_path, adjust_splits=False)[0].series["AAPL"].close, raw)
    yahoo_rows = [",".join(row.split(",")[:5] + [row.split(",")[4]] + [row.split(",")[5]])
                  for row in AAPL_ROWS]
    yahoo = write(tmp_path, "aapl.csv", YAHOO_HEADER, *yahoo_rows)
    data, _ = read(yahoo)
    np.testing.assert_array_equal(data.series["AAPL"].close, raw)
    assert read(yahoo, adjust_splits=True)[0].series["AAPL"].close[0] == 647.35 / 7
    with pytest.raises(SeqappsError, match="adjust_splits must be"):
        read(yahoo, adjust_splits="yes")


def test_use_adjusted_close_scales_each_row(tmp_path):
    path = write(tmp_path, "y.csv", YAHOO_HEADER, "2020-01-02,10,11,9,10,9,100",
                 "2020-01-03,10,12,10,11,8.8,100")
    data, _ = read(path, use_adjusted_close=True)
    np.testing.assert_allclose(data.series["Y"].ohlcv, [[9, 9.9, 8.1, 9, 100], [8, 9.6, 8, 8.8, 100]],
                               rtol=1e-15)
    assert data.repairs == ["Y: prices scaled by adj close / close on all 2 rows "
                            "(dividends and splits accounted for)"]
    plain = write(tmp_path, "p.csv", PLAIN_HEADER, "2020-01-02,10,11,9,10,100", "2020-01-03,10,11,9,10,100")
    with pytest.raises(SeqappsError, match="needs an 'Adj Close' column"):
        read(plain, use_adjusted_close=True)


# ---------------------------------------------------------------------------------------
# Ticker selection, folders, archives, built-in sources
# ---------------------------------------------------------------------------------------


def test_ticker_selection_is_case_insensitive_and_unknown_names_are_listed(tmp_path):
    rows = [f"2020-01-0{day},1,1,1,1,1,T{index:02d}" for index in range(25) for day in (2, 3)]
    path = write(tmp_path, "all.csv", LONG_HEADER, *rows)
    data, _ = read(path, tickers=["t03", "T01"])
    assert data.tickers == ["T01", "T03"]
    assert read(path, tickers="t07,T08")[0].tickers == ["T07", "T08"]
    with pytest.raises(SeqappsError) as caught:
        read(path, tickers=["T01", "ZZZ"])
    text = str(caught.value)
    assert "ticker(s) ZZZ not found" in text and "available: T00, T01," in text
    assert "T19, ... (25 in all)" in text and "T20" not in text


def test_single_ticker_file_is_named_by_the_request(tmp_path):
    path = write(tmp_path, "ORCL_1995-2014.csv", PLAIN_HEADER, "2020-01-02,1,1,1,1,1", "2020-01-03,1,1,1,1,1")
    assert read(path, tickers=["oracle"])[0].tickers == ["ORACLE"]
    assert read(path, ticker_name="Oracle")[0].tickers == ["Oracle"]
    with pytest.raises(SeqappsError, match="ticker.s. MSFT not found; available: ORCL"):
        read(path, ticker_name="ORCL", tickers=["MSFT"])


def test_folder_merges_files_and_refuses_a_ticker_twice(tmp_path):
    write(tmp_path, "aapl.csv", PLAIN_HEADER, "2020-01-02,1,1,1,1,1", "2020-01-03,1,1,1,1,1")
    write(tmp_path, "more.txt", LONG_HEADER, "2020-01-02,1,1,1,1,1,IBM", "2020-01-03,1,1,1,1,1,IBM")
    (tmp_path / "msft.csv.gz").write_bytes(
        gzip.compress(f"{PLAIN_HEADER}\n2020-01-02,1,1,1,1,1\n2020-01-03,1,1,1,1,1\n".encode()))
    write(tmp_path, "README.md", "not prices")
    logged = []
    data = load_prices(tmp_path, log=logged.append)
    assert data.tickers == ["AAPL", "IBM", "MSFT"] and data.source == str(tmp_path)
    assert logged == [f"read 6 rows of 3 ticker(s) from {tmp_path} as Stooq CSV (Date,Open,High,Low,Close,Volume); "
                      "long multi-ticker CSV (date,open,high,low,close,volume,Name) "
                      "(first 2020-01-02 .. last 2020-01-03)"]
    assert load_prices(tmp_path, tickers=["ibm"], log=None).tickers == ["IBM"]
    write(tmp_path, "extra.csv", LONG_HEADER, "2020-01-02,1,1,1,1,1,AAPL", "2020-01-03,1,1,1,1,1,AAPL")
    with pytest.raises(SeqappsError, match=r"ticker AAPL appears in two files: .*aapl\.csv and .*extra\.csv"):
        load_prices(tmp_path, log=None)


def test_missing_path_lists_the_builtin_sources(tmp_path):
    with pytest.raises(SeqappsError) as caught:
        load_prices(tmp_path / "nope.csv", log=None)
    assert "no such file or folder" in str(caught.value)
    for name in BUILTIN_SOURCES:
        assert name in str(caught.value)


def make_archive(folder, *members):
    path = folder / "msft.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_tar_archive_with_one_csv_through_load_prices(tmp_path):
    text = (f"{PMDARIMA_HEADER}\n1986-03-13,0.0672,0.0755,0.0672,0.0724,1371330506,0\n"
            "1986-03-14,0.0724,0.0760,0.0724,0.0750,409569463,0\n")
    path = make_archive(tmp_path, ("msft.csv", text))
    data = load_prices(path, log=None)
    assert data.tickers == ["MSFT"] and len(data.series["MSFT"]) == 2
    bad = make_archive(tmp_path, ("msft.csv", text + "03/15/1986,1,1,1,1,1,0\n"))
    with pytest.raises(DataError, match="^" + re.escape(f"{bad}:msft.csv:4: bad date")):
        load_prices(bad, log=None)
    two = make_archive(tmp_path, ("a.csv", text), ("b.csv", text))
    with pytest.raises(SeqappsError, match="exactly one .csv member"):
        load_prices(two, log=None)


def test_pmdarima_source_without_pmdarima_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(SeqappsError, match="pip install pmdarima"):
        load_prices("pmdarima:msft", log=None)


def test_pmdarima_msft_is_read_from_the_package_layout(tmp_path, monkeypatch):
    """``pmdarima:msft`` finds ``pmdarima/datasets/data/msft.tar.gz`` beside the package, as
    pmdarima ships it, without importing pmdarima: a package of that layout is made here."""
    package = tmp_path / "site" / "pmdarima"
    (package / "datasets" / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('pmdarima must not be imported')\n")
    rows = [PMDARIMA_HEADER, "1986-03-13,0.0672,0.0755,0.0672,0.0724,1371330506,0",
            "1986-03-14,0.0724,0.0760,0.0724,0.0750,409569463,0",
            "1986-03-17,0.0750,0.0771,0.0750,0.0761,176401768,0"]
    content = ("\n".join(rows) + "\n").encode()
    with tarfile.open(package / "datasets" / "data" / "msft.tar.gz", "w:gz") as archive:
        member = tarfile.TarInfo("msft.csv")
        member.size = len(content)
        archive.addfile(member, io.BytesIO(content))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    data = load_prices("pmdarima:msft", log=None)
    series = data.series["MSFT"]
    assert data.tickers == ["MSFT"] and data.source.startswith("pmdarima:msft (")
    assert [str(date) for date in series.dates] == ["1986-03-13", "1986-03-14", "1986-03-17"]
    np.testing.assert_array_equal(series.ohlcv[2], [0.0750, 0.0771, 0.0750, 0.0761, 176401768])
    assert_invariants(series)


def test_matplotlib_goog_is_the_default():
    logged = []
    data = load_prices(log=logged.append)
    assert data.tickers == ["GOOG"] and not data.is_demo
    assert data.source == "matplotlib:goog (GOOG daily prices 2004-2008 shipped with matplotlib)"
    series = data.series["GOOG"]
    assert len(series) == 1047 and str(series.dates[0]) == "2004-08-19" and str(series.dates[-1]) == "2008-10-14"
    np.testing.assert_array_equal(series.ohlcv[0], [100.0, 104.06, 95.96, 100.34, 22351900])
    assert (series.lines == 0).all()
    assert_invariants(series)
    assert logged[-1].startswith("read 1047 rows of 1 ticker(s) from matplotlib:goog")
    assert load_prices("matplotlib:goog", log=None).series["GOOG"].close.tolist() == series.close.tolist()


def test_demo_is_deterministic_learnable_and_labelled():
    first, again, other = demo_prices(seed=3), demo_prices(seed=3), demo_prices(seed=4)
    assert first.is_demo and first.source == "demo (synthetic AR(1) prices; not real market data)"
    assert first.tickers == ["DEMO_A", "DEMO_B"] and first.repairs == []
    for name in first.tickers:
        series = first.series[name]
        assert len(series) == 1500 and str(series.dates[0]) == "2015-01-02"
        assert np.is_busday(series.dates).all()
        assert_invariants(series)
        np.testing.assert_array_equal(series.ohlcv, again.series[name].ohlcv)
        assert not np.array_equal(series.ohlcv, other.series[name].ohlcv)
        returns = np.diff(np.log(series.close))
        assert np.corrcoef(returns[:-1], returns[1:])[0, 1] > 0.2  # the AR(1) momentum
    assert not np.array_equal(first.series["DEMO_A"].close, first.series["DEMO_B"].close)
    loaded = load_prices("demo", seed=3, tickers=["demo_b"], log=None)
    assert loaded.is_demo and loaded.tickers == ["DEMO_B"]
    np.testing.assert_array_equal(loaded.series["DEMO_B"].ohlcv, first.series["DEMO_B"].ohlcv)
    assert len(demo_prices(days=10, tickers=("X",)).series["X"]) == 10


# ---------------------------------------------------------------------------------------
# Real files (skipped when ../shared/data is absent)
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def read_sp500(path):
    logged = []
    return read_prices(path, log=logged.append), logged


def test_real_sp500_file(shared_data):
    data, logged = read_sp500(str(shared_data / "stocks" / "all_stocks_5yr.csv.gz"))
    assert len(data.tickers) == 480 and data.tickers == sorted(data.tickers)
    assert sum(len(series) for series in data.series.values()) == 587565
    for series in data.series.values():
        assert_invariants(series)
    assert ("DHR: 2 row(s) with missing open/high/low filled from the close "
            "(first at all_stocks_5yr.csv.gz:158182)") in data.repairs
    assert logged[:-1] == data.repairs
    assert logged[-1].endswith("(first 2013-02-08 .. last 2018-02-07)")


def test_real_sp500_splits(shared_data):
    data, _ = read_sp500(str(shared_data / "stocks" / "all_stocks_5yr.csv.gz"))
    # The file already carries AAPL's 7:1 split of 2014-06-09 (and NFLX's, V's, ...) in its
    # earlier prices, so there is nothing to undo there. Discovery's two share classes split
    # 2:1 the same day; DISCA opened 4.2% off the ratio. EVHC's one-day fall of a third on
    # 2017-11-01 (close 1.3% off 3:2, open 8% off) is a crash, not a split.
    assert [line for line in data.repairs if "split detected" in line] == [
        "DISCA: 2:1 split detected on 2014-08-07 (close 83.02 -> 40.98): earlier prices divided by 2",
        "DISCK: 2:1 split detected on 2014-08-07 (close 81.22 -> 39.78): earlier prices divided by 2"]
    aapl = data.series["AAPL"]
    around = np.isin(aapl.dates, np.array(["2014-06-06", "2014-06-09"], dtype="datetime64[D]"))
    np.testing.assert_array_equal(aapl.close[around], [92.2242, 93.7])
    disck = data.series["DISCK"]
    assert disck.close[disck.dates == np.datetime64("2014-08-06")][0] == 81.22 / 2
    assert not any("LNT" in line and "split" in line and "note" not in line for line in data.repairs)


def test_real_yahoo_file_is_not_split_adjusted_again(shared_data):
    data, _ = read(shared_data / "stocks" / "yahoo" / "ORCL_1995-2014.csv")
    series = data.series["ORCL"]
    assert data.tickers == ["ORCL"] and len(series) == 5036
    assert series.close[0] == 2.117284 and str(series.dates[-1]) == "2014-12-31"
    assert not any("split" in line and "note" not in line for line in data.repairs)
    assert_invariants(series)
