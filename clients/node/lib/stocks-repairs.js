// One ticker's checks and repairs, each logged as it happens (apps/stocks/repairs.py's clean
// with load_prices' defaults).

import { dayString, pyFixed, pyFormatG } from "./stocks-python.js";
import { CLOSE, COLUMNS, HIGH, LOW, OPEN, PriceDataError, StocksError, VOLUME } from "./stocks-formats.js";

const FORWARD_SPLITS = [2, 3, 4, 5, 7, 8, 10, 1.5];
const REVERSE_SPLITS = [2, 3, 4, 5, 8, 10];
const SPLIT_TOLERANCE = 0.04;
const OPEN_SPLIT_TOLERANCE = 0.06;
const GAP_NOTE_DAYS = 10;
const JUMP_NOTE_RATIO = 1.6;

// ---------------------------------------------------------------------------------------
// Validation and repairs: apps/stocks/repairs.py's clean with load_prices' defaults
// (on_bad_row="error", use_adjusted_close=False, adjust_splits="auto")
// ---------------------------------------------------------------------------------------

function where(context, row) {
  return row.line > 0 ? `at ${context.name}:${row.line}` : `on ${dayString(row.date)}`;
}

function logRows(context, ticker, rows, mask, what) {
  const count = mask.filter(Boolean).length;
  if (count) context.report(`${ticker}: ${count} row(s) ${what} (first ${where(context, rows[mask.indexOf(true)])})`);
}

const sameCell = (a, b) => a === b || (Number.isNaN(a) && Number.isNaN(b));

