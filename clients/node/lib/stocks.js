// Stocks: a price file (CSV) -> validated, repaired daily OHLCV rows (apps/stocks/data.py's
// load_prices, its default options) -> the last ``window`` days -> model.onnx -> the next
// closes. Rows match ``python -m apps.stocks.predict --runtime onnx --json``; repairs are
// logged in the same words. Everything but ``predict`` (which reads files through
// ``settings.readFile`` and, for folders only, node:fs) is pure JavaScript and runs in the
// browser too.
//
// The reader is split as the Python one is: stocks-formats.js (bytes, CSV and the layouts;
// apps/stocks/formats.py), stocks-repairs.js (apps/stocks/repairs.py) and stocks-python.js
// (Python's formatting of strings, numbers and dates, so that every message reads alike).
// This module reads sources (files, folders, archives) and forecasts.

import { batches } from "./exported.js";
import {
  compareCodePoints, dayString, negative, parseAsOf, pyFixed, pyName, pyPath, pyRepr, pyRound, pyStrip,
} from "./stocks-python.js";
import {
  CLOSE, PriceDataError, StocksError, decodePrices, gunzip, isGzip, layoutName, readTable,
} from "./stocks-formats.js";
import { clean } from "./stocks-repairs.js";

// What this module exported before the split, still exported from here.
export { COLUMNS, PriceDataError, StocksError, decodePrices, gunzip, isGzip, readCsv } from "./stocks-formats.js";
export {
  dayString, daysFromCivil, parseAsOf, pyFixed, pyFloat, pyFormatG, pyLstrip, pyName, pyPath, pyRepr, pyRound, pyStrip,
} from "./stocks-python.js";

export const BUILTIN_SOURCES = {
  "matplotlib:goog": "GOOG daily prices 2004-08-19..2008-10-14 shipped with matplotlib (the default)",
  "pmdarima:msft": "MSFT daily prices 1986-03-13..2017-11-10 shipped with pmdarima (pip install pmdarima)",
  "demo": "synthetic AR(1) prices for made-up tickers DEMO_A, DEMO_B (not real market data)",
};
const UNADJUSTED_LAYOUTS = ["long", "pmdarima", "alphavantage"];  // "auto" undoes splits in these
const DATA_SUFFIXES = [".csv", ".csv.gz", ".txt"];
const ALPHA_VANTAGE_NAME = /^(?:daily|weekly|monthly)(?:_adjusted)?_([^._]+)\./iu;
const ARCHIVE_SUFFIXES = [".tar.gz", ".tgz", ".tar"];
const MAX_LISTED_TICKERS = 20;

// ---------------------------------------------------------------------------------------
// Tickers
// ---------------------------------------------------------------------------------------

function asNames(tickers) {
  if (tickers === null || tickers === undefined) return null;
  const list = typeof tickers === "string" ? tickers.split(",") : tickers;
  const names = list.map((name) => pyStrip(String(name))).filter((name) => name);
  return names.length ? names : null;
}

function select(available, wanted, source) {
  if (wanted === null) return [...available];
  const byUpper = new Map(available.map((name) => [name.toUpperCase(), name]));
  const missing = wanted.filter((name) => !byUpper.has(name.toUpperCase()));
  if (missing.length) {
    const sorted = [...available].sort(compareCodePoints);
    const shown = sorted.slice(0, MAX_LISTED_TICKERS).join(", ");
    const more = sorted.length > MAX_LISTED_TICKERS ? `, ... (${sorted.length} in all)` : "";
    throw new StocksError(`${source}: ticker(s) ${missing.join(", ")} not found; available: ${shown}${more}`);
  }
  return [...new Set(wanted.map((name) => byUpper.get(name.toUpperCase())))];
}

/** ``ORCL_1995-2014.csv`` -> ``ORCL``; but ``daily_IBM.csv`` -> ``IBM`` (Alpha Vantage's names). */
function stemTicker(name) {
  const base = pyName(name);
  const match = ALPHA_VANTAGE_NAME.exec(base);
  return (match ? match[1] : base.split(/[_.-]/)[0]).toUpperCase();
}

