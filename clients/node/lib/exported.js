// One app's export, read through its manifest.json: the same files in Node.js (from disk)
// and in the browser (over HTTP). ``reader`` is ``{text(path), bytes(path)}`` with paths
// relative to the export root; ``ort`` is onnxruntime-node (execution provider "cpu") or
// onnxruntime-web ("wasm").

export const MANIFEST_FORMAT = "seqapps-manifest";
export const MANIFEST_VERSION = 1;

export class ExportError extends Error {}

export class AppExport {
  constructor(ort, reader, app, manifest, executionProviders) {
    this.ort = ort;
    this.executionProviders = executionProviders;
    this.reader = reader;
    this.app = app;
    this.manifest = manifest;
  }

  static async open(ort, reader, app, { executionProviders = ["cpu"] } = {}) {
    const where = `${app}/manifest.json`;
    let text;
    try {
      text = await reader.text(where);
    } catch (error) {
      throw new ExportError(`no ${app} export (${where}: ${error.message}): run \`python -m apps.${app}.train\` ` +
                            "first, or pass --export-dir DIR");
    }
    let manifest;
    try {
      manifest = JSON.parse(text);
    } catch (error) {
      throw new ExportError(`${where}: manifest is not valid JSON (${error.message})`);
    }
    if (manifest.format !== MANIFEST_FORMAT || manifest.version !== MANIFEST_VERSION) {
      throw new ExportError(`${where}: manifest format ${JSON.stringify(manifest.format)} version ` +
                            `${JSON.stringify(manifest.version)} is not ${MANIFEST_FORMAT} v${MANIFEST_VERSION}: re-export`);
    }
    if (manifest.app !== app) throw new ExportError(`${where} describes ${manifest.app}, not ${app}`);
    return new AppExport(ort, reader, app, manifest, executionProviders);
  }

  /** A file the manifest lists (``files``: tokenizer.json, labels.json, ...), parsed as JSON. */
  async json(name) {
    const relative = this.manifest.files?.[name];
    if (!relative) throw new ExportError(`the ${this.app} manifest lists no ${name}: re-export with this seqapps`);
    return JSON.parse(await this.reader.text(`${this.app}/${relative}`));
  }

  /** An ONNX session: the single model, or one of several by name (encoder, decoder_step). */
  async session(name = null) {
    const onnx = this.manifest.onnx;
    const entry = name === null ? onnx : onnx.models?.[name];
    if (!entry?.path) throw new ExportError(`the ${this.app} manifest has no ONNX model ${name ?? ""}`.trim());
    const bytes = await this.reader.bytes(`${this.app}/${entry.path}`);
    return this.ort.InferenceSession.create(bytes, { executionProviders: this.executionProviders });
  }

  tensor(type, data, dims) {
    return new this.ort.Tensor(type, data, dims);
  }
}

/** Python's ``round(x, 6)``, as the predict commands write probabilities and prices. */
export function round6(value) {
  return Number(Number(value).toFixed(6));
}

export function* batches(items, size) {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
