// Stocks: a price file (CSV) -> validated, repaired daily OHLCV rows (apps/stocks/data.py's
// load_prices, its default options) -> the last ``window`` days -> model.onnx -> the next
// closes. Rows match ``python -m apps.stocks.predict --runtime onnx --json``; repairs are
// logged in the same words. Everything but ``predict`` (which reads files through
// ``settings.readFile`` and, for folders only, node:fs) is pure JavaScript and runs in the
// browser too.

import { batches } from "./exported.js";

export const COLUMNS = ["open", "high", "low", "close", "volume"];
const OPEN = 0, HIGH = 1, LOW = 2, CLOSE = 3, VOLUME = 4;

export const BUILTIN_SOURCES = {
  "matplotlib:goog": "GOOG daily prices 2004-08-19..2008-10-14 shipped with matplotlib (the default)",
  "pmdarima:msft": "MSFT daily prices 1986-03-13..2017-11-10 shipped with pmdarima (pip install pmdarima)",
  "demo": "synthetic AR(1) prices for made-up tickers DEMO_A, DEMO_B (not real market data)",
};
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
const UNADJUSTED_LAYOUTS = ["long", "pmdarima", "alphavantage"];  // "auto" undoes splits in these
const DATA_SUFFIXES = [".csv", ".csv.gz", ".txt"];
const ALPHA_VANTAGE_NAME = /^(?:daily|weekly|monthly)(?:_adjusted)?_([^._]+)\./iu;
const ARCHIVE_SUFFIXES = [".tar.gz", ".tgz", ".tar"];
const FORWARD_SPLITS = [2, 3, 4, 5, 7, 8, 10, 1.5];
const REVERSE_SPLITS = [2, 3, 4, 5, 8, 10];
const SPLIT_TOLERANCE = 0.04;
const OPEN_SPLIT_TOLERANCE = 0.06;
const GAP_NOTE_DAYS = 10;
const JUMP_NOTE_RATIO = 1.6;
const MAX_LISTED_TICKERS = 20;
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
// Python's string and number formatting
// ---------------------------------------------------------------------------------------

// str.isspace() (str.strip(), str.split()); float() strips the same set but \x1c-\x1f.
const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
const PY_LSTRIP = new RegExp(`^[${PY_SPACE}]+`, "u");
const NOT_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's ``str.strip()``. */
export function pyStrip(text) {
  return text.replace(PY_STRIP, "");
}

/** Python's ``str.lstrip()``. */
export function pyLstrip(text) {
  return text.replace(PY_LSTRIP, "");
}

/** Python's ``repr(str)``. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === quote || char === "\\") out += "\\" + char;
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char !== " " && NOT_PRINTABLE.test(char)) {
      out += code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}`
        : code < 0x10000 ? `\\u${code.toString(16).padStart(4, "0")}` : `\\U${code.toString(16).padStart(8, "0")}`;
    } else out += char;
  }
  return out + quote;
}

/** The exact decimal expansion of a finite double's magnitude: ``[integer digits, fraction digits]``. */
function exactDecimal(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exponent;
  if (exponentBits === 0) exponent = -1074;
  else { mantissa |= 1n << 52n; exponent = exponentBits - 1075; }
  if (exponent >= 0) return [(mantissa << BigInt(exponent)).toString(), ""];
  const scale = -exponent;
  const digits = (mantissa * 5n ** BigInt(scale)).toString().padStart(scale + 1, "0");
  return [digits.slice(0, digits.length - scale), digits.slice(digits.length - scale)];
}

/** Digits (a string of an integer) rounded half-even where ``rest`` (the digits after) starts. */
function roundHalfEven(digits, rest) {
  let value = BigInt(digits || "0");
  if (rest.length && (rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || value % 2n === 1n)))) {
    value += 1n;
  }
  return value.toString();
}

function negative(x) {
  return x < 0 || Object.is(x, -0);
}

/** Python's ``f"{x:.{d}f}"`` (correctly rounded, ties to even, sign of -0.0 kept). */
export function pyFixed(x, d) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const [whole, fraction] = exactDecimal(x);
  const digits = roundHalfEven(whole + fraction.slice(0, d).padEnd(d, "0"), fraction.slice(d)).padStart(d + 1, "0");
  const text = d ? `${digits.slice(0, -d)}.${digits.slice(-d)}` : digits;
  return (negative(x) ? "-" : "") + text;
}

/** Python's ``round(x, d)``. */
export function pyRound(x, d) {
  return Number.isFinite(x) ? Number(pyFixed(x, d)) : x;
}