// ---------------------------------------------------------------------------------------
// parsePrices: one CSV text to cleaned series
// ---------------------------------------------------------------------------------------

/**
 * One price file's text (any layout apps/stocks/formats.py recognises) validated and repaired as
 * ``load_prices`` does with its defaults. ``source`` names the file in errors (pass it as
 * Python's ``str(Path(file))`` would print it: see :func:`pyPath`). Options: ``tickers``
 * (select, case-insensitive), ``log`` (called with each repair line and the summary),
 * ``name`` (the short name in repair lines; default the file name) and ``fileName`` (what
 * a one-ticker file's ticker comes from; default ``name``).
 *
 * Returns ``{source, series: [{ticker, dates, ohlcv, lines}] sorted by ticker, repairs}``
 * with ``dates`` as days since 1970-01-01 (:func:`dayString` prints them) and ``ohlcv`` as
 * ``[open, high, low, close, volume]`` rows, oldest first.
 */
export function parsePrices(text, source, { tickers = null, log = null, name = null, fileName = null,
                                            summary = true } = {}) {
  const { repairs, layouts, report } = reporter(log);
  const context = { path: source, name: name ?? pyName(source), hasAdj: false, adjustSplits: false, report, layouts };
  const series = readSeries(text, context, fileName ?? context.name, asNames(tickers));
  return finished(series, source, { repairs, layouts }, summary ? log : null);
}

function readSeries(text, context, fileName, wanted) {
  const table = readTable(text, context.path);
  context.layouts.push(layoutName(table));
  context.hasAdj = table.hasAdj;
  context.adjustSplits = UNADJUSTED_LAYOUTS.includes(table.kind);
  const single = wanted !== null && wanted.length === 1 ? wanted[0].toUpperCase() : stemTicker(fileName);
  const groups = new Map();
  table.rows.forEach((row, i) => {
    const ticker = table.tickers ? table.tickers[i] : single;
    if (!groups.has(ticker)) groups.set(ticker, []);
    groups.get(ticker).push(row);
  });
  const series = new Map();
  for (const ticker of select([...groups.keys()], wanted, context.path)) {
    series.set(ticker, clean(ticker, groups.get(ticker), context));
  }
  return series;
}

function summaryLine(data, layouts) {
  const rows = data.series.reduce((sum, one) => sum + one.dates.length, 0);
  const first = Math.min(...data.series.map((one) => one.dates[0]));
  const last = Math.max(...data.series.map((one) => one.dates[one.dates.length - 1]));
  const readAs = layouts.length ? ` as ${[...new Set(layouts)].join("; ")}` : "";
  return `read ${rows} rows of ${data.series.length} ticker(s) from ${data.source}${readAs} ` +
    `(first ${dayString(first)} .. last ${dayString(last)})`;
}

/** The data of a read; ``log`` gets the summary line, which names the layout of every file read. */
function finished(series, source, { repairs, layouts }, log) {
  const list = [...series.values()].sort((a, b) => compareCodePoints(a.ticker, b.ticker));
  const data = { source, series: list, repairs };
  if (log) log(summaryLine(data, layouts));
  return data;
}

// ---------------------------------------------------------------------------------------
// Tar archives (how pmdarima ships its prices): one CSV member
// ---------------------------------------------------------------------------------------

function tarString(block, start, length) {
  let end = start;
  while (end < start + length && block[end] !== 0) end += 1;
  return new TextDecoder("utf-8").decode(block.subarray(start, end));
}

function tarNumber(block, start, length) {
  if (block[start] & 0x80) {  // base-256
    let value = 0;
    for (let i = start + 1; i < start + length; i += 1) value = value * 256 + block[i];
    return value;
  }
  const text = tarString(block, start, length).trim();
  return text ? parseInt(text, 8) : 0;
}

