"""Checks and repairs of one ticker's daily rows, each logged as it happens.

Price files go wrong in ways that quietly poison a model: an empty cell becomes NaN, a stock
split looks like an 85% crash, a holiday row repeats yesterday's close with no volume. Each
step here either stops with an error that says where (``file:line``) or repairs the rows
and adds one line to the :class:`Report` with a count and the first place it applied.
:func:`clean` runs the steps in an order where each can rely on the ones before.
"""

from dataclasses import dataclass

import numpy as np

from apps.stocks.formats import CLOSE, COLUMNS, HIGH, LOW, OPEN, VOLUME
from shared.errors import DataError, SeqappsError

# A day whose open and close both sit within 4% of 1/k of the previous close is a k:1 split
# (k of the previous close for a reverse split). Ordinary days never move that far at the
# open *and* the close; a -10% day is nowhere near 1/1.5.
FORWARD_SPLITS = (2, 3, 4, 5, 7, 8, 10, 1.5)
REVERSE_SPLITS = (2, 3, 4, 5, 8, 10)
SPLIT_TOLERANCE = 0.04
# For 2:1 and larger the open may gap a little further from the ratio than the close
# (DISCA's 2:1 split of 2014-08-07 opened 4.2% off it and closed 1.3% off). Not for 3:2: a
# one-day fall of a third is a real crash often enough (EVHC on 2017-11-01, open 8% off).
OPEN_SPLIT_TOLERANCE = 0.06
GAP_NOTE_DAYS = 10
JUMP_NOTE_RATIO = 1.6



class Report:
    """Collects repair lines and logs each one at once, so the log shows what happened
    even when a later row ends the read with an error."""

    def __init__(self, log):
        self.lines = []
        self.log = log
        self.layouts = []  # the layout of every file read, for the summary line

    def add(self, text):
        self.lines.append(text)
        if self.log is not None:
            self.log(text)


@dataclass
class Context:
    """What the cleaning steps need besides the rows: where they came from, the options."""

    path: str  # for DataError
    name: str  # short form for repair lines
    report: Report
    on_bad_row: str = "error"
    adjust_splits: bool = False
    use_adjusted_close: bool = False


@dataclass
class Rows:
    """One ticker's rows while they are being cleaned."""

    ticker: str
    dates: np.ndarray
    values: np.ndarray
    adj: object
    lines: np.ndarray

    def keep(self, selector):
        adj = None if self.adj is None else self.adj[selector]
        return Rows(self.ticker, self.dates[selector], self.values[selector], adj,
                     self.lines[selector])


def _where(context, rows, position):
    """``file:line`` of a row, or its date for rows that have no line (built-in data)."""
    line = int(rows.lines[position])
    return f"at {context.name}:{line}" if line > 0 else f"on {rows.dates[position]}"


def _at(context, rows, position):
    """`` at file:line`` for a row read from a file, empty for built-in rows."""
    line = int(rows.lines[position])
    return f" at {context.name}:{line}" if line > 0 else ""


def _log_rows(context, rows, mask, what):
    """Log ``TICKER: N row(s) WHAT (first at file:line)`` when ``mask`` selects any row."""
    found = np.flatnonzero(mask)
    if len(found):
        context.report.add(f"{rows.ticker}: {len(found)} row(s) {what} "
                           f"(first {_where(context, rows, found[0])})")


def _sort_by_date(rows, context):
    back = np.flatnonzero(np.diff(rows.dates.astype(np.int64)) < 0) + 1
    if not len(back):
        return rows
    context.report.add(f"{rows.ticker}: rows were not in date order: sorted ({len(back)} step(s) "
                       f"back in time, first {_where(context, rows, back[0])})")
    return rows.keep(np.argsort(rows.dates, kind="stable"))


def _same(a, b):
    """Row-wise equality that treats two missing cells as equal."""
    return ((a == b) | (np.isnan(a) & np.isnan(b))).reshape(len(a), -1).all(axis=1)


