"""Daily OHLCV prices from any source: files, folders, archives and the built-in sets.

Every ticker's rows go through the checks and repairs of :mod:`apps.stocks.repairs`: each
problem is either an error that says where (``file:line``) or a repair that is logged as it
happens and kept in :attr:`PriceData.repairs`. Nothing reaches training unannounced.

The CSV layouts (Yahoo, Stooq, Alpha Vantage, the long multi-ticker layout, Kaggle's
price-volume files) are recognised from the header by :mod:`apps.stocks.formats`; the one
chosen is named in the summary line logged at the end of a read.

Without a file, :func:`load_prices` reads real GOOG prices that matplotlib ships, so the app
works offline on real data; ``"demo"`` gives synthetic, clearly labelled prices.
"""

import codecs
import importlib.util
import io
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from apps.stocks.formats import CLOSE, COLUMNS, Table, no_gc, read_table
from apps.stocks.repairs import Context, Report, Rows, clean
from shared.datasets import decode_error, open_text
from shared.errors import DataError, SeqappsError

__all__ = ["BUILTIN_SOURCES", "COLUMNS", "PriceData", "PriceSeries", "demo_prices", "load_prices", "read_prices"]

BUILTIN_SOURCES = {
    "matplotlib:goog": "GOOG daily prices 2004-08-19..2008-10-14 shipped with matplotlib (the default)",
    "pmdarima:msft": "MSFT daily prices 1986-03-13..2017-11-10 shipped with pmdarima (pip install pmdarima)",
    "demo": "synthetic AR(1) prices for made-up tickers DEMO_A, DEMO_B (not real market data)",
}
GOOG_SOURCE = "matplotlib:goog (GOOG daily prices 2004-2008 shipped with matplotlib)"
DEMO_SOURCE = "demo (synthetic AR(1) prices; not real market data)"

# Layouts whose prices are known not to be split-adjusted: "auto" adjusts them.
UNADJUSTED_LAYOUTS = ("long", "pmdarima", "alphavantage")

DATA_SUFFIXES = (".csv", ".csv.gz", ".txt")
ALPHA_VANTAGE_NAME = re.compile(r"(?:daily|weekly|monthly)(?:_adjusted)?_([^._]+)\.", re.IGNORECASE)
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
BAD_ROW_MODES = ("error", "drop")

MAX_LISTED_TICKERS = 20


@dataclass
class PriceSeries:
    """One ticker's cleaned daily rows, oldest first.

    ``ohlcv`` is float64 ``[n, 5]`` in :data:`COLUMNS` order: finite, prices > 0, volume >= 0,
    ``low <= open, close <= high``; ``dates`` are strictly increasing. ``lines`` keeps each
    row's line in its file (0 for built-in or generated rows) so later stages can still
    point at the source.
    """

    ticker: str
    dates: np.ndarray
    ohlcv: np.ndarray
    lines: np.ndarray

    def __len__(self):
        return len(self.dates)

    @property
    def close(self):
        return self.ohlcv[:, CLOSE]


@dataclass
class PriceData:
    """Every series of one source, by ticker (sorted), and what was repaired on the way."""

    series: dict
    source: str
    is_demo: bool = False
    repairs: list = field(default_factory=list)

    @property
    def tickers(self):
        return list(self.series)


# ---------------------------------------------------------------------------------------
# From a table to PriceData
# ---------------------------------------------------------------------------------------


def _series(rows):
    """A cleaned ticker's rows as the :class:`PriceSeries` every later stage reads."""
    return PriceSeries(rows.ticker, rows.dates.astype("datetime64[D]"),
                       np.ascontiguousarray(rows.values, dtype=np.float64), rows.lines.astype(np.int64))


def _as_names(tickers):
    """Requested tickers as a list; one string may hold several, comma-separated."""
    if tickers is None:
        return None
    if isinstance(tickers, str):
        tickers = tickers.split(",")
    names = [str(name).strip() for name in tickers if str(name).strip()]
    return names or None


def _unknown_tickers(missing, available, source):
    shown = ", ".join(available[:MAX_LISTED_TICKERS])
    more = f", ... ({len(available)} in all)" if len(available) > MAX_LISTED_TICKERS else ""
    return SeqappsError(f"{source}: ticker(s) {', '.join(missing)} not found; available: "
                        f"{shown}{more}")


def _select(available, wanted, source):
    """The available names matching ``wanted`` (case-insensitive); an unknown one is an error."""
    if wanted is None:
        return list(available)
    by_upper = {name.upper(): name for name in available}
    missing = [name for name in wanted if name.upper() not in by_upper]
    if missing:
        raise _unknown_tickers(missing, sorted(available), source)
    return list(dict.fromkeys(by_upper[name.upper()] for name in wanted))


