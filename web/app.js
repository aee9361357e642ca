// The seqapps page: five panels, each running one exported app with onnxruntime-web through the
// library the Node.js CLI uses (clients/node/lib, served at /lib/). Every panel opens its app's
// manifest when the page loads (a small JSON file, to say whether the app is exported) and fetches
// the ONNX models on first use. The rows each panel renders are the rows
// ``python -m apps.<app>.predict --runtime onnx --json`` prints; every result element carries
// them as data attributes (``data-row`` and per-app ones) for scripts and tests to read.

import * as ort from "/ort/ort.wasm.min.mjs";

import { AppExport, ExportError } from "/lib/exported.js";

ort.env.wasm.wasmPaths = "/ort/";
ort.env.wasm.numThreads = 1;  // threads need cross-origin isolation, which a plain static server lacks
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";

const EXPORT_ROOT = "/exported/";
const SVG_NS = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------------------------------
// Exports over HTTP

async function fetchOk(relative) {
  const url = EXPORT_ROOT + relative.split("/").map(encodeURIComponent).join("/");
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return response;
}

const httpReader = {
  text: async (relative) => (await fetchOk(relative)).text(),
  bytes: async (relative) => new Uint8Array(await (await fetchOk(relative)).arrayBuffer()),
};

const APPS = {
  sentiment: { module: "sentiment.js", loader: "loadSentiment" },
  ner: { module: "ner.js", loader: "loadNer" },
  translation: { module: "translation.js", loader: "loadTranslation" },
  captioning: { module: "captioning.js", loader: "loadCaptioning" },
  stocks: { module: "stocks.js", loader: "loadStocks" },
};

const opened = {};   // app -> Promise<AppExport>
const runners = {};  // app -> Promise<function>
const modules = {};  // app -> Promise<module>

function openApp(app) {
  opened[app] ??= AppExport.open(ort, httpReader, app, { executionProviders: ["wasm"] });
  return opened[app];
}

function appModule(app) {
  modules[app] ??= import(`/lib/${APPS[app].module}`);
  return modules[app];
}

/** The app's predict function (classify, tag, translate, caption, forecast), loaded once. */
function runner(app) {
  if (!runners[app]) {
    runners[app] = (async () => {
      const [module, exported] = await Promise.all([appModule(app), openApp(app)]);
      return module[APPS[app].loader](exported);
    })();
    runners[app].catch(() => { delete runners[app]; delete modules[app]; });  // a failed load may be retried
  }
  return runners[app];
}

function isMissing(app, error) {
  return error instanceof ExportError && error.message.startsWith(`no ${app} export`);
}

// ---------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") && typeof value !== "string") node.setAttribute(key, JSON.stringify(value));
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function panel(app) {
  const section = document.getElementById(app);
  return {
    section,
    status: document.getElementById(`${app}-status`),
    result: document.getElementById(`${app}-result`),
    controls: [...section.querySelectorAll("button, input, textarea")],
    set(state, message = "") {
      section.dataset.status = state;
      this.status.textContent = message;
    },
  };
}

/**
 * Run ``work(predict)`` for one panel: busy while it runs, its message on failure. The panel's
 * ``data-status`` goes busy -> done (or error), so a script can wait for the result.
 */
async function runPanel(app, work) {
  const view = panel(app);
  if (view.section.dataset.status === "missing") return;
  const buttons = view.section.querySelectorAll("button");
  buttons.forEach((button) => { button.disabled = true; });
  const first = !runners[app];
  view.set("busy", first ? "Loading the model…" : "Running…");
  view.section.setAttribute("aria-busy", "true");
  try {
    const predict = await runner(app);
    view.set("busy", "Running…");
    const started = performance.now();
    await work(predict, view);
    view.set("done", `Done in ${Math.round(performance.now() - started)} ms.`);
  } catch (error) {
    if (isMissing(app, error)) {
      markMissing(app);
    } else {
      console.error(`${app}:`, error);
      view.result.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
      view.set("error", "Failed: see below.");
    }
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
    view.section.removeAttribute("aria-busy");
  }
}