def _drop_duplicates(rows, context):
    """Keep one of identical rows for a date; rows that disagree cannot be resolved here."""
    later = np.flatnonzero(rows.dates[1:] == rows.dates[:-1]) + 1
    if not len(later):
        return rows
    identical = _same(rows.values[later - 1], rows.values[later])
    if rows.adj is not None:
        identical &= _same(rows.adj[later - 1], rows.adj[later])
    if not identical.all():
        second = later[np.argmin(identical)]
        first_line, second_line = int(rows.lines[second - 1]), int(rows.lines[second])
        raise DataError(context.path, f"{rows.ticker}: two different rows for the date "
                        f"{rows.dates[second]}: lines {first_line} and {second_line} (keep one)",
                        line=second_line or None)
    mask = np.zeros(len(rows.dates), dtype=bool)
    mask[later] = True
    _log_rows(context, rows, mask, "duplicating an identical row for the same date dropped")
    return rows.keep(~mask)


def _drop_missing_close(rows, context):
    """A close is the target; it cannot be invented, so such rows go."""
    missing = np.isnan(rows.values[:, CLOSE])
    _log_rows(context, rows, missing, "with a missing close dropped")
    if rows.adj is not None and context.use_adjusted_close:
        no_adj = np.isnan(rows.adj) & ~missing
        _log_rows(context, rows, no_adj, "with a missing adj close dropped")
        missing |= no_adj
    return rows.keep(~missing) if missing.any() else rows


def _bad_cells(rows, context):
    """``[n, 6]`` mask of non-positive prices / negative volume / non-positive adj close."""
    bad = np.zeros((len(rows.dates), 6), dtype=bool)
    bad[:, :4] = rows.values[:, :4] <= 0
    bad[:, VOLUME] = rows.values[:, VOLUME] < 0
    if rows.adj is not None and context.use_adjusted_close:
        bad[:, 5] = rows.adj <= 0
    return bad


def _check_signs(rows, context):
    bad = _bad_cells(rows, context)
    bad_rows = bad.any(axis=1)
    if not bad_rows.any():
        return rows
    if context.on_bad_row == "drop":
        _log_rows(context, rows, bad_rows, "with a non-positive price or negative volume dropped")
        return rows.keep(~bad_rows)
    position = int(np.argmax(bad_rows))
    column = int(np.argmax(bad[position]))
    name, value = (("adj close", rows.adj[position]) if column == 5
                   else (COLUMNS[column], rows.values[position, column]))
    rule = "volume must be >= 0" if column == VOLUME else "prices must be > 0"
    raise DataError(context.path, f"{rows.ticker}: {name} is {value:g} on {rows.dates[position]}: "
                    f"{rule} (fix the file, or pass --on-bad-row drop to drop such rows)",
                    line=int(rows.lines[position]) or None)


def _fill_volume(rows, context):
    missing = np.isnan(rows.values[:, VOLUME])
    if missing.any():
        _log_rows(context, rows, missing, "with missing volume set to 0")
        rows.values[missing, VOLUME] = 0.0
    return rows


def _fill_open_high_low(rows, context):
    """Open falls back to the previous close (the row's own close on the first row); high
    and low then span whatever the row has, so the day's range stays consistent."""
    values = rows.values
    missing = np.isnan(values[:, :CLOSE]).any(axis=1)
    if not missing.any():
        return rows
    close = values[:, CLOSE]
    previous_close = np.concatenate([close[:1], close[:-1]])
    opened = np.where(np.isnan(values[:, OPEN]), previous_close, values[:, OPEN])
    high = np.fmax(np.fmax(opened, close), values[:, HIGH])
    low = np.fmin(np.fmin(opened, close), values[:, LOW])
    _log_rows(context, rows, missing, "with missing open/high/low filled from the close")
    values[missing, OPEN] = opened[missing]
    values[missing, HIGH] = high[missing]
    values[missing, LOW] = low[missing]
    return rows


