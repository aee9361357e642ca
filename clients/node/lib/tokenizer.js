// The JavaScript reference tokenizer: reads the tokenizer spec (tokenizer.json) that ships
// beside every ONNX model and turns text into the ids the model was trained on.
//
// It is the twin of shared/text.py (Python) and shared/text_tf.py (the SavedModel graph);
// tests/shared/test_tokenizer_parity.py feeds all three generated Unicode text and asserts
// identical tokens and ids. Works unchanged in Node.js and in the browser.

export const TOKENIZER_FORMAT = "seqapps-tokenizer";
export const TOKENIZER_VERSION = 1;
export const PAD_ID = 0, UNK_ID = 1, BOS_ID = 2, EOS_ID = 3;
export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"];

// Spec category names ("Cf", "L*") as one regex character class ("\p{Cf}", "\p{L}").
function categoryClass(categories) {
  const parts = categories.map((name) => `\\p{${name.replace(/\*$/, "")}}`);
  return new RegExp(`^[${parts.join("")}]$`, "u");
}

export class SpecError extends Error {}

/** Normalisation and splitting rules (no vocabulary): rules 1 to 7 of shared/text.py. */
export class TextRules {
  constructor({ unicodeForm = "NFKC", lowercase = true, stripLineBreaks = true, lineBreakPattern,
                removeCategories = ["Cf"], spaceCategories = ["Zs", "Zl", "Zp", "Cc"],
                wordCategories = ["L*", "M*", "N*"] } = {}) {
    if (!["NFC", "NFKC", "NFD", "NFKD"].includes(unicodeForm)) {
      throw new SpecError(`unicode_form must be NFC, NFKC, NFD or NFKD, not ${JSON.stringify(unicodeForm)}`);
    }
    this.unicodeForm = unicodeForm;
    this.lowercase = lowercase;
    this.lineBreak = stripLineBreaks ? new RegExp(lineBreakPattern ?? "<[bB][rR][ \\t\\n\\r\\f\\v]*/?>", "gu") : null;
    this.remove = categoryClass(removeCategories);
    this.space = categoryClass(spaceCategories);
    this.word = categoryClass(wordCategories);
  }

  static fromSpec(spec) {
    const norm = spec.normalization, split = spec.splitting ?? {};
    return new TextRules({
      unicodeForm: norm.unicode_form, lowercase: norm.lowercase, stripLineBreaks: norm.strip_line_breaks,
      lineBreakPattern: norm.line_break_pattern, removeCategories: split.remove_categories,
      spaceCategories: split.space_categories, wordCategories: split.word_categories,
    });
  }

  normalize(text) {
    text = text.normalize(this.unicodeForm);
    if (this.lineBreak) text = text.replace(this.lineBreak, " ");
    if (this.lowercase) text = text.toLowerCase();
    return text;
  }

  tokenize(text) {
    const pieces = [];
    for (const char of this.normalize(text)) {  // code points, not UTF-16 units
      if (this.remove.test(char)) continue;
      if (this.space.test(char)) pieces.push(" ");
      else if (this.word.test(char)) pieces.push(char);
      else pieces.push(` ${char} `);
    }
    return pieces.join("").split(" ").filter((token) => token.length > 0);
  }
}

/** A tokenizer spec: rules plus vocabulary, encoding text to padded id rows. */
export class Tokenizer {
  constructor(spec, source = "<tokenizer>") {
    if (spec.format !== TOKENIZER_FORMAT) {
      throw new SpecError(`${source}: not a ${TOKENIZER_FORMAT} file (format=${JSON.stringify(spec.format)})`);
    }
    if (spec.version !== TOKENIZER_VERSION) {
      throw new SpecError(`${source}: tokenizer version ${JSON.stringify(spec.version)} is not supported; ` +
                          `this client reads version ${TOKENIZER_VERSION}: re-export the model`);
    }
    this.rules = TextRules.fromSpec(spec);
    this.vocabulary = spec.vocabulary;
    this.maxLength = spec.max_length;
    this.ids = new Map(spec.vocabulary.map((token, index) => [token, index]));
  }

  tokenize(text) {
    return this.rules.tokenize(text);
  }

  encode(text, { addBos = false, addEos = false } = {}) {
    const budget = this.maxLength - Number(addBos) - Number(addEos);
    const ids = this.tokenize(text).map((token) => this.ids.get(token) ?? UNK_ID).slice(0, budget);
    return [...(addBos ? [BOS_ID] : []), ...ids, ...(addEos ? [EOS_ID] : [])];
  }

  /** Right-padded rows as long as the longest text (at least 1): ``{data: Int32Array, dims}``. */
  encodeBatch(texts, options = {}) {
    const rows = texts.map((text) => this.encode(text, options));
    const width = Math.max(1, ...rows.map((row) => row.length));
    const data = new Int32Array(rows.length * width);
    rows.forEach((row, index) => data.set(row, index * width));
    return { data, dims: [rows.length, width] };
  }

  token(index) {
    return index >= 0 && index < this.vocabulary.length ? this.vocabulary[index] : SPECIAL_TOKENS[UNK_ID];
  }

  /** Generated ids to words: stop at [EOS], drop the other special tokens. */
  wordsUntilEos(ids) {
    const words = [];
    for (const index of ids) {
      const token = this.token(Number(index));
      if (token === SPECIAL_TOKENS[EOS_ID]) break;
      if (!SPECIAL_TOKENS.includes(token)) words.push(token);
    }
    return words;
  }
}

/** Words to text by the detokenizer rules in decoding.json (regex, replacement pairs). */
export function detokenize(words, rules) {
  let text = words.join(" ");
  for (const [pattern, replacement] of rules) {
    text = text.replace(new RegExp(pattern, "gu"), replacement.replace(/\\(\d)/g, "$$$1"));
  }
  return text;
}