function markMissing(app) {
  const view = panel(app);
  view.set("missing", `The ${app} app is not exported in this export root: train it with ` +
           `\`python -m apps.${app}.train\`, then serve the export root with node web/serve.js --export-dir DIR.`);
  view.controls.forEach((control) => { control.disabled = true; });
}

/** At load: open every manifest (small) so that a panel says at once whether its app is there. */
async function checkExports() {
  await Promise.all(Object.keys(APPS).map(async (app) => {
    const view = panel(app);
    try {
      const exported = await openApp(app);
      const { model_version: version, created } = exported.manifest;
      view.set("idle", `Model version ${version}${created ? `, exported ${created.slice(0, 10)}` : ""}.`);
    } catch (error) {
      if (isMissing(app, error)) markMissing(app);
      else view.set("error", error.message);
    }
  }));
}

// ---------------------------------------------------------------------------------------
// Sentiment

function renderSentiment(row) {
  const entries = Object.entries(row.probabilities);
  return el("div", {
    class: "sentiment-row", "data-row": row, "data-label": row.label, "data-probability": String(row.probability),
    "data-probabilities": row.probabilities,
  },
  el("p", { class: "verdict" }, "Sentiment: ", el("strong", { id: "sentiment-label", text: row.label }),
     ` (${(100 * row.probability).toFixed(1)}%)`),
  el("ul", { class: "bars", "aria-label": "probability per label" },
     entries.map(([label, probability]) => el("li", {
       class: label === row.label ? "bar best" : "bar", "data-label": label, "data-probability": String(probability),
     },
     el("span", { class: "name", text: label }),
     el("span", { class: "track", role: "img", "aria-label": `${label}: ${(100 * probability).toFixed(1)}%` },
        el("span", { class: "fill", style: `width: ${(100 * probability).toFixed(2)}%` })),
     el("span", { class: "value", text: probability.toFixed(4) })))));
}

function setUpSentiment() {
  const form = document.getElementById("sentiment-form");
  const input = document.getElementById("sentiment-input");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runPanel("sentiment", async (classify, view) => {
      const [row] = await classify([input.value]);
      view.result.replaceChildren(renderSentiment(row));
    });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

// ---------------------------------------------------------------------------------------
// Named entities

const ENTITY_COLOURS = ["#ffd8a8", "#b2f2bb", "#a5d8ff", "#eebefa", "#ffec99", "#fcc2d7", "#c3fae8", "#d0bfff"];
const FIXED_COLOURS = { PER: "#ffd8a8", LOC: "#b2f2bb", ORG: "#a5d8ff", MISC: "#eebefa" };
let entityTypes = null;

async function nerTypes() {
  if (entityTypes === null) {
    let labels = [];
    try {
      labels = (await (await openApp("ner")).json("labels.json")).labels ?? [];
    } catch {
      labels = [];
    }
    entityTypes = [...new Set(labels.filter((tag) => tag !== "O").map((tag) => tag.replace(/^[BIESLU]-/, "")))].sort();
  }
  return entityTypes;
}

function entityColour(type, types) {
  if (FIXED_COLOURS[type]) return FIXED_COLOURS[type];
  let index = types.indexOf(type);
  if (index < 0) index = [...type].reduce((sum, ch) => sum + ch.codePointAt(0), 0);
  return ENTITY_COLOURS[index % ENTITY_COLOURS.length];
}

function renderNer(row, types) {
  const line = el("p", { class: "tokens", id: "ner-tokens" });
  const starts = new Map(row.entities.map((entity) => [entity.start, entity]));
  for (let i = 0; i < row.tokens.length;) {
    if (i > 0) line.append(" ");
    const entity = starts.get(i);
    if (entity && entity.end > i) {
      const words = row.tokens.slice(entity.start, entity.end).join(" ");
      line.append(el("mark", {
        class: "entity", style: `background: ${entityColour(entity.type, types)}`, "data-type": entity.type,
        "data-start": String(entity.start), "data-end": String(entity.end), title: entity.type,
      }, words, el("span", { class: "type", "aria-label": `(${entity.type})`, text: entity.type })));
      i = entity.end;
    } else {
      line.append(el("span", { class: "token", "data-tag": row.tags[i], text: row.tokens[i] }));
      i += 1;
    }
  }
  const list = row.entities.length
    ? el("ul", { class: "entity-list", id: "ner-entities" }, row.entities.map((entity) => el("li", {
      "data-type": entity.type, "data-text": entity.text,
    }, el("span", { class: "swatch", style: `background: ${entityColour(entity.type, types)}`, "aria-hidden": "true" }),
    el("strong", { text: entity.type }), `: ${entity.text}`)))
    : el("p", { class: "meta", id: "ner-entities", text: "No entities found." });
  return el("div", {
    class: "ner-row", "data-row": row, "data-tokens": row.tokens, "data-tags": row.tags, "data-entities": row.entities,
  }, line, el("h3", { class: "meta", text: "Entities" }), list);
}

function setUpNer() {
  const input = document.getElementById("ner-input");
  document.getElementById("ner-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runPanel("ner", async (tag, view) => {
      const [[row], types] = await Promise.all([tag([input.value], { pretokenized: false }), nerTypes()]);
      view.result.replaceChildren(renderNer(row, types));
    });
  });
}