def _repair_ranges(rows, context):
    """Widen high/low to include open and close (real files round them out by a cent)."""
    values = rows.values
    top = np.maximum(values[:, OPEN], values[:, CLOSE])
    bottom = np.minimum(values[:, OPEN], values[:, CLOSE])
    bad = (values[:, HIGH] < top) | (values[:, LOW] > bottom)
    if bad.any():
        _log_rows(context, rows, bad, "with high/low not covering open/close widened to include them")
        values[bad, HIGH] = np.maximum(values[bad, HIGH], top[bad])
        values[bad, LOW] = np.minimum(values[bad, LOW], bottom[bad])
    return rows


def _drop_non_trading(rows, context):
    """Rows that repeat the previous close with no volume are holidays, not flat days."""
    values = rows.values
    flat = (values[1:, VOLUME] == 0) & (values[1:, :4] == values[:-1, CLOSE, None]).all(axis=1)
    mask = np.concatenate([[False], flat])
    if not mask.any():
        return rows
    _log_rows(context, rows, mask, "with zero volume and prices equal to the previous close "
              "(non-trading days) dropped")
    return rows.keep(~mask)


def _use_adjusted_close(rows, context):
    """Scale each row by adj close / close, so dividends (and splits) become continuous.

    All four prices get the same factor, which keeps the day's range consistent; the close
    then equals the adj close up to rounding in the last bit.
    """
    factor = rows.adj / rows.values[:, CLOSE]
    rows.values[:, :4] *= factor[:, None]
    context.report.add(f"{rows.ticker}: prices scaled by adj close / close on all "
                       f"{len(factor)} rows (dividends and splits accounted for)")
    return rows


def _split_of(close_ratio, open_ratio):
    """``(k, forward)`` for a split that moved both ratios near 1/k (or k), else None."""
    for k in FORWARD_SPLITS:
        open_tolerance = OPEN_SPLIT_TOLERANCE if k >= 2 else SPLIT_TOLERANCE
        if abs(close_ratio * k - 1) <= SPLIT_TOLERANCE and abs(open_ratio * k - 1) <= open_tolerance:
            return k, True
    for k in REVERSE_SPLITS:
        if abs(close_ratio / k - 1) <= SPLIT_TOLERANCE and abs(open_ratio / k - 1) <= OPEN_SPLIT_TOLERANCE:
            return k, False
    return None


def _split_label(k, forward):
    ratio = "3:2" if k == 1.5 else f"{k:g}:1"
    return f"{ratio} split" if forward else f"1:{k:g} reverse split"


def _old_level_held(values, day, k, forward):
    """Whether the day before really traded at the old level, judged by its open.

    A single bad close (LNT closes at 17.87 on 2016-05-19 between days near 35.5 in the S&P
    file) makes the *next* day look like a 1:2 reverse split; its own open, still at the
    old level, shows the level never moved.
    """
    moved = np.log(values[day, CLOSE] / values[day - 1, OPEN])
    nominal = -np.log(k) if forward else np.log(k)
    return abs(moved - nominal) < abs(moved)


def _adjust_splits(rows, context):
    """Make the series continuous across splits: earlier prices are divided by the exact
    nominal ratio (multiplied for reverse splits) and earlier volume scaled the other way."""
    values = rows.values
    close_ratio = values[1:, CLOSE] / values[:-1, CLOSE]
    open_ratio = values[1:, OPEN] / values[:-1, CLOSE]
    candidates = np.flatnonzero((close_ratio < 0.7) | (close_ratio > 1.4)) + 1
    down = np.ones(len(values))  # forward splits after each row, multiplied together
    up = np.ones(len(values))  # reverse splits after each row
    for day in candidates:
        split = _split_of(close_ratio[day - 1], open_ratio[day - 1])
        if split is None or not _old_level_held(values, day, *split):
            continue
        k, forward = split
        (down if forward else up)[:day] *= k
        verb = "divided" if forward else "multiplied"
        context.report.add(f"{rows.ticker}: {_split_label(k, forward)} detected on {rows.dates[day]} "
                           f"(close {values[day - 1, CLOSE]:.2f} -> {values[day, CLOSE]:.2f}): "
                           f"earlier prices {verb} by {k:g}")
    values[:, :4] = values[:, :4] * up[:, None] / down[:, None]
    values[:, VOLUME] = values[:, VOLUME] * down / up
    return rows


