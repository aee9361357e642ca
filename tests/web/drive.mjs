// node tests/web/drive.mjs < steps.json
//
// Drive one headless Chromium page through a list of steps and print one JSON object:
// {"results": {name: value}, "console_errors": [...], "page_errors": [...], "failed_requests": [...]}.
// The input is {"browser": PATH, "url": URL, "steps": [...]}; every step has "do":
//   {"do": "fill", "selector", "value"}            type into an input or textarea
//   {"do": "click", "selector"}
//   {"do": "press", "selector", "key"}
//   {"do": "upload", "selector", "files": [PATH]}  set a file input's files (fires "change")
//   {"do": "wait", "selector", "state"?}           wait for an element (default: visible)
//   {"do": "attributes", "name", "selector", "attributes": [...]}  -> {attribute: value}, every match
//   {"do": "text", "name", "selector"}             -> the element's textContent
//   {"do": "screenshot", "path"}                   the full page, as PNG
// A failing step stops the run; its error is printed as "error" with what was gathered so far.

import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, "..", "..", "web", "package.json"));
const { chromium } = require("playwright-core");

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function main() {
  const { browser: executablePath, url, steps, timeout = 120000 } = await readStdin();
  const output = { results: {}, console_errors: [], page_errors: [], failed_requests: [] };
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(timeout);
    page.on("console", (message) => {
      if (message.type() === "error") output.console_errors.push(`${message.text()} (${message.location().url ?? ""})`);
    });
    page.on("pageerror", (error) => output.page_errors.push(String(error.stack ?? error)));
    page.on("requestfailed", (request) => {
      output.failed_requests.push(`${request.url()}: ${request.failure()?.errorText}`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) output.failed_requests.push(`${response.url()}: HTTP ${response.status()}`);
    });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("body[data-exports-checked]", { state: "attached" });
    for (const [index, step] of steps.entries()) {
      try {
        await run(page, step, output.results);
      } catch (error) {
        output.error = `step ${index} ${JSON.stringify(step)}: ${error.message}`;
        break;
      }
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(output));
}

async function run(page, step, results) {
  switch (step.do) {
    case "fill":
      await page.fill(step.selector, step.value);
      break;
    case "click":
      await page.click(step.selector);
      break;
    case "press":
      await page.press(step.selector, step.key);
      break;
    case "upload":
      await page.setInputFiles(step.selector, step.files);
      break;
    case "wait":
      await page.waitForSelector(step.selector, { state: step.state ?? "visible" });
      break;
    case "attributes":
      results[step.name] = await page.$$eval(step.selector, (nodes, names) => nodes.map(
        (node) => Object.fromEntries(names.map((name) => [name, node.getAttribute(name)]))), step.attributes);
      break;
    case "text":
      results[step.name] = await page.textContent(step.selector);
      break;
    case "screenshot":
      await page.screenshot({ path: step.path, fullPage: true });
      break;
    default:
      throw new Error(`unknown step ${JSON.stringify(step.do)}`);
  }
}

main().catch((error) => {
  console.log(JSON.stringify({ error: String(error.stack ?? error) }));
  process.exitCode = 1;
});