// ---------------------------------------------------------------------------------------
// Translation

function setUpTranslation() {
  const input = document.getElementById("translation-input");
  document.getElementById("translation-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runPanel("translation", async (translate, view) => {
      const [row] = await translate([input.value]);
      const attributes = { class: "translation-row", "data-row": row, "data-translation": row.translation };
      view.result.replaceChildren(el("div", attributes,
        el("p", { class: "translation-output", id: "translation-output", lang: "und", text: row.translation }),
        el("p", { class: "meta", text: `score ${row.score.toFixed(4)} (log-probability)` })));
    });
  });
}

// ---------------------------------------------------------------------------------------
// Captioning

/** A dropped or chosen file -> ``{name, width, height, rgb}``, RGB bytes as decoded (alpha dropped). */
async function decodeImage(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new Error(`${file.name}: not a readable image`);
  }
  const { width, height } = bitmap;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data;
  const { rgbaToRgb } = await import("/lib/pixels.js");
  return { name: file.name, width, height, rgb: rgbaToRgb(rgba) };
}

let shownImages = [];

function captionFiles(files) {
  const images = [...files].filter((file) => file.size > 0);
  if (!images.length) return;
  runPanel("captioning", async (caption, view) => {
    const decoded = await Promise.all(images.map(decodeImage));
    const rows = await caption(decoded);
    shownImages.forEach((url) => URL.revokeObjectURL(url));
    shownImages = images.map((file) => URL.createObjectURL(file));
    view.result.replaceChildren(el("div", { class: "captions" }, rows.map((row, index) => el("figure", {
      class: "captioned", "data-row": row, "data-caption": row.caption, "data-image": row.image,
    },
    el("img", { src: shownImages[index], alt: `uploaded image ${row.image}` }),
    el("figcaption", {}, el("span", { class: "caption-text", text: row.caption }),
       el("span", { class: "file", text: `${row.image} · ${decoded[index].width}×${decoded[index].height} · ` +
                                         `score ${row.score.toFixed(3)}` }))))));
  });
}

function setUpCaptioning() {
  const zone = document.getElementById("captioning-drop");
  const input = document.getElementById("captioning-input");
  input.addEventListener("change", () => captionFiles(input.files));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    captionFiles(event.dataTransfer.files);
  });
  // a file dropped next to the zone should not replace the page
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

// ---------------------------------------------------------------------------------------
// Stocks

const HISTORY_DAYS = 60;
// numbers as Python's f"{x:.2f}" prints them (stocks.js's pyFixed once loaded; ties differ from toFixed)
let fixed = (value, digits) => value.toFixed(digits);

/** ``[{date, close}]`` of a parsePrices series (``dates``: days since 1970, ``ohlcv``: OHLCV rows). */
function closesOf(series, dayString) {
  return series.dates.map((day, i) => ({ date: dayString(day), close: Number(series.ohlcv[i][3]) }));
}

function niceTicks(low, high, count = 5) {
  if (!(high > low)) { high = low + 1; low -= 1; }
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) ticks.push(value);
  return { ticks, step };
}