def _note_jumps(rows, context):
    """Point at closes that jump by more than x1.6 in a day and were not taken for a split:
    real crashes and rallies, but also missed splits and bad prints worth a look."""
    moves = np.abs(np.diff(np.log(rows.values[:, CLOSE])))
    days = np.flatnonzero(moves > np.log(JUMP_NOTE_RATIO)) + 1
    if len(days):
        day = days[np.argmax(moves[days - 1])]
        context.report.add(f"note: {rows.ticker}: {len(days)} day(s) where the close moved by more "
                           f"than x{JUMP_NOTE_RATIO:g} and no split was detected (largest: "
                           f"{rows.values[day - 1, CLOSE]:.2f} -> {rows.values[day, CLOSE]:.2f} on "
                           f"{rows.dates[day]}{_at(context, rows, day)}); left as is")
    return rows


def _note_gaps(rows, context):
    """Gaps are stepped over, not filled; a long one is worth a note in the log."""
    gaps = np.diff(rows.dates.astype(np.int64))
    if len(gaps) and gaps.max() > GAP_NOTE_DAYS:
        day = int(np.argmax(gaps))
        context.report.add(f"note: {rows.ticker}: largest gap between rows is {gaps[day]} calendar "
                           f"days ({rows.dates[day]} .. {rows.dates[day + 1]}); gaps are not filled")
    return rows


def _broken_invariant(rows):
    values = rows.values
    if not np.isfinite(values).all():
        return "a value is not finite"
    if (values[:, :4] <= 0).any() or (values[:, VOLUME] < 0).any():
        return "a price <= 0 or a volume < 0"
    if (values[:, LOW] > np.minimum(values[:, OPEN], values[:, CLOSE])).any() or \
            (values[:, HIGH] < np.maximum(values[:, OPEN], values[:, CLOSE])).any():
        return "low/high do not cover open and close"
    if (np.diff(rows.dates.astype(np.int64)) <= 0).any():
        return "dates are not strictly increasing"
    return None


def _check_result(rows, context):
    """What every later stage relies on: at least two rows, and the invariants the repairs
    promise (a failure here is a bug in the repairs, not in the file)."""
    if len(rows.dates) < 2:
        raise SeqappsError(f"{context.path}: {rows.ticker} has {len(rows.dates)} usable row(s) "
                           "after cleaning; at least 2 are needed")
    problem = _broken_invariant(rows)
    if problem is not None:
        raise SeqappsError(f"{context.path}: {rows.ticker}: check after repairs failed: {problem}")
    return rows


def clean(rows, context):
    """All checks and repairs, in an order where each step can rely on the ones before:
    duplicates are compared as read, rows without a close go before anything borrows the
    previous close, and splits are detected on complete, consistent days."""
    rows = Rows(rows.ticker, rows.dates, rows.values.astype(np.float64, copy=True),
                 None if rows.adj is None else rows.adj.astype(np.float64), rows.lines)
    steps = [_sort_by_date, _drop_duplicates, _drop_missing_close, _check_signs, _fill_volume,
             _fill_open_high_low, _repair_ranges, _drop_non_trading]
    if context.use_adjusted_close:
        steps.append(_use_adjusted_close)
    if context.adjust_splits:
        steps.append(_adjust_splits)
    for step in steps + [_note_jumps, _note_gaps]:
        rows = step(rows, context)
    return _check_result(rows, context)