function paxPath(data) {
  const text = new TextDecoder("utf-8").decode(data);
  let found = null;
  for (let at = 0; at < text.length;) {
    const space = text.indexOf(" ", at);
    const length = parseInt(text.slice(at, space), 10);
    if (!(length > 0)) break;
    const record = text.slice(space + 1, at + length - 1);
    const equals = record.indexOf("=");
    if (record.slice(0, equals) === "path") found = record.slice(equals + 1);
    at += length;
  }
  return found;
}

/** ``[{name, isFile, data}]`` of an uncompressed tar (ustar, GNU long names, pax paths). */
export function readTar(bytes, path) {
  const members = [];
  let at = 0, longName = null, pax = null;
  while (at + 512 <= bytes.length) {
    const block = bytes.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    const size = tarNumber(block, 124, 12), type = String.fromCharCode(block[156] || 0x30);
    if (!Number.isFinite(size)) throw new StocksError(`${path}: could not read the archive (invalid header)`);
    const data = bytes.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") { longName = tarString(data, 0, data.length); continue; }
    if (type === "x") { pax = paxPath(data); continue; }
    if (type === "g" || type === "K") continue;
    let name = tarString(block, 0, 100);
    const prefix = tarString(block, 345, 155);
    if (tarString(block, 257, 6) === "ustar" && block[262] === 0 && prefix) name = `${prefix}/${name}`;
    name = pax ?? longName ?? name;
    longName = pax = null;
    if (type === "5") name = name.replace(/\/+$/, "");
    members.push({ name, isFile: "07".includes(type) || type === "S", data });
  }
  if (!members.length && at === 0) throw new StocksError(`${path}: could not read the archive (empty file)`);
  return members;
}

async function readArchive(bytes, path, options) {
  if (isGzip(bytes)) bytes = await gunzip(bytes, path);
  else if (bytes[0] === 0x42 && bytes[1] === 0x5a && bytes[2] === 0x68) {
    throw new StocksError(`${path}: a bzip2 tar archive, which the Node.js client does not read: decompress it ` +
                          "(tar xjf) and pass the CSV file");
  } else if (bytes[0] === 0xfd && bytes[1] === 0x37 && bytes[2] === 0x7a && bytes[3] === 0x58) {
    throw new StocksError(`${path}: an xz tar archive, which the Node.js client does not read: decompress it ` +
                          "(tar xJf) and pass the CSV file");
  }
  const members = readTar(bytes, path);
  const csv = members.filter((m) => m.isFile && DATA_SUFFIXES.some((suffix) => m.name.toLowerCase().endsWith(suffix)));
  if (csv.length !== 1) {
    throw new StocksError(`${path}: expected exactly one .csv member in the archive, found: ` +
                          `${members.map((m) => m.name).join(", ") || "none"}`);
  }
  const member = csv[0], memberName = pyName(member.name);
  const display = `${path}:${memberName}`;
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(member.data);
  } catch {
    throw new PriceDataError(display, "not valid utf-8 text (use --encoding?)");
  }
  const context = { ...options.context(display), name: `${pyName(path)}:${memberName}` };
  return readSeries(text, context, member.name, options.wanted);
}

// ---------------------------------------------------------------------------------------
// Forecasting
// ---------------------------------------------------------------------------------------

function asOfError(asOf) {
  return new StocksError(`--as-of ${pyRepr(asOf)}: expected a date YYYY-MM-DD`);
}

/** The last ``window`` rows up to ``asOf`` (inclusive) and the index of the last one. */
export function latestWindow(series, window, asOf = null) {
  let end = series.dates.length;
  if (asOf !== null && asOf !== undefined) {
    const day = parseAsOf(asOf);
    if (day === undefined) throw asOfError(asOf);
    if (day !== null) end = series.dates.filter((date) => date <= day).length;
  }
  if (end < window) {
    const when = asOf ? ` up to ${asOf}` : "";
    throw new StocksError(`${series.ticker}: the model needs ${window} trading days${when}, the data has ${end}`);
  }
  return { ohlcv: series.ohlcv.slice(end - window, end), lastDay: series.dates[end - 1] };
}