const steps = {
  sortByDate(rows, context, ticker) {
    const back = [];
    for (let i = 1; i < rows.length; i += 1) if (rows[i].date < rows[i - 1].date) back.push(i);
    if (!back.length) return rows;
    context.report(`${ticker}: rows were not in date order: sorted (${back.length} step(s) back in time, ` +
                   `first ${where(context, rows[back[0]])})`);
    return [...rows].sort((a, b) => a.date - b.date);
  },

  dropDuplicates(rows, context, ticker) {
    const mask = rows.map((row, i) => i > 0 && row.date === rows[i - 1].date);
    if (!mask.some(Boolean)) return rows;
    const second = mask.findIndex((later, i) => later && !(
      rows[i].v.every((value, c) => sameCell(value, rows[i - 1].v[c]))
      && (!context.hasAdj || sameCell(rows[i].adj, rows[i - 1].adj))));
    if (second >= 0) {
      const firstLine = rows[second - 1].line, secondLine = rows[second].line;
      throw new PriceDataError(context.path, `${ticker}: two different rows for the date ` +
                               `${dayString(rows[second].date)}: lines ${firstLine} and ${secondLine} (keep one)`,
                               secondLine || null);
    }
    logRows(context, ticker, rows, mask, "duplicating an identical row for the same date dropped");
    return rows.filter((_, i) => !mask[i]);
  },

  dropMissingClose(rows, context, ticker) {
    const mask = rows.map((row) => Number.isNaN(row.v[CLOSE]));
    logRows(context, ticker, rows, mask, "with a missing close dropped");
    return mask.some(Boolean) ? rows.filter((_, i) => !mask[i]) : rows;
  },

  checkSigns(rows, context, ticker) {
    const badCells = (row) => [...row.v.slice(0, 4).map((value) => value <= 0), row.v[VOLUME] < 0];
    const position = rows.findIndex((row) => badCells(row).some(Boolean));
    if (position < 0) return rows;
    const row = rows[position], column = badCells(row).indexOf(true);
    const rule = column === VOLUME ? "volume must be >= 0" : "prices must be > 0";
    throw new PriceDataError(context.path, `${ticker}: ${COLUMNS[column]} is ${pyFormatG(row.v[column])} on ` +
                             `${dayString(row.date)}: ${rule} (fix the file, or pass --on-bad-row drop to drop such rows)`,
                             row.line || null);
  },

  fillVolume(rows, context, ticker) {
    const mask = rows.map((row) => Number.isNaN(row.v[VOLUME]));
    if (mask.some(Boolean)) {
      logRows(context, ticker, rows, mask, "with missing volume set to 0");
      rows.forEach((row, i) => { if (mask[i]) row.v[VOLUME] = 0; });
    }
    return rows;
  },

  fillOpenHighLow(rows, context, ticker) {
    const mask = rows.map((row) => row.v.slice(0, CLOSE).some(Number.isNaN));
    if (!mask.some(Boolean)) return rows;
    const fmax = (a, b) => (Number.isNaN(b) ? a : Number.isNaN(a) ? b : Math.max(a, b));
    const fmin = (a, b) => (Number.isNaN(b) ? a : Number.isNaN(a) ? b : Math.min(a, b));
    const filled = rows.map((row, i) => {
      const previousClose = rows[i === 0 ? 0 : i - 1].v[CLOSE], close = row.v[CLOSE];
      const opened = Number.isNaN(row.v[OPEN]) ? previousClose : row.v[OPEN];
      return [opened, fmax(fmax(opened, close), row.v[HIGH]), fmin(fmin(opened, close), row.v[LOW])];
    });
    logRows(context, ticker, rows, mask, "with missing open/high/low filled from the close");
    rows.forEach((row, i) => { if (mask[i]) [row.v[OPEN], row.v[HIGH], row.v[LOW]] = filled[i]; });
    return rows;
  },

  repairRanges(rows, context, ticker) {
    const top = rows.map((row) => Math.max(row.v[OPEN], row.v[CLOSE]));
    const bottom = rows.map((row) => Math.min(row.v[OPEN], row.v[CLOSE]));
    const mask = rows.map((row, i) => row.v[HIGH] < top[i] || row.v[LOW] > bottom[i]);
    if (mask.some(Boolean)) {
      logRows(context, ticker, rows, mask, "with high/low not covering open/close widened to include them");
      rows.forEach((row, i) => {
        if (!mask[i]) return;
        row.v[HIGH] = Math.max(row.v[HIGH], top[i]);
        row.v[LOW] = Math.min(row.v[LOW], bottom[i]);
      });
    }
    return rows;
  },

  dropNonTrading(rows, context, ticker) {
    const mask = rows.map((row, i) => i > 0 && row.v[VOLUME] === 0
      && row.v.slice(0, 4).every((value) => value === rows[i - 1].v[CLOSE]));
    if (!mask.some(Boolean)) return rows;
    logRows(context, ticker, rows, mask, "with zero volume and prices equal to the previous close " +
            "(non-trading days) dropped");
    return rows.filter((_, i) => !mask[i]);
  },

  adjustSplits(rows, context, ticker) {
    const down = rows.map(() => 1), up = rows.map(() => 1);
    for (let day = 1; day < rows.length; day += 1) {
      const closeRatio = rows[day].v[CLOSE] / rows[day - 1].v[CLOSE];
      if (!(closeRatio < 0.7 || closeRatio > 1.4)) continue;
      const split = splitOf(closeRatio, rows[day].v[OPEN] / rows[day - 1].v[CLOSE]);
      if (split === null || !oldLevelHeld(rows, day, ...split)) continue;
      const [k, forward] = split;
      for (let i = 0; i < day; i += 1) (forward ? down : up)[i] *= k;
      context.report(`${ticker}: ${splitLabel(k, forward)} detected on ${dayString(rows[day].date)} ` +
                     `(close ${pyFixed(rows[day - 1].v[CLOSE], 2)} -> ${pyFixed(rows[day].v[CLOSE], 2)}): ` +
                     `earlier prices ${forward ? "divided" : "multiplied"} by ${pyFormatG(k)}`);
    }
    rows.forEach((row, i) => {
      for (let c = 0; c < 4; c += 1) row.v[c] = (row.v[c] * up[i]) / down[i];
      row.v[VOLUME] = (row.v[VOLUME] * down[i]) / up[i];
    });
    return rows;
  },

  noteJumps(rows, context, ticker) {
    const limit = Math.log(JUMP_NOTE_RATIO);
    let count = 0, largest = -1, largestMove = -Infinity;
    for (let day = 1; day < rows.length; day += 1) {
      const move = Math.abs(Math.log(rows[day].v[CLOSE]) - Math.log(rows[day - 1].v[CLOSE]));
      if (move > limit) {
        count += 1;
        if (move > largestMove) { largestMove = move; largest = day; }
      }
    }
    if (count) {
      const at = rows[largest].line > 0 ? ` at ${context.name}:${rows[largest].line}` : "";
      context.report(`note: ${ticker}: ${count} day(s) where the close moved by more than ` +
                     `x${pyFormatG(JUMP_NOTE_RATIO)} and no split was detected (largest: ` +
                     `${pyFixed(rows[largest - 1].v[CLOSE], 2)} -> ${pyFixed(rows[largest].v[CLOSE], 2)} on ` +
                     `${dayString(rows[largest].date)}${at}); left as is`);
    }
    return rows;
  },

  noteGaps(rows, context, ticker) {
    let day = -1, widest = -Infinity;
    for (let i = 0; i + 1 < rows.length; i += 1) {
      const gap = rows[i + 1].date - rows[i].date;
      if (gap > widest) { widest = gap; day = i; }
    }
    if (day >= 0 && widest > GAP_NOTE_DAYS) {
      context.report(`note: ${ticker}: largest gap between rows is ${widest} calendar days ` +
                     `(${dayString(rows[day].date)} .. ${dayString(rows[day + 1].date)}); gaps are not filled`);
    }
    return rows;
  },
};

