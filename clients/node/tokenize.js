#!/usr/bin/env node
// node clients/node/tokenize.js TOKENIZER.json [--bos] [--eos] < texts.jsonl
//
// The JavaScript reference tokenizer on the command line: each input line is one JSON string;
// each output line is {"tokens": [...], "ids": [...]} for it. For checking that a runtime
// tokenises as the model was trained (tests/clients/node/test_tokenizer.py runs it).

import { readFileSync } from "node:fs";
import readline from "node:readline";

import { Tokenizer } from "./lib/tokenizer.js";

const args = process.argv.slice(2);
const specPath = args.find((arg) => !arg.startsWith("--"));
if (!specPath || args.includes("--help") || args.includes("-h")) {
  console.log("usage: node clients/node/tokenize.js TOKENIZER.json [--bos] [--eos] < texts.jsonl\n\n" +
              "Reads one JSON string per line and prints {\"tokens\": [...], \"ids\": [...]} per line.");
  process.exit(specPath ? 0 : 2);
}
let tokenizer;
try {
  tokenizer = new Tokenizer(JSON.parse(readFileSync(specPath, "utf8")), specPath);
} catch (error) {
  console.error(`error: ${specPath}: ${error.message}`);
  process.exit(2);
}
const options = { addBos: args.includes("--bos"), addEos: args.includes("--eos") };
let lineNumber = 0;
for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  lineNumber += 1;
  let text;
  try {
    text = JSON.parse(line);
    if (typeof text !== "string") throw new Error("expected a JSON string");
  } catch (error) {
    console.error(`error: <stdin>:${lineNumber}: ${error.message} (got: ${line.slice(0, 80)})`);
    process.exit(2);
  }
  console.log(JSON.stringify({ tokens: tokenizer.tokenize(text), ids: tokenizer.encode(text, options) }));
}
