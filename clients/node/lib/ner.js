// Named entities: sentence -> tokens (inputs.json's sentence splitting, case kept) -> word
// and character ids (the NerEncoder rules) -> model.onnx -> tag ids -> tags and entities.
// Rows match ``python -m apps.ner.predict --runtime onnx --json``. Pure JavaScript: runs in
// Node.js and in the browser.

import { batches } from "./exported.js";
import { TextRules } from "./tokenizer.js";

export const INPUTS_FORMAT = "seqapps-ner-inputs";
export const INPUTS_VERSION = 1;
export const SCHEMES = ["iob1", "iob2", "iobes"];
const PREFIXES = { iob1: "BI", iob2: "BI", iobes: "BIES" };
const PAD_ID = 0, UNK_ID = 1;

// Python's str.isspace() characters: what ``str.split()`` splits on (--pretokenized).
const PYTHON_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PYTHON_SPLIT = new RegExp(`[${PYTHON_SPACE}]+`, "u");
// Python's ``\S+`` (re, str pattern): one or more characters that are not str.isspace().
const TAG_PATTERN = new RegExp(`^([BIES])-([^${PYTHON_SPACE}]+)$`, "u");

export class NerError extends Error {}

/** Python's ``text.split()``: runs of whitespace separate, none at either end. */
export function splitWhitespace(text) {
  return text.split(PYTHON_SPLIT).filter((token) => token.length > 0);
}

/** ``{words, chars, maxChars}`` plus the rules of apps/ner/encoding.py's NerEncoder. */
export class NerEncoder {
  constructor(spec, source = "inputs.json") {
    if (spec?.format !== INPUTS_FORMAT || spec?.version !== INPUTS_VERSION) {
      throw new NerError(`${source}: not a ${INPUTS_FORMAT} v${INPUTS_VERSION} file (format=` +
                         `${JSON.stringify(spec?.format)}, version=${JSON.stringify(spec?.version)}): re-export the model`);
    }
    const split = spec.sentence_splitting ?? {}, key = spec.word_key ?? {};
    this.rules = new TextRules({ unicodeForm: split.unicode_form ?? "NFKC", lowercase: split.lowercase ?? false,
                                 stripLineBreaks: split.strip_line_breaks ?? true });
    this.keyForm = key.unicode_form ?? "NFKC";
    this.keyLowercase = key.lowercase ?? true;
    this.digits = new RegExp(key.digits ?? "[0-9]", "gu");
    this.digitReplacement = key.digit_replacement ?? "0";
    this.charForm = this.keyForm;
    this.maxChars = Number(spec.max_chars);
    this.wordIds = new Map(spec.words.map((word, index) => [word, index]));
    this.charIds = new Map(spec.chars.map((char, index) => [char, index]));
  }

  /** A raw sentence as tokens, case kept (the suite's tokenizer rules). */
  tokenize(text) {
    return this.rules.tokenize(text);
  }

  /** The form a token is looked up by: NFKC, lowercased, every ASCII digit "0". */
  wordKey(token) {
    let key = token.normalize(this.keyForm);
    if (this.keyLowercase) key = key.toLowerCase();
    return key.replace(this.digits, this.digitReplacement);
  }

  /** The token's NFKC code points. */
  tokenChars(token) {
    return Array.from(token.normalize(this.charForm));
  }

  /** ``{wordIds: {data, dims}, charIds: {data, dims}}`` int32, zero-padded, as encode_batch. */
  encodeBatch(tokenLists) {
    const time = tokenLists.reduce((most, tokens) => Math.max(most, tokens.length), 1);
    const chars = tokenLists.map((tokens) => tokens.map((token) => this.tokenChars(token).slice(0, this.maxChars)));
    const width = chars.reduce((most, row) => row.reduce((wide, list) => Math.max(wide, list.length), most), 1);
    const words = new Int32Array(tokenLists.length * time).fill(PAD_ID);
    const charData = new Int32Array(tokenLists.length * time * width).fill(PAD_ID);
    tokenLists.forEach((tokens, row) => {
      tokens.forEach((token, column) => {
        words[row * time + column] = this.wordIds.get(this.wordKey(token)) ?? UNK_ID;
        chars[row][column].forEach((char, position) => {
          charData[(row * time + column) * width + position] = this.charIds.get(char) ?? UNK_ID;
        });
      });
    });
    return { wordIds: { data: words, dims: [tokenLists.length, time] },
             charIds: { data: charData, dims: [tokenLists.length, time, width] } };
  }
}