/** Python's ``f"{x:g}"``. */
export function pyFormatG(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = negative(x) ? "-" : "";
  if (x === 0) return `${sign}0`;
  const [whole, fraction] = exactDecimal(x);
  const all = (whole + fraction).replace(/^0+/, "");
  let exponent = whole.replace(/^0+/, "").length - 1;  // of the leading digit
  if (whole.replace(/^0+/, "") === "") exponent = -(fraction.length - all.length) - 1;
  let significant = roundHalfEven(all.slice(0, 6), all.slice(6));
  if (significant.length > 6) { significant = significant.slice(0, 6); exponent += 1; }
  significant = significant.padEnd(6, "0");
  if (exponent >= -4 && exponent < 6) {
    const text = exponent >= 0
      ? `${significant.slice(0, exponent + 1)}.${significant.slice(exponent + 1)}`
      : `0.${"0".repeat(-exponent - 1)}${significant}`;
    return sign + text.replace(/\.?0*$/, "");
  }
  const mantissa = `${significant[0]}.${significant.slice(1)}`.replace(/\.?0*$/, "");
  const power = Math.abs(exponent).toString().padStart(2, "0");
  return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${power}`;
}

/** Python's ``float(text)`` for a stripped cell, or null when Python would raise ValueError. */
export function pyFloat(text) {
  const match = /^([+-]?)(?:(inf|infinity|nan)|(\p{Nd}(?:_?\p{Nd})*)?(?:\.(\p{Nd}(?:_?\p{Nd})*)?)?(?:[eE]([+-]?\p{Nd}(?:_?\p{Nd})*))?)$/iu
    .exec(text);
  if (!match) return null;
  const [, sign, special, whole, fraction, exponent] = match;
  if (special) return special.toLowerCase() === "nan" ? NaN : (sign === "-" ? -Infinity : Infinity);
  if (!whole && !fraction) return null;  // "", ".", "e5"
  const ascii = (part) => (part ? Array.from(part.replace(/_/g, ""), asciiDigit).join("") : "");
  return Number(`${sign}${ascii(whole) || "0"}.${ascii(fraction) || "0"}e${ascii(exponent) || "0"}`);
}

const DIGIT = /^\p{Nd}$/u;

/** The value of a Unicode decimal digit (Nd comes in runs of ten, zero first). */
function asciiDigit(char) {
  if (char >= "0" && char <= "9") return char;
  if (char === "+" || char === "-") return char;
  let code = char.codePointAt(0), start = code;
  while (DIGIT.test(String.fromCodePoint(start - 1))) start -= 1;
  return String((code - start) % 10);
}

/** Python's ``str(Path(text))`` (POSIX): repeated and trailing slashes and "." parts dropped. */
export function pyPath(text) {
  const root = text.startsWith("//") && !text.startsWith("///") ? "//" : text.startsWith("/") ? "/" : "";
  const parts = text.split("/").filter((part) => part !== "" && part !== ".");
  return root + parts.join("/") || ".";
}

/** Python's ``Path(text).name``. */
export function pyName(text) {
  const normal = pyPath(text);
  if (normal === "." || normal === "/" || normal === "//") return "";
  return normal.slice(normal.lastIndexOf("/") + 1);
}

function compareCodePoints(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0)), y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------
// Dates: days since 1970-01-01, proleptic Gregorian, as numpy's datetime64[D]
// ---------------------------------------------------------------------------------------

function floorDiv(a, b) {
  return Math.floor(a / b);
}

export function daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const doy = floorDiv(153 * (month + (month > 2 ? -3 : 9)) + 2, 5) + day - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

/** ``str(numpy.datetime64(days, "D"))``: ``YYYY-MM-DD``. */
export function dayString(days) {
  const z = days + 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365);
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const day = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const y = year < 0 ? `-${String(-year).padStart(3, "0")}` : String(year).padStart(4, "0");
  return `${y}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

function daysInMonth(year, month) {
  return [31, (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
          31][month - 1];
}

function validDay(year, month, day) {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** A cell's date (``YYYY-MM-DD``, any time part after a space or T ignored), else null. */
function parseCellDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T][^\n]*)?$/u.exec(pyStrip(text));
  if (!match) return null;
  const [year, month, day] = match.slice(1, 4).map(Number);
  return validDay(year, month, day) ? daysFromCivil(year, month, day) : null;
}

/**
 * ``numpy.datetime64(text, "D")`` for --as-of: the day, ``null`` for NaT (every row), or
 * ``undefined`` when numpy would refuse it. Covers numpy's ISO forms: YYYY[-MM[-DD]],
 * an optional time [T ]hh[:mm[:ss[.f]]] and a Z or +hh[:mm] offset; "today" and "now".
 */
export function parseAsOf(text) {
  const body = text.replace(/^[ \t\n\r\f\v]+/, "");
  if (body === "" || body.toLowerCase() === "nat") return null;
  if (body === "today") { const now = new Date(); return daysFromCivil(now.getFullYear(), now.getMonth() + 1, now.getDate()); }
  if (body === "now") return Math.floor(Date.now() / 86400000);
  const match = /^([+-]?\d+)(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/
    .exec(body);
  if (!match) return undefined;
  const year = Number(match[1]), month = match[2] ? Number(match[2]) : 1, day = match[3] ? Number(match[3]) : 1;
  if (!validDay(year, month, day)) return undefined;
  const hour = Number(match[4] ?? 0), minute = Number(match[5] ?? 0), second = Number(match[6] ?? 0);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let minutes = hour * 60 + minute;
  const zone = match[7];
  if (zone && zone !== "Z") {
    const [, zoneSign, zoneHour, zoneMinute] = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    minutes -= (zoneSign === "-" ? -1 : 1) * (Number(zoneHour) * 60 + Number(zoneMinute ?? 0));
  }
  return daysFromCivil(year, month, day) + floorDiv(minutes, 1440);
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
function layoutName(table) {
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
function readTable(text, path) {
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

// ---------------------------------------------------------------------------------------
// Validation and repairs: apps/stocks/data.py's _clean with load_prices' defaults
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

function clean(ticker, rows, context) {
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
