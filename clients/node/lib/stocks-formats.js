// A price file's bytes -> text -> CSV rows -> a table of columns, and the errors it names
// (apps/stocks/formats.py and shared/errors.py's wording).

import { parseCellDate, pyFloat, pyLstrip, pyRepr, pyStrip } from "./stocks-python.js";

export const COLUMNS = ["open", "high", "low", "close", "volume"];
export const OPEN = 0, HIGH = 1, LOW = 2, CLOSE = 3, VOLUME = 4;
const MISSING = new Set(["", "null", "NULL", "Null", "NaN", "nan", "NAN", "NA", "na", "-"]);
const MISSING_FORMS = "an empty cell, null, NaN, NA or -";
const HEADER_ROLES = {
  "date": "date", "timestamp": "date", "open": "open", "high": "high", "low": "low", "close": "close",
  "volume": "volume", "adj close": "adj_close", "adj_close": "adj_close",
  "adjclose": "adj_close", "adjusted close": "adj_close", "adjusted_close": "adj_close",
  "name": "ticker", "ticker": "ticker", "symbol": "ticker", "openint": "openint",
};
const REQUIRED = ["date", ...COLUMNS];
// The layouts apps/stocks/formats.py recognises from the header, as the summary line names them.
const LAYOUT_NAMES = {
  "yahoo": "Yahoo Finance CSV (Date,Open,High,Low,Close,Adj Close,Volume)",
  "stooq": "Stooq CSV (Date,Open,High,Low,Close,Volume)",
  "alphavantage": "Alpha Vantage CSV (timestamp,open,high,low,close,volume)",
  "long": "long multi-ticker CSV (date,open,high,low,close,volume,Name)",
  "pmdarima": "Kaggle price-volume CSV (Date,Open,High,Low,Close,Volume,OpenInt)",
};
const NEWEST_FIRST = "newest first, read oldest first";
const CSV_FIELD_LIMIT = 131072;  // Python csv.field_size_limit()

// ---------------------------------------------------------------------------------------
// Errors, worded as shared/errors.py words them
// ---------------------------------------------------------------------------------------

/** An error the user can fix (Python's SeqappsError): one line, exit status 2. */
export class StocksError extends Error {}

/** Python's DataError: ``path:line: message (got: 'content')``. */
export class PriceDataError extends StocksError {
  constructor(path, message, line = null, content = null) {
    const where = line === null || line === undefined ? `${path}` : `${path}:${line}`;
    let text = `${where}: ${message}`;
    if (content !== null && content !== undefined) {
      const chars = Array.from(content);
      const shown = chars.length <= 80 ? content : chars.slice(0, 77).join("") + "...";
      text += ` (got: ${pyRepr(shown)})`;
    }
    super(text);
    this.path = String(path);
    this.line = line;
  }
}

// ---------------------------------------------------------------------------------------
// Bytes to text: gzip, a UTF-8 byte order mark, bad bytes located by line
// ---------------------------------------------------------------------------------------

/** ``{start, end}`` of the first ill-formed UTF-8 sequence (its maximal subpart), else null. */
function utf8Error(bytes, from = 0) {
  for (let i = from; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) { i += 1; continue; }
    let need, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else return { start: i, end: i + 1 };
    let j = i + 1;
    for (let k = 0; k < need; k += 1, j += 1) {
      if (j >= bytes.length || bytes[j] < lo || bytes[j] > hi) return { start: i, end: j };
      lo = 0x80; hi = 0xbf;
    }
    i = j;
  }
  return null;
}

const hex = (b) => b.toString(16).padStart(2, "0");

/** The DataError of shared/datasets.py's decode_error: first bad line, bytes and column. */
function decodeError(bytes, path) {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });  // a BOM inside a line stays
  let start = 0, number = 0;
  while (start <= bytes.length) {  // bytes.splitlines(): \n, \r, \r\n
    let end = start;
    while (end < bytes.length && bytes[end] !== 0x0a && bytes[end] !== 0x0d) end += 1;
    if (end === bytes.length && start === bytes.length) break;
    number += 1;
    const line = bytes.subarray(start, end);
    const error = utf8Error(line);
    if (error) {
      let content = "", at = 0;
      for (let bad = error; bad; bad = utf8Error(line, at)) {
        content += decoder.decode(line.subarray(at, bad.start));
        content += Array.from(line.subarray(bad.start, bad.end), (b) => `\\x${hex(b)}`).join("");
        at = bad.end;
      }
      content += decoder.decode(line.subarray(at));
      const shown = Array.from(line.subarray(error.start, error.end), hex).join(" ");
      return new PriceDataError(path, `not valid UTF-8 text: byte(s) ${shown} at column ${error.start + 1} ` +
                                "(use --encoding? e.g. --encoding latin-1 or cp1252)", number, content);
    }
    start = end + (bytes[end] === 0x0d && bytes[end + 1] === 0x0a ? 2 : 1);
  }
  return new PriceDataError(path, "not valid UTF-8 text (use --encoding?)");
}

