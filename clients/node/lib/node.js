// Node.js glue: export files from disk and onnxruntime-node.

import { readFile } from "node:fs/promises";
import path from "node:path";

import * as ort from "onnxruntime-node";

import { AppExport } from "./exported.js";

export function diskReader(exportDir) {
  return {
    text: (relative) => readFile(path.join(exportDir, relative), "utf8"),
    bytes: async (relative) => new Uint8Array(await readFile(path.join(exportDir, relative))),
  };
}

/** ``<exportDir>/<app>/manifest.json`` opened with onnxruntime-node. */
export function openExport(app, exportDir) {
  return AppExport.open(ort, diskReader(exportDir), app);
}