def _groups(table, single_name):
    """``{ticker: row indices in file order}``; rows of a ticker need not be contiguous."""
    if table.tickers is None:
        return {single_name: np.arange(len(table.dates))}
    codes = {}
    numbered = np.array([codes.setdefault(name, len(codes)) for name in table.tickers])
    order = np.argsort(numbered, kind="stable")
    bounds = np.cumsum(np.bincount(numbered, minlength=len(codes)))[:-1]
    return dict(zip(codes, np.split(order, bounds)))


def _resolve_splits(adjust_splits, kind):
    if adjust_splits == "auto":
        return kind in UNADJUSTED_LAYOUTS
    if isinstance(adjust_splits, (bool, np.bool_)):
        return bool(adjust_splits)
    raise SeqappsError(f"adjust_splits must be 'auto', True or False, got {adjust_splits!r}")


def _check_options(on_bad_row):
    if on_bad_row not in BAD_ROW_MODES:
        raise SeqappsError(f"on_bad_row must be one of {', '.join(BAD_ROW_MODES)}, got {on_bad_row!r}")


def _series_from_table(table, context, single_name, wanted):
    """Select, clean and collect every requested ticker of a parsed table."""
    if context.use_adjusted_close and table.adj is None:
        raise SeqappsError(f"{context.path}: use_adjusted_close needs an 'Adj Close' column "
                           "(Yahoo layout); this source has none")
    groups = _groups(table, single_name)
    series = {}
    for ticker in _select(groups, wanted, context.path):
        rows = groups[ticker]
        adj = None if table.adj is None else table.adj[rows]
        part = Rows(ticker, table.dates[rows], table.values[rows], adj, table.lines[rows])
        series[ticker] = _series(clean(part, context))
    return series


def _stem_ticker(name):
    """``ORCL_1995-2014.csv`` -> ``ORCL``: the file name up to the first ``_``, ``-`` or ``.``;
    but ``daily_IBM.csv`` -> ``IBM``, as Alpha Vantage names its downloads by series first."""
    name = Path(name).name
    match = ALPHA_VANTAGE_NAME.match(name)
    return (match.group(1) if match else re.split(r"[_.\-]", name, maxsplit=1)[0]).upper()


def _single_name(ticker_name, wanted, file_name):
    """A one-ticker file's series name: given, else the one requested, else the file's stem."""
    if ticker_name is not None:
        return str(ticker_name).strip()
    if wanted is not None and len(wanted) == 1:
        return wanted[0].upper()
    return _stem_ticker(file_name)


def _parse_stream(stream, *, path, name, file_name, tickers, ticker_name, adjust_splits,
                  use_adjusted_close, on_bad_row, report):
    """``{ticker: PriceSeries}`` from one CSV text stream; ``path`` names it in errors."""
    _check_options(on_bad_row)
    with no_gc():  # the row lists are freed on return, before collection resumes
        table = read_table(stream, path)
    report.layouts.append(table.layout)
    if ticker_name is not None and table.kind == "long":
        raise SeqappsError(f"{path}: ticker_name only applies to single-ticker files; this file "
                           "has a ticker column (select tickers with tickers=...)")
    context = Context(path, name, report, on_bad_row, _resolve_splits(adjust_splits, table.kind),
                       use_adjusted_close)
    wanted = _as_names(tickers)
    return _series_from_table(table, context, _single_name(ticker_name, wanted, file_name), wanted)


def _python_encoding(encoding):
    """UTF-8 is read as ``utf-8-sig`` so a byte order mark never sticks to the header; an
    unknown encoding is the user's typo, not a traceback."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise SeqappsError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252)") from None
    return "utf-8-sig" if name == "utf-8" else encoding


def _archive_member(tar, path):
    members = [m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(DATA_SUFFIXES)]
    if len(members) != 1:
        names = ", ".join(m.name for m in tar.getmembers()) or "none"
        raise SeqappsError(f"{path}: expected exactly one .csv member in the archive, found: {names}")
    return members[0]


def _read_archive(path, encoding, options, report):
    """A ``.tar.gz`` holding one CSV (how pmdarima ships its MSFT prices)."""
    try:
        with tarfile.open(path, "r:*") as tar:
            member = _archive_member(tar, path)
            display = f"{path}:{Path(member.name).name}"
            raw = tar.extractfile(member)
            stream = io.TextIOWrapper(raw, encoding=_python_encoding(encoding), newline="")
            try:
                return _parse_stream(stream, path=display, name=f"{Path(path).name}:{Path(member.name).name}",
                                     file_name=member.name, report=report, **options)
            except UnicodeDecodeError:
                raise DataError(display, f"not valid {encoding} text (use --encoding?)") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise SeqappsError(f"{path}: could not read the archive ({error})") from error


def _is_archive(path):
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _read_series(path, encoding, options, report):
    """``{ticker: PriceSeries}`` of one CSV file (plain or gzip) or one-CSV tar archive."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a folder: expected a CSV file (load_prices reads folders)")
    if not path.is_file():
        raise DataError(path, "file not found")
    _python_encoding(encoding)
    if _is_archive(path):
        return _read_archive(path, encoding, options, report)
    try:
        with open_text(path, encoding, newline="") as stream:
            return _parse_stream(stream, path=str(path), name=path.name, file_name=path.name,
                                 report=report, **options)
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None


