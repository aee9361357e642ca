"""The browser page (web/) shows what ``python -m apps.<app>.predict --runtime onnx`` prints.

One headless Chromium session (Debian's ``chromium``, driven by playwright-core through
``tests/web/drive.mjs``) opens the page served by ``node web/serve.js`` over the five demo
exports, types a review, a sentence and a source sentence, uploads a demo image and a price
CSV, and reads the rows each panel renders (its ``data-*`` attributes) and the text it shows.
Any browser console error fails the test. The screenshot of the page with every result is
saved next to the test's temporary files (its path is printed).
"""

import csv
import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from shared.paths import REPO_ROOT
from tests.clients.node.client import assert_rows_match, npm_installed
from tests.commands import json_rows, run
from tests.sharing import machine_lock

WEB_DIR = REPO_ROOT / "web"
DRIVER = REPO_ROOT / "tests" / "web" / "drive.mjs"
APPS = ("sentiment", "ner", "translation", "captioning", "stocks")

REVIEW = "¡Increíble! A moving, beautifully acted film… naïve but never dull."
SENTENCE = "Maria Lopez joined Reuters in Paris last week ."
SOURCE_SENTENCE = "A baby goes to this small window."
PRICE_FILE = "DEMO.csv"  # a one-ticker Yahoo file is named after its file: ticker DEMO


# ---------------------------------------------------------------------------------------
# Chromium, the page's packages and the server


def chromium_path():
    """Debian's chromium, installed with apt-get when missing (CI runs as root)."""
    configured = os.environ.get("SEQAPPS_CHROMIUM")
    if configured:
        return configured
    with machine_lock("apt-get install chromium"):  # one parallel test worker installs it
        return _installed_chromium()