function parseTag(tag, scheme) {
  let parsed = null;
  if (tag === "O") parsed = ["O", null];
  else if (typeof tag === "string") {
    const match = TAG_PATTERN.exec(tag);
    if (match) parsed = [match[1], match[2]];
  }
  if (parsed === null || !(PREFIXES[scheme] + "O").includes(parsed[0])) {
    throw new NerError(`tag ${JSON.stringify(tag)} is not valid in the ${scheme} scheme: expected ` +
                       `'O' or ${PREFIXES[scheme].split("").join("/")}-TYPE`);
  }
  return parsed;
}

/**
 * Entities as ``[type, start, end]`` (end exclusive), read leniently as apps/ner/data.py's
 * tags_to_spans: an I-X / E-X that does not continue an open X starts a new entity, B- and
 * S- close whatever is open, E- and S- end the entity they are in.
 */
export function tagsToSpans(tags, scheme) {
  if (!SCHEMES.includes(scheme)) {
    throw new NerError(`unknown tag scheme ${JSON.stringify(scheme)}: expected one of ${SCHEMES.join(", ")}`);
  }
  const spans = [];
  let openType = null, openStart = 0;
  tags.forEach((tag, position) => {
    const [prefix, kind] = parseTag(tag, scheme);
    if (!((prefix === "I" || prefix === "E") && kind === openType)) {
      if (openType !== null) spans.push([openType, openStart, position]);
      openType = kind;
      openStart = position;
    }
    if (prefix === "E" || prefix === "S") {
      spans.push([openType, openStart, position + 1]);
      openType = null;
    }
  });
  if (openType !== null) spans.push([openType, openStart, tags.length]);
  return spans;
}

export function entities(tokens, tags, scheme) {
  return tagsToSpans(tags, scheme).map(([type, start, end]) => ({
    type, start, end, text: tokens.slice(start, end).join(" "),
  }));
}

export async function loadNer(exported) {
  const encoder = new NerEncoder(await exported.json("inputs.json"), "inputs.json");
  const { labels, scheme } = await exported.json("labels.json");
  const session = await exported.session();

  return async function tag(texts, { pretokenized = false, batchSize = 64 } = {}) {
    const rows = [];
    for (const chunk of batches(texts, batchSize)) {
      const tokenLists = chunk.map((text) => (pretokenized ? splitWhitespace(text) : encoder.tokenize(text)));
      const { wordIds, charIds } = encoder.encodeBatch(tokenLists);
      const out = await session.run({
        word_ids: exported.tensor("int32", wordIds.data, wordIds.dims),
        char_ids: exported.tensor("int32", charIds.data, charIds.dims),
      });
      const ids = out.tag_ids.data, time = out.tag_ids.dims[1];
      chunk.forEach((text, row) => {
        const tokens = tokenLists[row];
        const tags = tokens.map((_, column) => labels[Number(ids[row * time + column])]);
        rows.push({ text, tokens, tags, entities: entities(tokens, tags, scheme) });
      });
    }
    return rows;
  };
}

export const inputs = "sentences to tag (--pretokenized: tokens separated by spaces)";

export async function predict(exported, texts, { batchSize, pretokenized } = {}) {
  return (await loadNer(exported))(texts, { batchSize: batchSize ?? 64, pretokenized: Boolean(pretokenized) });
}

export function formatRow(row) {
  const tagged = row.tokens.map((token, i) => (row.tags[i] === "O" ? token : `${token}/${row.tags[i]}`)).join(" ");
  const found = row.entities.map((e) => `${e.type}: ${e.text}`).join("; ") || "no entities";
  return `${tagged}\n    ${found}`;
}