def _summary(data, layouts):
    rows = sum(len(series) for series in data.series.values())
    first = min(series.dates[0] for series in data.series.values())
    last = max(series.dates[-1] for series in data.series.values())
    read_as = f" as {'; '.join(dict.fromkeys(layouts))}" if layouts else ""
    return (f"read {rows} rows of {len(data.series)} ticker(s) from {data.source}{read_as} "
            f"(first {first} .. last {last})")


def _finished(series, source, report, is_demo=False):
    data = PriceData(dict(sorted(series.items())), source, is_demo, report.lines)
    if report.log is not None:
        report.log(_summary(data, report.layouts))
    return data


def _options(tickers, ticker_name, adjust_splits, use_adjusted_close, on_bad_row):
    return dict(tickers=tickers, ticker_name=ticker_name, adjust_splits=adjust_splits,
                use_adjusted_close=use_adjusted_close, on_bad_row=on_bad_row)


def read_prices(path, *, tickers=None, ticker_name=None, encoding="utf-8", adjust_splits="auto",
                use_adjusted_close=False, on_bad_row="error", log=print):
    """Read, validate and repair one price file (plain, gzip, or a tar.gz with one CSV).

    The layout comes from the header (see the module docstring). ``tickers`` selects series
    (case-insensitive; an unknown one is an error); a one-ticker file is named
    ``ticker_name``, else the single requested ticker, else its file name up to the first
    ``_``, ``-`` or ``.``. ``adjust_splits="auto"`` undoes splits in layouts known to be
    unadjusted (long and pmdarima), not in Yahoo files. ``on_bad_row="drop"`` drops rows
    with non-positive prices instead of stopping. Every repair is passed to ``log`` and
    kept in ``repairs``; the last line logged summarises the result.
    """
    report = Report(log)
    options = _options(tickers, ticker_name, adjust_splits, use_adjusted_close, on_bad_row)
    series = _read_series(path, encoding, options, report)
    return _finished(series, str(path), report)


# ---------------------------------------------------------------------------------------
# Built-in sources
# ---------------------------------------------------------------------------------------


def _goog_table():
    """matplotlib's ``goog.npz`` as a table, so it goes through the same checks as files."""
    try:
        from matplotlib import cbook
    except ImportError:
        raise SeqappsError("matplotlib:goog needs matplotlib (pip install matplotlib); or pass "
                           "a price file with --data") from None
    sample = cbook.get_sample_data("goog.npz")
    with (sample if hasattr(sample, "files") else np.load(sample, allow_pickle=False)) as npz:
        prices = npz["price_data"]
    values = np.stack([prices[name].astype(np.float64) for name in COLUMNS], axis=1)
    return Table("yahoo", prices["date"].astype("datetime64[D]"), values,
                  prices["adj_close"].astype(np.float64), None, np.zeros(len(prices), dtype=np.int64))


def _load_goog(tickers, adjust_splits, use_adjusted_close, on_bad_row, report):
    _check_options(on_bad_row)
    table = _goog_table()
    context = Context("matplotlib:goog", "matplotlib:goog", report, on_bad_row,
                       _resolve_splits(adjust_splits, table.kind), use_adjusted_close)
    return _series_from_table(table, context, "GOOG", _as_names(tickers))


def _pmdarima_archive():
    """pmdarima's MSFT archive, found without importing pmdarima (that pulls scikit-learn)."""
    spec = importlib.util.find_spec("pmdarima")
    if spec is None or not spec.submodule_search_locations:
        raise SeqappsError("pmdarima:msft needs the pmdarima package, which is not installed: "
                           "pip install pmdarima, or use another source "
                           f"({', '.join(name for name in BUILTIN_SOURCES if name != 'pmdarima:msft')} "
                           "or a price file)")
    archive = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "msft.tar.gz"
    if not archive.is_file():
        raise SeqappsError(f"pmdarima is installed but {archive} is missing; reinstall pmdarima "
                           "or use another source")
    return archive