/** UTF-8 bytes to text as Python's ``utf-8-sig`` reads them; a bad byte is ``path:line``. */
export function decodePrices(bytes, path) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);  // drops one leading BOM
  } catch {
    const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
    throw decodeError(body, path);
  }
}

export function isGzip(bytes) {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gzip (every member) with the web's DecompressionStream: Node.js 18+ and browsers. */
export async function gunzip(bytes, path) {
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new StocksError(`${path}: not a readable gzip file (${error.message})`);
  }
}

// ---------------------------------------------------------------------------------------
// CSV: Python's csv.reader (excel dialect) over lines split at \n, \r and \r\n
// ---------------------------------------------------------------------------------------

const START_RECORD = 0, START_FIELD = 1, IN_FIELD = 2, IN_QUOTED_FIELD = 3, QUOTE_IN_QUOTED_FIELD = 4, EAT_CRNL = 5;
const EOL = null;

/** ``[{fields, line}]``: every record, ``line`` being csv's ``line_num`` after reading it. */
export function readCsv(text) {
  const records = [];
  const lineEnd = /\r\n|\r|\n/g;
  let position = 0, lineNumber = 0;
  const nextLine = () => {
    if (position >= text.length) return null;
    lineEnd.lastIndex = position;
    const found = lineEnd.exec(text);
    const end = found ? found.index + found[0].length : text.length;
    const line = text.slice(position, end);
    position = end;
    return line;
  };
  for (;;) {
    let fields = [], field = "", fieldLength = 0, state = START_RECORD, done = false;
    const save = () => { fields.push(field); field = ""; fieldLength = 0; };
    const add = (c) => {
      if (fieldLength >= CSV_FIELD_LIMIT) {
        throw new StocksError(`line ${lineNumber}: field larger than field limit (${CSV_FIELD_LIMIT})`);
      }
      field += c; fieldLength += 1;
    };
    const process = (c) => {
      switch (state) {
        case START_RECORD:
          if (c === EOL) return;
          if (c === "\n" || c === "\r") { state = EAT_CRNL; return; }
          state = START_FIELD;
        // falls through
        case START_FIELD:
          if (c === "\n" || c === "\r" || c === EOL) { save(); state = c === EOL ? START_RECORD : EAT_CRNL; }
          else if (c === '"') state = IN_QUOTED_FIELD;
          else if (c === ",") save();
          else { add(c); state = IN_FIELD; }
          return;
        case IN_FIELD:
          if (c === "\n" || c === "\r" || c === EOL) { save(); state = c === EOL ? START_RECORD : EAT_CRNL; }
          else if (c === ",") { save(); state = START_FIELD; }
          else add(c);
          return;
        case IN_QUOTED_FIELD:
          if (c === EOL) return;
          if (c === '"') state = QUOTE_IN_QUOTED_FIELD;
          else add(c);
          return;
        case QUOTE_IN_QUOTED_FIELD:
          if (c === '"') { add('"'); state = IN_QUOTED_FIELD; }
          else if (c === ",") { save(); state = START_FIELD; }
          else if (c === "\n" || c === "\r" || c === EOL) { save(); state = c === EOL ? START_RECORD : EAT_CRNL; }
          else { add(c); state = IN_FIELD; }
          return;
        case EAT_CRNL:
          if (c === "\n" || c === "\r") return;
          if (c === EOL) { state = START_RECORD; return; }
          throw new StocksError(`line ${lineNumber}: new-line character seen in unquoted field`);
        default:
          throw new Error(`csv state ${state}`);
      }
    };
    do {
      const line = nextLine();
      if (line === null) {
        if (fieldLength !== 0 || state === IN_QUOTED_FIELD) { save(); done = true; break; }
        return records;
      }
      lineNumber += 1;
      for (let i = 0; i < line.length; i += 1) process(line[i]);
      process(EOL);
    } while (state !== START_RECORD);
    records.push({ fields, line: lineNumber });
    if (done) return records;
  }
}

// ---------------------------------------------------------------------------------------
// A file's text to a table
// ---------------------------------------------------------------------------------------

function layoutKind(index, header) {
  if ("ticker" in index) return "long";
  if ("openint" in index) return "pmdarima";
  if (pyStrip(header[index.date]).toLowerCase() === "timestamp") return "alphavantage";
  return "adj_close" in index ? "yahoo" : "stooq";
}

function headerError(path, header, names) {
  if (header.length && pyLstrip(header[0]).startsWith("{")) {
    return new PriceDataError(path, "this is JSON, not CSV: a price API (Alpha Vantage does this) answers a refused " +
                              "or malformed request with a JSON message instead of prices", 1, header.join(","));
  }
  return new PriceDataError(path, `unrecognised header: found columns ${names.join(", ") || "none"}; ` +
                            `required: ${REQUIRED.join(", ")} (any order; the date column may be called timestamp), ` +
                            "optional: Adj Close and a ticker column (Name, ticker or symbol)", 1, header.join(","));
}

