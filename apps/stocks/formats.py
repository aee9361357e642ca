"""The CSV layouts daily price files are distributed in, recognised from the header.

Header names are matched case-insensitively, in any order, extra columns ignored:

- Yahoo Finance, one ticker: ``Date,Open,High,Low,Close,Adj Close,Volume``;
- Stooq, one ticker: ``Date,Open,High,Low,Close,Volume`` (split-adjusted, like Yahoo's);
- Alpha Vantage, one ticker: ``timestamp,open,high,low,close,volume`` (as traded, not
  adjusted), **newest first**: such a file is read in reverse, oldest first;
- long, many tickers: ``date,open,high,low,close,volume,Name`` (Kaggle's S&P 500 file; the
  ticker column may also be called ``ticker`` or ``symbol``);
- Kaggle's "price-volume data for all US stocks", one ticker:
  ``Date,Open,High,Low,Close,Volume,OpenInt`` (the layout pmdarima ships).

:func:`read_table` turns a whole file into columns, converting each in bulk; a cell that is
neither a number nor a missing-value marker is a DataError at its ``file:line``.
"""

import contextlib
import csv
import gc
import re
from dataclasses import dataclass

import numpy as np

from shared.errors import DataError

COLUMNS = ("open", "high", "low", "close", "volume")
OPEN, HIGH, LOW, CLOSE, VOLUME = range(5)  # their positions

# Cell texts that mean "no value". Anything else that is not a number is an error.
MISSING = frozenset({"", "null", "NULL", "Null", "NaN", "nan", "NAN", "NA", "na", "-"})
MISSING_FORMS = "an empty cell, null, NaN, NA or -"
DATE_PATTERN = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T].*)?")

# Header names (lower-cased, stripped) and the role each plays.
HEADER_ROLES = {
    "date": "date", "timestamp": "date", "open": "open", "high": "high", "low": "low", "close": "close",
    "volume": "volume", "adj close": "adj_close", "adj_close": "adj_close",
    "adjclose": "adj_close", "adjusted close": "adj_close", "adjusted_close": "adj_close",
    "name": "ticker", "ticker": "ticker", "symbol": "ticker", "openint": "openint",
}
REQUIRED = ("date",) + COLUMNS
LAYOUT_NAMES = {
    "yahoo": "Yahoo Finance CSV (Date,Open,High,Low,Close,Adj Close,Volume)",
    "stooq": "Stooq CSV (Date,Open,High,Low,Close,Volume)",
    "alphavantage": "Alpha Vantage CSV (timestamp,open,high,low,close,volume)",
    "long": "long multi-ticker CSV (date,open,high,low,close,volume,Name)",
    "pmdarima": "Kaggle price-volume CSV (Date,Open,High,Low,Close,Volume,OpenInt)",
}
NEWEST_FIRST = "newest first, read oldest first"


@dataclass
class Layout:
    """Where each role sits in the header, and which of :data:`LAYOUT_NAMES` it is."""

    kind: str
    index: dict
    width: int


@dataclass
class Table:
    """A whole file as columns; ``values`` holds NaN where a cell was missing."""

    kind: str
    dates: np.ndarray
    values: np.ndarray
    adj: object  # float64 [n] or None
    tickers: object  # list of str (long layout) or None
    lines: np.ndarray
    newest_first: bool = False

    @property
    def layout(self):
        """The layout's name for the log, and whether its rows came newest first."""
        name = LAYOUT_NAMES[self.kind]
        return f"{name}, {NEWEST_FIRST}" if self.newest_first else name


def _kind(index, header):
    if "ticker" in index:
        return "long"
    if "openint" in index:
        return "pmdarima"
    if header[index["date"]].strip().lower() == "timestamp":
        return "alphavantage"
    return "yahoo" if "adj_close" in index else "stooq"


def _header_error(path, header, names):
    if header and header[0].lstrip().startswith("{"):
        return DataError(path, "this is JSON, not CSV: a price API (Alpha Vantage does this) answers a refused "
                         "or malformed request with a JSON message instead of prices", line=1,
                         content=",".join(header))
    return DataError(path, f"unrecognised header: found columns {', '.join(names) or 'none'}; "
                     f"required: {', '.join(REQUIRED)} (any order; the date column may be called timestamp), "
                     "optional: Adj Close and a ticker column (Name, ticker or symbol)", line=1,
                     content=",".join(header))


def detect_layout(header, path):
    names = [name.strip().lower() for name in header]
    index = {}
    for position, name in enumerate(names):
        role = HEADER_ROLES.get(name)
        if role is None:
            continue
        if role in index:
            raise DataError(path, f"two columns mean {role!r}: {header[index[role]]!r} and "
                            f"{header[position]!r}", line=1, content=",".join(header))
        index[role] = position
    if any(role not in index for role in REQUIRED):
        raise _header_error(path, header, names)
    return Layout(_kind(index, header), index, len(header))


