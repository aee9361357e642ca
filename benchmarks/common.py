"""What every benchmark script shares: finding the data, recording what ran, running the
real train command with a logged timeline, and the exit-status conventions.

Nothing here is specific to one app; ``benchmarks/<name>.py`` scripts import it.
"""

import csv
import datetime
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.paths import shared_data_dir

REPO_ROOT = Path(__file__).resolve().parent.parent

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

# Keras' verbose=2 summary of one epoch: "704/704 - 412s - 585ms/step - accuracy: ..."
EPOCH_HEADER = re.compile(r"^Epoch (\d+)/(\d+)\s*$")
EPOCH_SUMMARY = re.compile(r"^\s*(\d+)(?:/(\d+|Unknown))?\s+-\s+(\d+(?:\.\d+)?)(ms|s|m)\s+-")


class BenchmarkError(Exception):
    """A problem the user can fix (missing data, bad flags); exit status 2."""


# ---------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------


def find_data(subfolder, files, data=None, *, what, hint):
    """The folder holding ``files`` (``<shared data>/<subfolder>`` unless ``data`` names one),
    or a BenchmarkError saying where it looked and what is missing."""
    if data is None:
        root = shared_data_dir()
        if root is None:
            where = (f"$SEQAPPS_SHARED_DATA={os.environ['SEQAPPS_SHARED_DATA']} is not a folder"
                     if os.environ.get("SEQAPPS_SHARED_DATA") else
                     f"expected ../shared/data beside the repo ({REPO_ROOT.parent / 'shared' / 'data'}) "
                     "or a folder named by $SEQAPPS_SHARED_DATA")
            raise BenchmarkError(f"the shared datasets were not found: {where}; or pass --data FOLDER")
        data = root / subfolder
    data = Path(data)
    missing = [name for name in files if not (data / name).is_file()]
    if missing:
        raise BenchmarkError(f"{what} are missing: {', '.join(str(data / m) for m in missing)} not found ({hint})")
    return data


def sources_digest(paths):
    """SHA-256 over the names and contents of ``paths`` (files, or folders: their ``*.py``)."""
    files = set()
    for path in paths:
        path = Path(path).resolve()
        files.update(path.rglob("*.py") if path.is_dir() else [path])
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_version(script):
    """What code ran: the git commit read from .git (git itself is not run) and a digest of the
    sources, which also tells apart uncommitted edits between two runs of the same commit."""
    script = Path(script).resolve()
    common = Path(__file__).resolve()
    return {"git_commit": _git_commit(),
            "sources_sha256": sources_digest([REPO_ROOT / "apps", REPO_ROOT / "shared", common, script]),
            "sources": f"apps/**/*.py, shared/**/*.py, {display_path(common)} and {display_path(script)}"}


def _git_commit():
    git = REPO_ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


def load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def display_path(path):
    """``path`` relative to the repo when it lies inside it, else absolute."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


# ---------------------------------------------------------------------------------------
# The real train command
# ---------------------------------------------------------------------------------------


def _seconds(value, unit):
    return float(value) * {"ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_train_command(command, log_path, env):
    """Run the train command, echoing its output and logging it with elapsed-time stamps.

    Returns ``(exit status, wall seconds, timeline)``: the timeline holds when the first
    epoch began and, per epoch, Keras' own epoch time, the steps run and the load average.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    timeline = {"first_epoch_started_s": None, "epochs": []}
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"# {now_iso()}  cwd {REPO_ROOT}\n# {shlex.join(command)}\n")
        log.flush()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                   errors="replace", bufsize=1)
        try:
            for line in process.stdout:
                elapsed = time.monotonic() - started
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(f"[{elapsed:8.1f}s] {line}")
                log.flush()
                _note_progress(line.rstrip("\n"), elapsed, timeline)
            status = process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        seconds = time.monotonic() - started
        log.write(f"# exit status {status} after {seconds:.1f} s\n")
    return status, seconds, timeline


def _note_progress(line, elapsed, timeline):
    header = EPOCH_HEADER.match(line)
    if header:
        if timeline["first_epoch_started_s"] is None:
            timeline["first_epoch_started_s"] = round(elapsed, 1)
        timeline["epochs"].append({"epoch": int(header.group(1)), "started_at_s": round(elapsed, 1)})
        return
    summary = EPOCH_SUMMARY.match(line)
    if summary and timeline["epochs"] and "keras_seconds" not in timeline["epochs"][-1]:
        timeline["epochs"][-1].update(steps=int(summary.group(1)),
                                      keras_seconds=_seconds(summary.group(3), summary.group(4)),
                                      ended_at_s=round(elapsed, 1), load_average=load_average())


def log_tail(log_path, lines=60):
    """The last ``lines`` lines of a log, for a failed run's record."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return None


def read_record(path):
    """A JSON result file as a dict, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def fresh_metrics(run_dir, launched):
    """The run's ``metrics.json`` if this run wrote it (not older than ``launched``), else None.

    A failed run must not be reported with the metrics a previous run left behind.
    """
    path = Path(run_dir) / "metrics.json"
    return read_record(path) if path.exists() and path.stat().st_mtime >= launched else None