export async function loadStocks(exported) {
  const spec = await exported.json("features.json");
  const session = await exported.session();
  const window = Number(spec.window);
  const input = spec.input ?? "ohlcv";

  /** ``[{source, ticker, ohlcv, lastDay}]`` -> rows, ``batchSize`` windows per model call. */
  async function run(known, batchSize = 64) {
    const rows = [];
    for (const chunk of batches(known, batchSize)) {
      const data = new Float32Array(chunk.length * window * 5);
      chunk.forEach((item, i) => item.ohlcv.forEach((values, day) => data.set(values, (i * window + day) * 5)));
      const out = await session.run({ [input]: exported.tensor("float32", data, [chunk.length, window, 5]) });
      const prices = out.price.data, horizon = out.price.dims[1];
      chunk.forEach((item, i) => {
        const lastClose = Math.fround(item.ohlcv[window - 1][CLOSE]);
        rows.push({
          source: item.source, ticker: item.ticker, last_known_day: dayString(item.lastDay),
          last_close: pyRound(lastClose, 6),
          forecast: Array.from(prices.subarray(i * horizon, (i + 1) * horizon), (price, step) => ({
            days_ahead: step + 1, price: pyRound(price, 6),
            change_percent: pyRound(100.0 * (price / lastClose - 1.0), 4),
          })),
        });
      });
    }
    return rows;
  }

  /** Windows of one source's series (a parsePrices result, or a list of series). */
  function windows(seriesList, { tickers = null, asOf = null, source = null } = {}) {
    let list = Array.isArray(seriesList) ? seriesList : seriesList.series;
    const label = source ?? seriesList.source ?? "";
    const wanted = asNames(tickers);
    if (wanted !== null) {
      const chosen = new Set(select(list.map((s) => s.ticker), wanted, label));
      list = list.filter((s) => chosen.has(s.ticker));
    }
    return list.map((series) => ({ source: label, ticker: series.ticker, ...latestWindow(series, window, asOf) }));
  }

  async function forecast(seriesList, { tickers = null, asOf = null, source = null, batchSize = 64 } = {}) {
    if (asOf !== null && asOf !== undefined && parseAsOf(asOf) === undefined) throw asOfError(asOf);
    return run(windows(seriesList, { tickers, asOf, source }), batchSize);
  }

  forecast.window = window;
  forecast.windows = windows;
  forecast.run = run;
  return forecast;
}

// ---------------------------------------------------------------------------------------
// predict: CSV paths through settings.readFile, as load_prices reads them
// ---------------------------------------------------------------------------------------

function notFound(source) {
  return new StocksError(`${source}: no such file or folder; pass a price file (.csv, .csv.gz, ` +
                         `.tar.gz), a folder of them, or a built-in source: ${Object.keys(BUILTIN_SOURCES).join(", ")}`);
}

function builtinError(source) {
  return new StocksError(`${source}: a built-in source of the Python app, which the Node.js client cannot ` +
                         "read; pass a CSV price file instead (any layout the train command reads, e.g. " +
                         "Date,Open,High,Low,Close,Adj Close,Volume)");
}