function chart(history, row) {
  const width = 720, height = 320, margin = { left: 64, right: 24, top: 22, bottom: 62 };
  const plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom;
  const steps = row.forecast.length;
  const slots = history.length + steps;
  const prices = [...history.map((point) => point.close), ...row.forecast.map((point) => point.price)];
  let low = Math.min(...prices), high = Math.max(...prices);
  const pad = (high - low) * 0.08 || Math.abs(high) * 0.02 || 1;
  const { ticks, step } = niceTicks(low - pad, high + pad);
  low = Math.min(low - pad, ticks[0]);
  high = Math.max(high + pad, ticks[ticks.length - 1]);
  const x = (index) => margin.left + (slots <= 1 ? plotWidth / 2 : (index / (slots - 1)) * plotWidth);
  const y = (price) => margin.top + (1 - (price - low) / (high - low)) * plotHeight;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + (step < 1 ? 1 : 0));

  const root = svg("svg", {
    class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "data-history-days": history.length,
    "aria-label": `${row.ticker}: the last ${history.length} closes up to ${row.last_known_day} and the ` +
                  `forecast for the next ${steps} trading days`,
  });
  const grid = svg("g", { class: "grid" });
  const yAxis = svg("g", { class: "axis y-axis" });
  yAxis.append(svg("line", { x1: margin.left, x2: margin.left, y1: margin.top, y2: margin.top + plotHeight }));
  for (const tick of ticks) {
    if (tick < low || tick > high) continue;
    grid.append(svg("line", { x1: margin.left, x2: margin.left + plotWidth, y1: y(tick), y2: y(tick) }));
    yAxis.append(svg("line", { x1: margin.left - 4, x2: margin.left, y1: y(tick), y2: y(tick) }));
    yAxis.append(svg("text", { x: margin.left - 7, y: y(tick) + 4, "text-anchor": "end" }, tick.toFixed(decimals)));
  }
  yAxis.append(svg("text", {
    class: "axis-title", transform: `translate(14 ${margin.top + plotHeight / 2}) rotate(-90)`, "text-anchor": "middle",
  }, "Close price"));

  const xAxis = svg("g", { class: "axis x-axis" });
  const base = margin.top + plotHeight;
  xAxis.append(svg("line", { x1: margin.left, x2: margin.left + plotWidth, y1: base, y2: base }));
  const labelled = new Set([0, Math.floor((history.length - 1) / 2), history.length - 1]);
  labelled.forEach((index) => {
    if (index < 0 || index >= history.length) return;
    const anchor = index === 0 ? "start" : index === history.length - 1 && steps === 0 ? "end" : "middle";
    xAxis.append(svg("line", { x1: x(index), x2: x(index), y1: base, y2: base + 4 }));
    xAxis.append(svg("text", { x: x(index), y: base + 16, "text-anchor": anchor }, history[index].date));
  });
  if (steps) {  // where the known days end and the forecast begins
    grid.append(svg("line", { class: "today", x1: x(history.length - 1), x2: x(history.length - 1),
                              y1: margin.top, y2: base }));
  }
  row.forecast.forEach((point, index) => {
    const at = x(history.length + index);
    xAxis.append(svg("line", { x1: at, x2: at, y1: base, y2: base + 4 }));
    if (index === steps - 1) {
      xAxis.append(svg("text", { class: "forecast-label", x: at, y: base + 31, "text-anchor": "end" },
                       `forecast +1…+${point.days_ahead} days`));
    }
  });
  xAxis.append(svg("text", {
    class: "axis-title", x: margin.left + plotWidth / 2, y: height - 8, "text-anchor": "middle",
  }, "Trading day (history, then forecast)"));

  const history_ = svg("polyline", {
    class: "history",
    points: history.map((point, index) => `${x(index).toFixed(1)},${y(point.close).toFixed(1)}`).join(" "),
  });
  const lastIndex = history.length - 1;
  const bridge = svg("polyline", {
    class: "bridge",
    points: [[lastIndex, row.last_close], ...row.forecast.map((point, index) => [history.length + index, point.price])]
      .map(([index, price]) => `${x(index).toFixed(1)},${y(price).toFixed(1)}`).join(" "),
  });
  const points = svg("g", { class: "forecast-points" });
  row.forecast.forEach((point, index) => {
    const dot = svg("circle", { class: "predicted", cx: x(history.length + index), cy: y(point.price), r: 4.5 });
    dot.append(svg("title", {}, `+${point.days_ahead} trading day(s): ${point.price.toFixed(2)}`));
    points.append(dot);
  });
  const legend = svg("g", { class: "legend", transform: `translate(${margin.left + 6} 14)` });
  legend.append(svg("line", { class: "history", x1: 0, x2: 18, y1: -4, y2: -4 }));
  legend.append(svg("text", { x: 24, y: 0 }, `last ${history.length} closes`));
  legend.append(svg("circle", { class: "predicted", cx: 130, cy: -4, r: 4.5 }));
  legend.append(svg("text", { x: 140, y: 0 }, "forecast"));
  root.append(grid, yAxis, xAxis, history_, bridge, points, legend);
  return root;
}

