#!/usr/bin/env node
// node clients/node/cli.js <app> [INPUT ...] [--export-dir DIR] [--json] ...
//
// The ONNX route of ``python -m apps.<app>.predict --runtime onnx``, in Node.js: the same
// inputs (arguments, or one per line from standard input), the same JSON rows.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";

import { openExport } from "./lib/node.js";
import { APPS } from "./lib/apps.js";

const USAGE = `usage: node clients/node/cli.js APP [INPUT ...] [options]

Run an exported seqapps model with onnxruntime-node and print one row per input, as
\`python -m apps.APP.predict --runtime onnx\` does. Inputs come from the arguments, or one
per line from standard input.

apps:
${Object.entries(APPS).map(([name, app]) => `  ${name.padEnd(12)} ${app.inputs}`).join("\n")}

options:
  --export-dir DIR   export root holding APP/manifest.json (default: exported/ or $SEQAPPS_EXPORT_DIR)
  --json             print one JSON object per input
  --batch-size N     inputs per model call (default: 64; captioning 16)
  --beam K           captioning, translation: beam width (default: the exported one)
  --pretokenized     ner: inputs are tokens separated by spaces
  --ticker T         stocks: forecast only this ticker (repeatable)
  --as-of DATE       stocks: use the window ending on the last trading day at or before DATE
  -h, --help         show this help`;

class UsageError extends Error {}

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      "export-dir": { type: "string" }, json: { type: "boolean", default: false },
      "batch-size": { type: "string" }, beam: { type: "string" }, pretokenized: { type: "boolean", default: false },
      ticker: { type: "string", multiple: true }, "as-of": { type: "string" }, help: { type: "boolean", short: "h" },
      debug: { type: "boolean", default: false },
    },
  });
  return { options: values, app: positionals[0], inputs: positionals.slice(1) };
}

function positiveInt(name, value) {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`--${name} must be an integer >= 1, not ${value}`);
  return number;
}

async function readStdinLines() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => line.replace(/\r$/, ""));
}

async function main(argv) {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(error.message);
  }
  const { options, app } = parsed;
  if (options.help || !app) {
    console.log(USAGE);
    return app || options.help ? 0 : 2;
  }
  if (!APPS[app]) throw new UsageError(`unknown app ${JSON.stringify(app)}: choose from ${Object.keys(APPS).join(", ")}`);
  const exportDir = options["export-dir"] ?? process.env.SEQAPPS_EXPORT_DIR ?? "exported";
  const inputs = parsed.inputs.length ? parsed.inputs : await readStdinLines();
  const exported = await openExport(app, path.resolve(exportDir));
  const settings = {
    batchSize: positiveInt("batch-size", options["batch-size"]), beam: positiveInt("beam", options.beam),
    pretokenized: options.pretokenized, tickers: options.ticker, asOf: options["as-of"],
    readFile: (file) => readFile(file),
  };
  const rows = await APPS[app].predict(exported, inputs, settings);
  for (const row of rows) console.log(options.json ? JSON.stringify(row) : APPS[app].formatRow(row));
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => { process.exitCode = status; },
  (error) => {
    if (process.argv.includes("--debug")) console.error(error);
    else console.error(`error: ${error.message}`);
    process.exitCode = 2;
  },
);