/** A Buffer, Uint8Array or ArrayBuffer as a Uint8Array over the same memory. */
function asBytes(data) {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const isArchive = (file) => ARCHIVE_SUFFIXES.some((suffix) => file.toLowerCase().endsWith(suffix));

/** ``{ticker: series}`` of one file (plain, gzip or a one-CSV tar), as ``_read_series``. */
async function readFileSeries(bytes, file, wanted, { report, layouts }) {
  const context = (display) => ({
    path: display, name: pyName(file), hasAdj: false, adjustSplits: false, report, layouts,
  });
  if (isArchive(file)) return readArchive(bytes, file, { context, wanted });
  if (isGzip(bytes)) bytes = await gunzip(bytes, file);
  return readSeries(decodePrices(bytes, file), context(file), pyName(file), wanted);
}

/**
 * ``load_prices(source, tickers=...)`` for a file or folder path: ``readFile(path)`` gives
 * its bytes (a Buffer or Uint8Array); repairs and the summary go to ``log``. Python's
 * built-in sources (matplotlib:goog, demo, pmdarima:msft) are refused with a clear error.
 */
export async function loadPrices(source, { readFile, tickers = null, log = null }) {
  return readSource(source, { readFile, tickers, log });
}

/** Python's ``_Report``: repair lines, logged as they happen, and the layout of every file read. */
function reporter(log) {
  const repairs = [], layouts = [];
  return { repairs, layouts, report: (line) => { repairs.push(line); if (log) log(line); } };
}

async function readSource(source, { readFile, tickers, log }) {
  const file = pyPath(source);
  let bytes;
  try {
    bytes = await readFile(source);
  } catch (error) {
    if (error?.code === "EISDIR") return readFolder(source, file, { readFile, tickers, log });
    if (error?.code === "ENOENT" || error?.code === "ENOTDIR") {
      if (Object.hasOwn(BUILTIN_SOURCES, source.toLowerCase())) throw builtinError(source);
      throw notFound(source);
    }
    throw new StocksError(`${file}: could not read the file (${error?.message ?? error})`);
  }
  const reported = reporter(log);
  const series = await readFileSeries(asBytes(bytes), file, asNames(tickers), reported);
  return finished(series, file, reported, log);
}

async function readFolder(source, folder, { readFile, tickers, log }) {
  const fs = await import("node:fs/promises");  // Node.js only: a browser has no folders
  const files = [];
  for (const entry of await fs.readdir(source)) {
    const full = folder === "." ? entry : `${folder.replace(/\/$/, "")}/${entry}`;
    const isFile = await fs.stat(full).then((stat) => stat.isFile(), () => false);
    if (isFile && !entry.startsWith(".") && DATA_SUFFIXES.some((suffix) => entry.toLowerCase().endsWith(suffix))) {
      files.push(full);
    }
  }
  files.sort(compareCodePoints);
  if (!files.length) {
    throw new StocksError(`${folder}: no price files (${DATA_SUFFIXES.map((s) => "*" + s).join(", ")}) in this folder`);
  }
  const series = new Map(), origin = new Map();
  const reported = reporter(log);
  for (const file of files) {
    const part = await readFileSeries(asBytes(await readFile(file)), file, null, reported);
    for (const [ticker, one] of part) {
      if (series.has(ticker)) throw new StocksError(`ticker ${ticker} appears in two files: ${origin.get(ticker)} and ${file}`);
      series.set(ticker, one);
      origin.set(ticker, file);
    }
  }
  const chosen = select([...series.keys()], asNames(tickers), folder);
  return finished(new Map(chosen.map((ticker) => [ticker, series.get(ticker)])), folder, reported, log);
}

export const inputs = "price files (CSV, any layout the train command reads)";

export async function predict(exported, sources, { batchSize, tickers, asOf, readFile } = {}) {
  sources = sources.filter((source) => pyStrip(source));
  if (!sources.length) {
    throw new StocksError("no price file given: pass CSV paths or built-in sources (e.g. matplotlib:goog)");
  }
  if (asOf !== null && asOf !== undefined && parseAsOf(asOf) === undefined) throw asOfError(asOf);
  const forecast = await loadStocks(exported);
  const log = (line) => console.error(line);
  const known = [];
  for (const source of sources) {
    const data = await readSource(source, { readFile, tickers, log });
    known.push(...forecast.windows(data, { asOf, source }));
  }
  return forecast.run(known, batchSize ?? 64);
}

export function formatRow(row) {
  const signed = (x) => (negative(x) ? "" : "+") + pyFixed(x, 2);
  const steps = row.forecast.map((f) => `+${f.days_ahead}d ${pyFixed(f.price, 2)} (${signed(f.change_percent)}%)`);
  return `${row.ticker}\t${row.last_known_day}\tclose ${pyFixed(row.last_close, 2)}\t${steps.join("  ")}`;
}