def _installed_chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.skip("headless Chromium is not installed: apt-get install -y chromium (or set SEQAPPS_CHROMIUM)")
    install = [apt, "install", "-y", "--no-install-recommends", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(install, capture_output=True, text=True, timeout=900, env=env)
    if result.returncode != 0:
        subprocess.run([apt, "update"], capture_output=True, text=True, timeout=600, env=env)
        result = subprocess.run(install, capture_output=True, text=True, timeout=900, env=env)
    found = shutil.which("chromium")
    if result.returncode != 0 or found is None:
        pytest.skip(f"could not install Chromium with apt-get install chromium: {result.stderr.strip()[-500:]}")
    return found


class Server:
    """``node web/serve.js --export-dir ROOT --port 0`` on 127.0.0.1; ``url`` is what it printed."""

    def __init__(self, node, export_dir):
        self.process = subprocess.Popen([node, str(WEB_DIR / "serve.js"), "--export-dir", str(export_dir),
                                         "--port", "0", "--host", "127.0.0.1"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
        line = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not line or not line[0].startswith("serving http://"):
            self.stop()
            raise AssertionError(f"serve.js did not start: {line} {self.process.stderr.read()[-2000:]}")
        self.url = line[0].split()[1]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, path):
        """(status, Content-Type, body) of a GET, 404s included."""
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read()


def drive(node, browser, url, steps, timeout=600):
    """Run ``steps`` in one page (see drive.mjs); its JSON report."""
    result = subprocess.run([node, str(DRIVER)], input=json.dumps({"browser": browser, "url": url, "steps": steps}),
                            capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"drive.mjs printed nothing (exit {result.returncode}):\n{result.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def web_tools():
    """(node, chromium): the page's packages installed with ``npm ci --ignore-scripts``."""
    node = npm_installed(WEB_DIR)
    return node, chromium_path()


# ---------------------------------------------------------------------------------------
# Inputs


def write_price_file(path):
    """A Yahoo-layout CSV of synthetic prices (long enough for the model's window)."""
    from apps.stocks.data import demo_prices

    series = demo_prices(days=120, tickers=("DEMO",)).series["DEMO"]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
        for date, (open_, high, low, close, volume) in zip(series.dates, series.ohlcv):
            writer.writerow([str(date), f"{open_:.4f}", f"{high:.4f}", f"{low:.4f}", f"{close:.4f}", f"{close:.4f}",
                             str(int(volume))])
    return path


def demo_image(root):
    """A PNG the captioning demo generated (its cache lives under the demo's root)."""
    images = sorted((root / "cache").glob("captioning/*/images/*.png"))
    assert images, f"no demo images under {root / 'cache'}"
    return images[min(7, len(images) - 1)]


def predict(app, *args):
    return json_rows(run(f"apps.{app}.predict", "--runtime", "onnx", "--json", *map(str, args)))


def rows_of(attributes):
    return [json.loads(item["data-row"]) for item in attributes]


# ---------------------------------------------------------------------------------------
# One browser session over every panel


@pytest.fixture(scope="module")
def session(demo_exports, all_demo_exports, web_tools, tmp_path_factory):
    node, browser = web_tools
    work = tmp_path_factory.mktemp("web")
    export_dir = all_demo_exports
    roots = {app: demo_exports(app)[0] for app in APPS}
    image = demo_image(roots["captioning"])
    prices = write_price_file(work / PRICE_FILE)
    screenshot = work / "page.png"

    def done(app):
        return {"do": "wait", "selector": f"#{app}[data-status=done], #{app}[data-status=error]", "state": "attached"}

    def row(name, selector, *attributes):
        return {"do": "attributes", "name": name, "selector": selector, "attributes": ["data-row", *attributes]}

    steps = [
        {"do": "fill", "selector": "#sentiment-input", "value": REVIEW},
        {"do": "press", "selector": "#sentiment-input", "key": "Control+Enter"},
        done("sentiment"),
        row("sentiment", "#sentiment-result .sentiment-row", "data-label", "data-probability"),
        {"do": "attributes", "name": "sentiment_bars", "selector": "#sentiment-result .bar",
         "attributes": ["data-label", "data-probability"]},
        {"do": "text", "name": "sentiment_text", "selector": "#sentiment-result"},
        {"do": "fill", "selector": "#ner-input", "value": SENTENCE},
        {"do": "press", "selector": "#ner-input", "key": "Enter"},
        done("ner"),
        row("ner", "#ner-result .ner-row", "data-tags", "data-tokens"),
        {"do": "attributes", "name": "ner_marks", "selector": "#ner-tokens mark.entity",
         "attributes": ["data-type", "data-start", "data-end"]},
        {"do": "text", "name": "ner_text", "selector": "#ner-result"},
        {"do": "fill", "selector": "#translation-input", "value": SOURCE_SENTENCE},
        {"do": "click", "selector": "#translation-form button"},
        done("translation"),
        row("translation", "#translation-result .translation-row", "data-translation"),
        {"do": "text", "name": "translation_text", "selector": "#translation-output"},
        {"do": "upload", "selector": "#captioning-input", "files": [str(image)]},
        done("captioning"),
        row("captioning", "#captioning-result figure", "data-caption"),
        {"do": "text", "name": "caption_text", "selector": "#captioning-result figcaption .caption-text"},
        {"do": "upload", "selector": "#stocks-input", "files": [str(prices)]},  # a chosen file is forecast at once
        done("stocks"),
        row("stocks", "#stocks-result .forecast", "data-forecast"),
        {"do": "text", "name": "stocks_text", "selector": "#stocks-result table"},
        {"do": "attributes", "name": "chart", "selector": "#stocks-result svg.chart",
         "attributes": ["data-history-days", "aria-label"]},
        {"do": "text", "name": "chart_text", "selector": "#stocks-result svg.chart"},
        {"do": "attributes", "name": "statuses", "selector": "section.panel", "attributes": ["id", "data-status"]},
        {"do": "screenshot", "path": str(screenshot)},
    ]
    server = Server(node, export_dir)
    try:
        report = drive(node, browser, server.url, steps)
    finally:
        server.stop()
    print(f"\nscreenshot of the page: {screenshot}")
    python = {
        "sentiment": predict("sentiment", "--export-dir", export_dir, REVIEW),
        "ner": predict("ner", "--export-dir", export_dir, SENTENCE),
        "translation": predict("translation", "--export-dir", export_dir, SOURCE_SENTENCE),
        "captioning": predict("captioning", "--export-dir", export_dir, image),
        "stocks": predict("stocks", "--export-dir", export_dir, prices),
    }
    return {"report": report, "python": python, "image": image, "prices": prices, "screenshot": screenshot}


def test_the_page_ran_every_panel_without_browser_errors(session):
    report = session["report"]
    assert "error" not in report, report.get("error")
    assert report["console_errors"] == [] and report["page_errors"] == [], report
    assert report["failed_requests"] == []
    assert {item["id"]: item["data-status"] for item in report["results"]["statuses"]} == dict.fromkeys(APPS, "done")
    assert session["screenshot"].stat().st_size > 10_000


def test_sentiment_panel_shows_the_python_label_and_probabilities(session):
    results, [python] = session["report"]["results"], session["python"]["sentiment"]
    assert_rows_match(rows_of(results["sentiment"]), [python])
    [shown] = results["sentiment"]
    assert shown["data-label"] == python["label"]
    assert abs(float(shown["data-probability"]) - python["probability"]) < 1e-4
    bars = {bar["data-label"]: float(bar["data-probability"]) for bar in results["sentiment_bars"]}
    assert bars.keys() == python["probabilities"].keys()
    assert all(abs(bars[label] - p) < 1e-4 for label, p in python["probabilities"].items())
    assert f"Sentiment: {python['label']}" in results["sentiment_text"]


def test_ner_panel_highlights_the_python_entities(session):
    results, [python] = session["report"]["results"], session["python"]["ner"]
    assert_rows_match(rows_of(results["ner"]), [python])
    assert json.loads(results["ner"][0]["data-tags"]) == python["tags"]
    assert python["entities"], "the demo tagger should find an entity in the demo-style sentence"
    marks = [(mark["data-type"], int(mark["data-start"]), int(mark["data-end"])) for mark in results["ner_marks"]]
    assert marks == [(entity["type"], entity["start"], entity["end"]) for entity in python["entities"]]
    for entity in python["entities"]:
        assert f"{entity['type']}: {entity['text']}" in results["ner_text"]


def test_translation_panel_shows_the_python_translation(session):
    results, [python] = session["report"]["results"], session["python"]["translation"]
    assert_rows_match(rows_of(results["translation"]), [python])
    assert results["translation"][0]["data-translation"] == python["translation"]
    assert results["translation_text"] == python["translation"]


def test_captioning_panel_shows_the_python_caption(session):
    results, [python] = session["report"]["results"], session["python"]["captioning"]
    assert python["image"] == str(session["image"])
    assert_rows_match(rows_of(results["captioning"]), [{**python, "image": session["image"].name}])
    assert results["captioning"][0]["data-caption"] == python["caption"] == results["caption_text"]


def test_stocks_panel_shows_and_plots_the_python_forecast(session):
    results, python = session["report"]["results"], session["python"]["stocks"]
    assert len(python) == 1 and python[0]["ticker"] == "DEMO"
    expected = [{**row, "source": PRICE_FILE} for row in python]
    # prices are float32 model outputs rounded to 6 places; change_percent is rounded to 4,
    # so a last-digit flip is within tolerance
    assert_rows_match(rows_of(results["stocks"]), expected, tolerance=2e-4)
    forecast = json.loads(results["stocks"][0]["data-forecast"])
    assert [step["days_ahead"] for step in forecast] == [step["days_ahead"] for step in python[0]["forecast"]]
    for step in python[0]["forecast"]:
        assert f"{step['price']:.2f}" in results["stocks_text"]
    [chart] = results["chart"]
    assert int(chart["data-history-days"]) == 60 and python[0]["last_known_day"] in chart["aria-label"]
    assert "Close price" in results["chart_text"] and "Trading day" in results["chart_text"]


def test_panels_say_when_an_app_is_not_exported(web_tools, demo_exports, tmp_path):
    node, browser = web_tools
    export_dir = tmp_path / "exported"
    export_dir.mkdir()
    root, _ = demo_exports("sentiment")
    (export_dir / "sentiment").symlink_to(root / "exported" / "sentiment", target_is_directory=True)
    server = Server(node, export_dir)
    try:
        report = drive(node, browser, server.url, [
            {"do": "attributes", "name": "statuses", "selector": "section.panel", "attributes": ["id", "data-status"]},
            {"do": "text", "name": "ner_status", "selector": "#ner-status"},
            {"do": "attributes", "name": "ner_button", "selector": "#ner-form button", "attributes": ["disabled"]},
        ])
    finally:
        server.stop()
    assert "error" not in report, report["error"]
    statuses = {item["id"]: item["data-status"] for item in report["results"]["statuses"]}
    assert statuses == {"sentiment": "idle", **{app: "missing" for app in APPS if app != "sentiment"}}
    assert "not exported" in report["results"]["ner_status"]
    assert "python -m apps.ner.train" in report["results"]["ner_status"]
    assert report["results"]["ner_button"] == [{"disabled": ""}]
    # the only errors are the browser's notes on the four missing manifests
    assert report["page_errors"] == []
    assert all("manifest.json" in error for error in report["console_errors"]), report["console_errors"]


def test_server_serves_the_page_the_library_ort_and_exports_and_nothing_else(web_tools, demo_exports):
    node, _ = web_tools
    root, _ = demo_exports("sentiment")
    server = Server(node, root / "exported")
    try:
        assert server.url.startswith("http://127.0.0.1:")
        expected = {
            "/": "text/html", "/app.js": "text/javascript", "/style.css": "text/css",
            "/lib/exported.js": "text/javascript", "/ort/ort.wasm.min.mjs": "text/javascript",
            "/ort/ort-wasm-simd-threaded.wasm": "application/wasm",
            "/exported/sentiment/manifest.json": "application/json",
        }
        for path, kind in expected.items():
            status, content_type, _ = server.get(path)
            assert status == 200 and content_type.startswith(kind), (path, status, content_type)
        manifest = json.loads(server.get("/exported/sentiment/manifest.json")[2])
        assert manifest["app"] == "sentiment"
        for path in ("/exported/../serve.js", "/exported/%2e%2e/%2e%2e/serve.js", "/lib/..%2f..%2fcli.js",
                     "/exported/sentiment/", "/node_modules/onnxruntime-web/package.json", "/package.json/..",
                     "/.gitignore", "/nothing.html", "/exported/sentiment/manifest.json%00"):
            status, _, _ = server.get(path)
            assert status == 404, path
    finally:
        server.stop()
    help_text = subprocess.run([node, str(WEB_DIR / "serve.js"), "--help"], capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and help_text.stdout.startswith("usage: node web/serve.js --export-dir DIR")