def _demo_series(ticker, rng, days):
    """AR(1) daily log returns: momentum a small model can find, noise it cannot."""
    noise = rng.standard_normal((5, days))
    returns = np.empty(days)
    previous = 0.0
    for day in range(days):
        previous = 0.0003 + 0.35 * previous + 0.012 * noise[0, day]
        returns[day] = previous
    close = 100.0 * np.exp(np.cumsum(returns))
    opened = np.concatenate([[100.0], close[:-1]]) * np.exp(0.003 * noise[1])
    high = np.maximum(opened, close) * np.exp(np.abs(noise[2]) * 0.005)
    low = np.minimum(opened, close) * np.exp(-np.abs(noise[3]) * 0.005)
    volume = np.round(1e6 * (1 + 20 * np.abs(returns)) * np.exp(0.1 * noise[4]))
    dates = np.busday_offset(np.datetime64("2015-01-02", "D"), np.arange(days), roll="forward")
    values = np.stack([opened, high, low, close, volume], axis=1)
    return Rows(ticker, dates, values, None, np.zeros(days, dtype=np.int64))


def demo_prices(*, seed=0, days=1500, tickers=("DEMO_A", "DEMO_B")):
    """Synthetic, clearly labelled OHLCV for made-up tickers; the same for the same seed.

    Each ticker's rows come from ``numpy.random.default_rng(seed + index)``, on business days
    from 2015-01-02. They pass through the same checks as real files.
    """
    if days < 2:
        raise SeqappsError(f"demo_prices needs at least 2 days, got {days}")
    report = Report(None)
    context = Context("demo", "demo", report)
    series = {ticker: _series(clean(_demo_series(ticker, np.random.default_rng(seed + index), days), context))
              for index, ticker in enumerate(tickers)}
    return PriceData(dict(sorted(series.items())), DEMO_SOURCE, True, report.lines)


# ---------------------------------------------------------------------------------------
# load_prices: any source
# ---------------------------------------------------------------------------------------


def _folder_files(folder):
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and not path.name.startswith(".")
                  and path.name.lower().endswith(DATA_SUFFIXES))


def _read_folder(folder, tickers, encoding, options, report):
    """Every price file in ``folder`` merged; one ticker in two files is ambiguous."""
    files = _folder_files(folder)
    if not files:
        raise SeqappsError(f"{folder}: no price files ({', '.join('*' + s for s in DATA_SUFFIXES)}) "
                           "in this folder")
    series, origin = {}, {}
    for path in files:
        for ticker, part in _read_series(path, encoding, options, report).items():
            if ticker in series:
                raise SeqappsError(f"ticker {ticker} appears in two files: {origin[ticker]} and {path}")
            series[ticker], origin[ticker] = part, path
    chosen = _select(series, _as_names(tickers), str(folder))
    return {ticker: series[ticker] for ticker in chosen}


def _not_found(data):
    names = ", ".join(BUILTIN_SOURCES)
    return SeqappsError(f"{data}: no such file or folder; pass a price file (.csv, .csv.gz, "
                        f".tar.gz), a folder of them, or a built-in source: {names}")


def _builtin(name, tickers, encoding, options, seed, report):
    """``(series, source, is_demo)`` for a built-in source name."""
    if name == "matplotlib:goog":
        return _load_goog(tickers, options["adjust_splits"], options["use_adjusted_close"],
                          options["on_bad_row"], report), GOOG_SOURCE, False
    if name == "pmdarima:msft":
        archive = _pmdarima_archive()
        options = dict(options, ticker_name="MSFT", tickers=tickers)
        return _read_archive(archive, encoding, options, report), f"pmdarima:msft ({archive})", False
    demo = demo_prices(seed=seed)
    return {ticker: demo.series[ticker] for ticker in _select(demo.series, _as_names(tickers), "demo")}, \
        demo.source, True


def load_prices(data=None, *, tickers=None, encoding="utf-8", adjust_splits="auto",
                use_adjusted_close=False, on_bad_row="error", seed=0, log=print):
    """Prices from any source: None (real GOOG prices shipped with matplotlib), a built-in
    name (:data:`BUILTIN_SOURCES`), a price file, a ``.tar.gz`` holding one CSV, or a folder
    of price files (``*.csv``, ``*.csv.gz``, ``*.txt``), merged.

    Options mean what they mean in :func:`read_prices`; ``seed`` only affects ``"demo"``.
    """
    report = Report(log)
    options = _options(None, None, adjust_splits, use_adjusted_close, on_bad_row)
    name = "matplotlib:goog" if data is None else str(data)
    if name.lower() in BUILTIN_SOURCES and not Path(name).exists():
        series, source, is_demo = _builtin(name.lower(), tickers, encoding, options, seed, report)
        return _finished(series, source, report, is_demo)
    path = Path(data)
    if path.is_dir():
        return _finished(_read_folder(path, tickers, encoding, options, report), str(path), report)
    if not path.is_file():
        raise _not_found(data)
    series = _read_series(path, encoding, dict(options, tickers=tickers), report)
    return _finished(series, str(path), report)