function renderForecast(row, series, dayString) {
  const history = series
    ? closesOf(series, dayString).filter((point) => point.date <= row.last_known_day).slice(-HISTORY_DAYS)
    : [];
  const table = el("table", { "aria-label": `${row.ticker} forecast` },
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Day" }), el("th", { scope: "col", text: "Close" }),
                        el("th", { scope: "col", text: "Change" }))),
    el("tbody", {},
       el("tr", {}, el("td", { text: `${row.last_known_day} (last)` }), el("td", { text: fixed(row.last_close, 2) }),
          el("td", { text: "" })),
       row.forecast.map((point) => el("tr", {
         "data-days-ahead": String(point.days_ahead), "data-price": String(point.price),
       },
         el("td", { text: `+${point.days_ahead} trading day${point.days_ahead === 1 ? "" : "s"}` }),
         el("td", { text: fixed(point.price, 2) }),
         el("td", { class: point.change_percent >= 0 ? "up" : "down",
                    text: `${point.change_percent >= 0 ? "+" : ""}${fixed(point.change_percent, 2)}%` })))));
  return el("div", {
    class: "forecast", "data-row": row, "data-ticker": row.ticker, "data-forecast": row.forecast,
    "data-last-close": String(row.last_close), "data-last-known-day": row.last_known_day,
  },
  el("div", {}, el("h3", { text: `${row.ticker} · close ${fixed(row.last_close, 2)} on ${row.last_known_day}` }),
     table),
  history.length ? chart(history, row) : el("p", { class: "meta", text: "No history to plot." }));
}

function setUpStocks() {
  const input = document.getElementById("stocks-input");
  const asOf = document.getElementById("stocks-as-of");
  const form = document.getElementById("stocks-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = input.files[0];
    const view = panel("stocks");
    if (!file) {
      view.status.textContent = "Choose a CSV file first.";
      input.focus();
      return;
    }
    runPanel("stocks", async (forecast, view) => {
      const { parsePrices, decodePrices, isGzip, gunzip, dayString, pyFixed } = await appModule("stocks");
      if (pyFixed) fixed = pyFixed;
      let bytes = new Uint8Array(await file.arrayBuffer());
      if (isGzip(bytes)) bytes = await gunzip(bytes, file.name);
      const repairs = [];
      const data = parsePrices(decodePrices(bytes, file.name), file.name, { log: (line) => repairs.push(line) });
      const rows = await forecast(data, { source: file.name, asOf: asOf.value || null });
      const byTicker = new Map(data.series.map((series) => [series.ticker, series]));
      view.result.replaceChildren(
        ...rows.map((row) => renderForecast(row, byTicker.get(row.ticker), dayString)),
        el("details", { class: "repairs" }, el("summary", { text: "How the file was read" }),
           el("ul", {}, repairs.map((line) => el("li", { text: line })))));
    });
  });
  input.addEventListener("change", () => { if (input.files[0]) form.requestSubmit(); });
}

// ---------------------------------------------------------------------------------------

setUpSentiment();
setUpNer();
setUpTranslation();
setUpCaptioning();
setUpStocks();
document.getElementById("runtime-status").textContent =
  `onnxruntime-web ${ort.env.versions?.web ?? ""} (WebAssembly, one thread) is ready.`;
document.body.dataset.ready = "true";
checkExports().then(() => { document.body.dataset.exportsChecked = "true"; });
