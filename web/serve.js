#!/usr/bin/env node
// node web/serve.js --export-dir DIR [--port 8000] [--host 127.0.0.1]
//
// A tiny read-only static server for the browser page (Node.js built-ins only):
//   /            web/ (index.html, app.js, style.css)
//   /lib/        clients/node/lib/ (the browser-safe library shared with the Node CLI)
//   /ort/        web/node_modules/onnxruntime-web/dist/ (onnxruntime-web and its .wasm)
//   /exported/   the export root (<app>/manifest.json, ONNX models, tokenizers)
// Anything else, and any path that would leave its root, is a 404.

import { createReadStream, realpathSync } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: node web/serve.js --export-dir DIR [--port 8000] [--host 127.0.0.1]

Serve the seqapps browser page and the exported models it runs with onnxruntime-web.
Open the printed URL in a browser. Install the page's packages first: cd web && npm ci --ignore-scripts

options:
  --export-dir DIR   export root holding <app>/manifest.json (default: exported/ or $SEQAPPS_EXPORT_DIR)
  --port N           TCP port (default: 8000; 0 picks a free one)
  --host HOST        address to bind (default: 127.0.0.1, this machine only)
  -h, --help         show this help`;

export const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".config": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

const PAGE_FILE = /^[\w-]+\.(html|css|js|mjs|svg|png|ico)$/;

/** URL prefix -> folder, longest prefix first; "/" (the page itself) last. */
export function makeRoutes(exportDir) {
  return [
    ["/exported/", path.resolve(exportDir)],
    ["/lib/", path.resolve(HERE, "..", "clients", "node", "lib")],
    ["/ort/", path.resolve(HERE, "node_modules", "onnxruntime-web", "dist")],
    ["/", HERE],
  ];
}

/** The file a URL path names, or null: no "..", no hidden names, nothing outside the roots. */
export function resolveRequest(routes, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const parts = decoded.split("/");
  if (parts.some((part) => part === ".." || part === "." || part.startsWith("."))) return null;
  for (const [prefix, root] of routes) {
    if (!decoded.startsWith(prefix)) continue;
    let relative = decoded.slice(prefix.length);
    if (prefix === "/") {
      if (relative === "") relative = "index.html";
      // web/ holds the packages and this server too: only the page's own files come from there
      if (!PAGE_FILE.test(relative) || relative === "serve.js") return null;
    }
    const file = path.resolve(root, relative);
    if (file !== root && !file.startsWith(root + path.sep)) return null;
    return { root, file };
  }
  return null;
}

function notFound(response, method) {
  response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(method === "HEAD" ? undefined : "not found\n");
}

export function createServer(exportDir) {
  const routes = makeRoutes(exportDir);
  return http.createServer(async (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
      response.end("method not allowed\n");
      return;
    }
    // the raw path, not the URL parser's normalised one, so that "/exported/../x" is
    // refused rather than quietly read as "/x"
    const urlPath = (request.url ?? "").split(/[?#]/, 1)[0];
    const target = urlPath.startsWith("/") ? resolveRequest(routes, urlPath) : null;
    if (!target) {
      notFound(response, request.method);
      return;
    }
    let info;
    try {
      info = await stat(target.file);
      // symbolic links inside a root are followed (an export root may link app folders
      // from elsewhere); the lexical check above keeps URLs inside the roots
      if (!info.isFile()) throw new Error("not a file");
    } catch {
      notFound(response, request.method);
      return;
    }
    const type = CONTENT_TYPES[path.extname(target.file).toLowerCase()] ?? "application/octet-stream";
    response.writeHead(200, {
      "Content-Type": type, "Content-Length": info.size, "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    });
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    const stream = createReadStream(target.file);
    stream.on("error", () => response.destroy());
    stream.pipe(response);
  });
}

function main(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        "export-dir": { type: "string" }, port: { type: "string", default: "8000" },
        host: { type: "string", default: "127.0.0.1" }, help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`error: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error: --port must be an integer from 0 to 65535, not ${values.port}`);
    return 2;
  }
  const exportDir = values["export-dir"] ?? process.env.SEQAPPS_EXPORT_DIR ?? "exported";
  const server = createServer(exportDir);
  server.on("error", (error) => {
    console.error(`error: cannot listen on ${values.host}:${port}: ${error.message}`);
    process.exit(2);
  });
  server.listen(port, values.host, () => {
    const { address, port: bound } = server.address();
    const host = address.includes(":") ? `[${address}]` : address;
    console.log(`serving http://${host}:${bound}/ (exports from ${path.resolve(exportDir)}); Ctrl-C stops`);
  });
  return null;
}

// Run as a script (also through a symlinked path: Node gives import.meta.url the real path).
if (process.argv[1] && realpathSync(path.resolve(process.argv[1])) === fileURLToPath(import.meta.url)) {
  const status = main(process.argv.slice(2));
  if (status !== null) process.exitCode = status;
}