/** The layout's name for the summary line, and whether its rows came newest first. */
export function layoutName(table) {
  const name = LAYOUT_NAMES[table.kind];
  return table.newestFirst ? `${name}, ${NEWEST_FIRST}` : name;
}

/** Whether a one-ticker file lists every day before the day it follows (Alpha Vantage does). */
function newestFirst(dates, tickers) {
  return tickers === null && dates.length > 1 && dates.every((day, i) => i === 0 || day < dates[i - 1]);
}

function detectLayout(header, path) {
  const names = header.map((name) => pyStrip(name).toLowerCase());
  const index = {};
  names.forEach((name, position) => {
    const role = Object.hasOwn(HEADER_ROLES, name) ? HEADER_ROLES[name] : undefined;
    if (role === undefined) return;
    if (role in index) {
      throw new PriceDataError(path, `two columns mean ${pyRepr(role)}: ${pyRepr(header[index[role]])} and ` +
                               `${pyRepr(header[position])}`, 1, header.join(","));
    }
    index[role] = position;
  });
  if (REQUIRED.some((role) => !(role in index))) throw headerError(path, header, names);
  return { kind: layoutKind(index, header), index, width: header.length };
}

function parseNumber(text, column, record, path) {
  const stripped = pyStrip(text);
  if (MISSING.has(stripped)) return NaN;
  const value = pyFloat(stripped);
  if (value === null) {
    throw new PriceDataError(path, `bad number ${pyRepr(text)} in column ${column}: expected a ` +
                             `number, or ${MISSING_FORMS} for a missing value`, record.line, record.fields.join(","));
  }
  return value;
}

/** Parse a CSV text: detect the layout, then convert each column (formats.py's read_table). */
export function readTable(text, path) {
  const records = readCsv(text);
  let next = 0;
  let header = records[next++]?.fields;
  while (header !== undefined && !header.some((cell) => pyStrip(cell))) header = records[next++]?.fields;
  if (header === undefined) {
    throw new PriceDataError(path, "empty file: expected a header such as " +
                             "'Date,Open,High,Low,Close,Adj Close,Volume' and one row per day");
  }
  const rows = records.slice(next).filter((record) => record.fields.length > 0);
  const layout = detectLayout(header, path);
  if (!rows.length) throw new PriceDataError(path, "no data rows after the header", 1, header.join(","));
  const wrong = rows.find((record) => record.fields.length !== layout.width);
  if (wrong) {
    throw new PriceDataError(path, `expected ${layout.width} comma-separated columns like the header, got ` +
                             `${wrong.fields.length}`, wrong.line, wrong.fields.join(","));
  }
  const { index } = layout;
  const dates = rows.map((record) => {
    const cell = record.fields[index.date];
    const day = parseCellDate(cell);
    if (day === null) {
      throw new PriceDataError(path, `bad date ${pyRepr(cell)}: expected a date YYYY-MM-DD`, record.line,
                               record.fields.join(","));
    }
    return day;
  });
  const columns = COLUMNS.map((name) => rows.map((record) => {
    const cell = record.fields[index[name]];
    const value = parseNumber(cell, name, record, path);
    if (value === Infinity || value === -Infinity) {
      throw new PriceDataError(path, `${pyRepr(cell)} in column ${name} is not a finite number`, record.line,
                               record.fields.join(","));
    }
    return value;
  }));
  let adj = null;
  if ("adj_close" in index) {
    adj = rows.map((record) => {
      const cell = record.fields[index.adj_close];
      const value = parseNumber(cell, "adj_close", record, path);
      if (value === Infinity || value === -Infinity) {
        throw new PriceDataError(path, `${pyRepr(cell)} in column adj_close is not a finite number`, record.line,
                                 record.fields.join(","));
      }
      return value;
    });
  }
  let tickers = null;
  if (layout.kind === "long") {
    tickers = rows.map((record) => {
      const name = pyStrip(record.fields[index.ticker]);
      if (!name) throw new PriceDataError(path, "empty ticker name", record.line, record.fields.join(","));
      return name;
    });
  }
  const table = {
    kind: layout.kind,
    rows: rows.map((record, i) => ({
      date: dates[i], v: COLUMNS.map((_, c) => columns[c][i]), adj: adj ? adj[i] : null, line: record.line,
    })),
    hasAdj: adj !== null, tickers, newestFirst: false,
  };
  // A one-ticker file whose dates all run backwards is turned round here, as part of its
  // layout, rather than sorted later as a repair.
  if (newestFirst(dates, tickers)) {
    table.rows.reverse();
    table.newestFirst = true;
  }
  return table;
}
