"""Every consumer example in README.md runs, as written, on real exports.

That is the deployment section's commands and code, and every predict command of the app
sections. The examples use the default export root ``exported/``: they run in a folder
where ``exported`` holds the five demo exports, ``clients``, ``web``, ``shared`` and
``apps`` are the repository's, and the input files they name (``reviews.txt``,
``photo.jpg``, ``prices.csv``, ...) are small stand-ins made here in the same formats.
"""

import ast
import csv
import gzip
import importlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from PIL import Image

from apps.stocks.data import demo_prices
from shared.paths import REPO_ROOT
from tests.commands import main_rows

SECTION = "## Deploy anywhere"
BLOCK = re.compile(r"```(bash|js|python)\n(.*?)```", re.S)


def readme_sections():
    """The README split at the deployment section: ``(everything else, the deployment section)``."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[:start] + text[end:], text[start:end]


def deployment_examples():
    return BLOCK.findall(readme_sections()[1])


def predict_commands():
    """The app sections' predict command lines (comments cut)."""
    lines = [line.split("  #")[0].strip() for kind, code in BLOCK.findall(readme_sections()[0]) if kind == "bash"
             for line in code.splitlines()]
    return [line for line in lines if re.search(r"apps\.\w+\.predict", line)]


@pytest.fixture(scope="module")
def workdir(all_demo_exports, demo_exports, node_client, tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    (folder / "exported").symlink_to(all_demo_exports, target_is_directory=True)
    for name in ("clients", "web", "shared", "apps"):
        (folder / name).symlink_to(REPO_ROOT / name, target_is_directory=True)
    write_stand_in_inputs(folder, demo_exports("captioning")[0])
    return folder


def write_stand_in_inputs(folder, captioning_root):
    """The files the README's commands read, in the formats the apps take."""
    (folder / "reviews.txt").write_text("A moving, beautifully acted film.\nDull and far too long.\n")
    (folder / "sentences.txt").write_text("The red cat sees the dog.\nWhere is the station?\n")
    scenes = sorted(captioning_root.glob("cache/captioning/*/images/*.png"))[:2]
    (folder / "photos").mkdir()
    with Image.open(scenes[0]) as first, Image.open(scenes[1]) as second:
        first.convert("RGB").save(folder / "photo.jpg", quality=90)
        second.save(folder / "other.png")
        first.convert("RGB").save(folder / "photos" / "one.jpg")
        second.convert("RGB").save(folder / "photos" / "two.jpg")
    series = demo_prices(days=200, tickers=("AAPL", "MSFT")).series
    with (folder / "prices.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
        for date, (open_, high, low, close, volume) in zip(series["AAPL"].dates, series["AAPL"].ohlcv):
            writer.writerow([date, open_, high, low, close, close, int(volume)])
    with gzip.open(folder / "all_stocks_5yr.csv.gz", "wt", newline="") as file:  # the long multi-ticker layout
        writer = csv.writer(file)
        writer.writerow(["date", "open", "high", "low", "close", "volume", "Name"])
        for ticker, prices in series.items():
            for date, (open_, high, low, close, volume) in zip(prices.dates, prices.ohlcv):
                writer.writerow([date, open_, high, low, close, int(volume), ticker])


def environment(workdir):
    """The Python commands' default export root is the repository's ``exported/``: point it here."""
    return {**os.environ, "SEQAPPS_EXPORT_DIR": str(workdir / "exported"), "PYTHONPATH": str(REPO_ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_and_probe(command, workdir):
    """A server example: start it, fetch the page and a manifest through it, stop it."""
    port = free_port()
    argv = [str(port) if word == "8000" else word for word in shlex.split(command)]
    server = subprocess.Popen(argv, cwd=workdir, env=environment(workdir), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        manifest = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/exported/sentiment/manifest.json"))
        assert "<html" in page.lower() and manifest["app"] == "sentiment"
    finally:
        server.terminate()
        server.wait(timeout=10)


def shown(app, row):
    """What a predict command prints for one JSON row without ``--json``: the same label,
    probability, tags, forecast, caption or translation, in each app's readable layout."""
    if app == "sentiment":
        text = row["text"] if len(row["text"]) <= 70 else row["text"][:67] + "..."
        return f"{row['label']}\t{row['probability']:.3f}\t{text}"
    if app == "ner":
        tagged = " ".join(token if tag == "O" else f"{token}/{tag}"
                          for token, tag in zip(row["tokens"], row["tags"], strict=True))
        return f"{tagged}\n    " + ("; ".join(f"{e['type']}: {e['text']}" for e in row["entities"]) or "no entities")
    if app == "stocks":
        steps = "  ".join(f"+{f['days_ahead']}d {f['price']:.2f} ({f['change_percent']:+.2f}%)"
                          for f in row["forecast"])
        return f"{row['ticker']}\t{row['last_known_day']}\tclose {row['last_close']:.2f}\t{steps}"
    if app == "captioning":
        return f"{row['image']}\t{row['caption']}"
    return row["translation"]


def bash(command, cwd, workdir):
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=environment(workdir), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"`{command}` failed:\n{result.stderr[-3000:]}"
    return result.stdout


def json_counterpart(command, workdir, capsys, monkeypatch):
    """``(app, rows)``: the rows the same predict call prints with ``--json`` (Python in this
    process, with the same inputs, folder and export root; Node.js in a new process)."""
    producer, _, consumer = command.rpartition(" | ")
    stdin = bash(producer, workdir, workdir) if producer else None
    argv = shlex.split(consumer)
    if argv[0] == "node":
        return argv[2], [json.loads(row) for row in bash(command + " --json", workdir, workdir).split("\n") if row]
    assert argv[:2] == ["python", "-m"] and argv[2].startswith("apps."), command
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SEQAPPS_EXPORT_DIR", str(workdir / "exported"))
    return argv[2].split(".")[1], main_rows(importlib.import_module(argv[2]).main, argv[3:], capsys, stdin=stdin)


def run_bash_line(line, workdir, capsys, monkeypatch):
    command = line.split("  #")[0].strip()
    if "web/serve.js" in command:
        return serve_and_probe(command, workdir)
    # npm installs into the repository's own folders (npm resolves --prefix through no symlinks)
    cwd = REPO_ROOT if command.startswith("npm ") else workdir
    stdout = bash(command.replace("python -m", f"{sys.executable} -m"), cwd, workdir)
    if "--json" in command:
        rows = [json.loads(row) for row in stdout.split("\n") if row]
        assert rows and all(isinstance(row, dict) for row in rows), stdout
        producer, _, _ = command.rpartition(" | ")
        if producer:  # one row per line piped in, in order
            inputs = bash(producer, workdir, workdir).splitlines()
            assert [row.get("text", row.get("image")) for row in rows] == inputs, (command, rows)
    elif ("cli.js" in command or "predict" in command) and "--help" not in command:
        app, rows = json_counterpart(command, workdir, capsys, monkeypatch)
        assert rows, f"`{command} --json` printed no rows"
        assert stdout == "".join(shown(app, row) + "\n" for row in rows), (command, stdout, rows)


def test_the_readme_has_examples_for_each_consumer():
    kinds = [kind for kind, _ in deployment_examples()]
    assert kinds.count("bash") >= 2 and "js" in kinds and "python" in kinds
    apps = {re.search(r"apps\.(\w+)\.predict", line).group(1) for line in predict_commands()}
    assert apps == {"sentiment", "ner", "stocks", "captioning", "translation"}


def test_every_predict_command_of_the_app_sections_runs(workdir, capsys, monkeypatch):
    for command in predict_commands():
        run_bash_line(command, workdir, capsys, monkeypatch)


def test_every_deployment_example_runs(workdir, capsys, monkeypatch):
    for kind, code in deployment_examples():
        if kind == "bash":
            for line in code.strip().splitlines():
                if line.strip() and not line.startswith("#"):
                    run_bash_line(line, workdir, capsys, monkeypatch)
            continue
        argv = ([sys.executable, "-"] if kind == "python" else ["node", "--input-type=module"])
        result = subprocess.run(argv, input=code, cwd=workdir, env=environment(workdir), capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"the {kind} example failed:\n{result.stderr[-3000:]}"
        assert result.stdout.strip(), f"the {kind} example printed nothing"
        if kind == "python":
            # the example's label and probability are the ONNX predict command's for the same text
            texts = ast.literal_eval(re.search(r"encode_batch\((\[.*?\])\)", code).group(1))
            rows = main_rows(importlib.import_module("apps.sentiment.predict").main,
                             ["--runtime", "onnx", "--export-dir", workdir / "exported", *texts], capsys)
            assert len(rows) == len(texts) == 1
            label, probability = result.stdout.split()
            assert (label, round(float(probability), 6)) == (rows[0]["label"], rows[0]["probability"]), rows[0]