@contextlib.contextmanager
def no_gc():
    """Pause the garbage collector while a file becomes lists of strings.

    Hundreds of thousands of new row lists would trigger full collections over and over
    (they can find nothing: strings and lists of strings hold no cycles), which made
    reading the 587,565-row S&P file about twice as slow.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_rows(stream, path):
    """The header and the data rows with their line numbers; blank lines are skipped."""
    reader = csv.reader(stream)
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise DataError(path, "empty file: expected a header such as "
                        "'Date,Open,High,Low,Close,Adj Close,Volume' and one row per day")
    rows, lines = [], []
    for row in reader:
        if row:
            rows.append(row)
            lines.append(reader.line_num)
    return header, rows, lines


def _check_widths(rows, lines, width, path):
    if all(len(row) == width for row in rows):
        return
    position = next(i for i, row in enumerate(rows) if len(row) != width)
    raise DataError(path, f"expected {width} comma-separated columns like the header, got "
                    f"{len(rows[position])}", line=lines[position], content=",".join(rows[position]))


def _parse_date(text):
    """Days since 1970 for ``YYYY-MM-DD`` (a time part after it is ignored), else None."""
    match = DATE_PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return int(np.datetime64(match.group(1), "D").astype(np.int64))
    except ValueError:  # 2015-02-30 and the like
        return None


def _parse_dates(cells, rows, lines, path):
    """Dates repeat across tickers, so each distinct text is parsed once."""
    days = {text: _parse_date(text) for text in set(cells)}
    for position, text in enumerate(cells):
        if days[text] is None:
            raise DataError(path, f"bad date {text!r}: expected a date YYYY-MM-DD",
                            line=lines[position], content=",".join(rows[position]))
    return np.array([days[text] for text in cells], dtype=np.int64).astype("datetime64[D]")


def _parse_cell(text):
    text = text.strip()
    if text in MISSING:
        return np.nan
    return float(text)


def _parse_numbers(cells, column, rows, lines, path):
    """One column as float64 with NaN for missing cells; bad cells are reported by line.

    The whole column is converted by NumPy in one go; only when that fails is it walked
    cell by cell, to find and name the first bad cell.
    """
    try:
        values = np.array(["nan" if text in MISSING else text for text in cells], dtype=np.float64)
    except ValueError:
        values = np.empty(len(cells))
        for position, text in enumerate(cells):
            try:
                values[position] = _parse_cell(text)
            except ValueError:
                raise DataError(path, f"bad number {text!r} in column {column}: expected a "
                                f"number, or {MISSING_FORMS} for a missing value",
                                line=lines[position], content=",".join(rows[position])) from None
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        position = infinite[0]
        raise DataError(path, f"{cells[position]!r} in column {column} is not a finite number",
                        line=lines[position], content=",".join(rows[position]))
    return values


def _parse_tickers(cells, rows, lines, path):
    names = [text.strip() for text in cells]
    if not all(names):
        position = names.index("")
        raise DataError(path, "empty ticker name", line=lines[position],
                        content=",".join(rows[position]))
    return names


def _newest_first(table):
    """Whether a one-ticker file lists every day before the day it follows (Alpha Vantage does)."""
    steps = np.diff(table.dates.astype(np.int64))
    return table.tickers is None and len(steps) > 0 and bool((steps < 0).all())


def _reversed(table):
    return Table(table.kind, table.dates[::-1], table.values[::-1], None if table.adj is None else table.adj[::-1],
                 None, table.lines[::-1], newest_first=True)


def read_table(stream, path):
    """Parse a CSV stream: detect the layout, then convert each column in bulk.

    A one-ticker file whose dates all run backwards is turned round here, as part of its
    layout, rather than sorted later as a repair.
    """
    header, rows, lines = _read_rows(stream, path)
    columns = list(zip(*rows))
    layout = detect_layout(header, path)
    if not rows:
        raise DataError(path, "no data rows after the header", line=1, content=",".join(header))
    _check_widths(rows, lines, layout.width, path)

    def numbers(role):
        return _parse_numbers(columns[layout.index[role]], role, rows, lines, path)

    dates = _parse_dates(columns[layout.index["date"]], rows, lines, path)
    values = np.stack([numbers(name) for name in COLUMNS], axis=1)
    adj = numbers("adj_close") if "adj_close" in layout.index else None
    tickers = (_parse_tickers(columns[layout.index["ticker"]], rows, lines, path)
               if layout.kind == "long" else None)
    table = Table(layout.kind, dates, values, adj, tickers, np.array(lines, dtype=np.int64))
    return _reversed(table) if _newest_first(table) else table