function splitOf(closeRatio, openRatio) {
  for (const k of FORWARD_SPLITS) {
    const openTolerance = k >= 2 ? OPEN_SPLIT_TOLERANCE : SPLIT_TOLERANCE;
    if (Math.abs(closeRatio * k - 1) <= SPLIT_TOLERANCE && Math.abs(openRatio * k - 1) <= openTolerance) return [k, true];
  }
  for (const k of REVERSE_SPLITS) {
    if (Math.abs(closeRatio / k - 1) <= SPLIT_TOLERANCE && Math.abs(openRatio / k - 1) <= OPEN_SPLIT_TOLERANCE) {
      return [k, false];
    }
  }
  return null;
}

function splitLabel(k, forward) {
  const ratio = k === 1.5 ? "3:2" : `${pyFormatG(k)}:1`;
  return forward ? `${ratio} split` : `1:${pyFormatG(k)} reverse split`;
}

function oldLevelHeld(rows, day, k, forward) {
  const moved = Math.log(rows[day].v[CLOSE] / rows[day - 1].v[OPEN]);
  const nominal = forward ? -Math.log(k) : Math.log(k);
  return Math.abs(moved - nominal) < Math.abs(moved);
}

function brokenInvariant(rows) {
  if (!rows.every((row) => row.v.every(Number.isFinite))) return "a value is not finite";
  if (rows.some((row) => row.v.slice(0, 4).some((value) => value <= 0) || row.v[VOLUME] < 0)) {
    return "a price <= 0 or a volume < 0";
  }
  if (rows.some((row) => row.v[LOW] > Math.min(row.v[OPEN], row.v[CLOSE])
                 || row.v[HIGH] < Math.max(row.v[OPEN], row.v[CLOSE]))) {
    return "low/high do not cover open and close";
  }
  if (rows.some((row, i) => i > 0 && row.date <= rows[i - 1].date)) return "dates are not strictly increasing";
  return null;
}

export function clean(ticker, rows, context) {
  rows = rows.map((row) => ({ ...row, v: [...row.v] }));
  const order = ["sortByDate", "dropDuplicates", "dropMissingClose", "checkSigns", "fillVolume", "fillOpenHighLow",
                 "repairRanges", "dropNonTrading", ...(context.adjustSplits ? ["adjustSplits"] : []),
                 "noteJumps", "noteGaps"];
  for (const step of order) rows = steps[step](rows, context, ticker);
  if (rows.length < 2) {
    throw new StocksError(`${context.path}: ${ticker} has ${rows.length} usable row(s) after cleaning; ` +
                          "at least 2 are needed");
  }
  const problem = brokenInvariant(rows);
  if (problem !== null) throw new StocksError(`${context.path}: ${ticker}: check after repairs failed: ${problem}`);
  return {
    ticker, dates: rows.map((row) => row.date), ohlcv: rows.map((row) => row.v), lines: rows.map((row) => row.line),
  };
}
