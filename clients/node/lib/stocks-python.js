// Python's string, number and date formatting in JavaScript, so that the stocks reader's
// messages and values read exactly as apps/stocks/*.py prints them.

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

export function negative(x) {
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

export function compareCodePoints(a, b) {
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
export function parseCellDate(text) {
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