def read_history(run_dir):
    """Per-epoch metrics from the run's history.csv (written by Keras' CSVLogger)."""
    path = Path(run_dir) / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    history = []
    for row in rows:
        entry = {"epoch": int(row["epoch"]) + 1}
        for key, value in row.items():
            if key != "epoch" and value not in (None, ""):
                entry[key] = round(float(value), 5)
        history.append(entry)
    return history


def per_epoch(history, timeline):
    by_epoch = {entry["epoch"]: entry for entry in timeline["epochs"]}
    rows = []
    for entry in history:
        timing = by_epoch.get(entry["epoch"], {})
        rows.append({**entry, **{key: timing[key] for key in ("steps", "keras_seconds", "ended_at_s",
                                                              "load_average") if key in timing}})
    return rows


# ---------------------------------------------------------------------------------------
# One configuration = one recorded run (the stocks and captioning benchmarks)
# ---------------------------------------------------------------------------------------


def configuration_parser(benchmark, doc, configurations, *, minutes, epochs, quick_help, data_help):
    """The flags of a benchmark made of configurations x seeds, each one train command."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{benchmark}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(configurations), default=None,
                        help="run only these configurations (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1337], metavar="S",
                        help="one run per seed for each configuration, named <config>_seed<S> (default: 1337)")
    parser.add_argument("--time-budget", dest="minutes", type=float, default=None, metavar="MINUTES",
                        help=f"training budget per run, passed as --time-budget (default: {minutes:g}; 2 with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help=f"most epochs per run (default: {epochs}; 1 with --quick)")
    parser.add_argument("--extra-train-args", default="", metavar="ARGS",
                        help="more flags for every train command, one shell-quoted string (single flag: use the = form)")
    parser.add_argument("--rerun", action="store_true", help="run again even when an identical earlier run succeeded")
    parser.add_argument("--quick", action="store_true", help=f"{quick_help}; results in {benchmark}_quick*")
    parser.add_argument("--data", type=Path, default=None, help=data_help)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the train command (default: this one)")
    parser.add_argument("--summary-only", action="store_true", help="run nothing; rebuild and print the summary")
    return parser


def layout(benchmark, quick):
    """Where a benchmark keeps its per-run results, summary files and run directories."""
    from shared.paths import default_runs_dir

    name = f"{benchmark}_quick" if quick else benchmark
    return {"name": name, "results": RESULTS_DIR / name, "summary_json": RESULTS_DIR / f"{name}.json",
            "summary_md": RESULTS_DIR / f"{name}.md", "runs": (default_runs_dir() / f"benchmark_{name}").resolve()}


def reusable(path, command, train_code):
    """Whether ``path`` records a successful run of this exact command on this exact code."""
    record = read_record(path) if path.exists() else None
    return bool(isinstance(record, dict) and record.get("ok") and record.get("command") == command
                and record.get("train_sources_sha256") == train_code)


def run_configuration(benchmark, script, name, description, command, paths, train_code, extra=None):
    """Run one train command and write its record (``<name>.json``) beside its log.

    The record holds the command, machine, versions, code digests, the run's own
    ``metrics.json`` (only if this run wrote it) and per-epoch timings; ``extra(metrics)``
    adds app-specific fields.
    """
    from shared.atomic import write_json
    from shared.environment import machine, package_versions

    run_dir = Path(command[command.index("--run-dir") + 1])
    log_path = paths["results"] / f"{name}.log"
    record = {"benchmark": benchmark, "configuration": name, "description": description, "command": command,
              "command_shell": shlex.join(command), "date": now_iso(), "machine": machine(),
              "versions": package_versions(), "code": code_version(script), "train_sources_sha256": train_code,
              "load_average_before": load_average(), "log": display_path(log_path)}
    print(f"\n=== {name}: {description}\n$ {shlex.join(command)}", flush=True)
    launched = time.time()
    status, wall, timeline = run_train_command(command, log_path, {**os.environ, "PYTHONUNBUFFERED": "1"})
    metrics = fresh_metrics(run_dir, launched)
    record.update(finished=now_iso(), exit_status=status, wall_seconds=round(wall, 1),
                  load_average_after=load_average())
    if status != 0 or not isinstance(metrics, dict):
        record.update(ok=False, log_tail=log_tail(log_path, 60))
        print(f"error: {name} failed (exit status {status}); see {display_path(log_path)}", file=sys.stderr)
    else:
        record.update(ok=True, app_metrics=metrics, per_epoch=per_epoch(read_history(run_dir), timeline),
                      **(extra(metrics) if extra else {}))
    write_json(paths["results"] / f"{name}.json", record)
    return record


def read_records(paths):
    """Every configuration record in the results folder, failed ones included."""
    if not paths["results"].is_dir():
        return []
    records = [read_record(path) for path in sorted(paths["results"].glob("*.json"))]
    return [record for record in records if isinstance(record, dict) and "configuration" in record]


def cli(main, argv=None):
    """Run ``main(argv)`` and exit: a BenchmarkError is one line and status 2, Ctrl-C 130."""
    try:
        status = main(argv)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)
