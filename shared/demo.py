"""The job behind `make demo`: train every app on its offline default data and export it.

Each app runs as its own process (python -m apps.<app>.train), exactly the command a
user would type, after the shared word2vec vectors are built once for all of them. At the
end a table shows each app's test metric and export, and one prediction per runtime.
"""

import argparse
import functools
import json
import shlex
import subprocess
import sys
import time

from shared.errors import SeqappsError, run_cli
from shared.paths import REPO_ROOT, default_export_dir, default_runs_dir

APPS = {
    "sentiment": {"metric": ("test", "accuracy"), "example": ["A moving, beautifully acted film.",
                                                              "Dull, predictable and far too long."]},
    "ner": {"metric": ("test", "overall", "f1"), "label": "test entity F1",
            "example": ["Maria Lopez joined the Bank of England in New York last week ."]},
    "stocks": {"metric": ("test", "horizon_1", "model_vs_persistence", "rmse_ratio"),
               "label": "test RMSE / persistence", "example": ["matplotlib:goog"]},
}


def run(command):
    print(f"\n$ {shlex.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise SeqappsError(f"`{shlex.join(command)}` failed with exit status {result.returncode}")
    return time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.demo", description=__doc__)
    parser.add_argument("--apps", nargs="+", choices=sorted(APPS), default=sorted(APPS),
                        help="apps to train (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="override each app's default epochs")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    args = parser.parse_args(argv)
    python = sys.executable
    run([python, "-m", "shared.embeddings"])
    summary = []
    for app in args.apps:
        command = [python, "-m", f"apps.{app}.train", "--verbose", "2", "--fresh",
                   "--run-dir", str(default_runs_dir() / "demo" / app)]
        if args.epochs:
            command += ["--epochs", str(args.epochs)]
        seconds = run(command)
        for runtime in ("savedmodel", "onnx"):
            run([python, "-m", f"apps.{app}.predict", "--runtime", runtime, *APPS[app]["example"]])
        metrics = json.loads((default_runs_dir() / "demo" / app / "metrics.json").read_text())
        value = functools.reduce(lambda part, key: part[key], APPS[app]["metric"], metrics)
        label = APPS[app].get("label", " ".join(APPS[app]["metric"]))
        manifest = json.loads((default_export_dir() / app / "manifest.json").read_text())
        summary.append((app, f"{label} {value:.3f}", manifest["model_version"], seconds))
    print("\napp          metric (demo data)        export version   train+export")
    for app, metric, version, seconds in summary:
        print(f"{app:<12} {metric:<25} {version:<16} {seconds:.0f} s")
    print(f"\nexports and TensorFlow Serving config: {default_export_dir()} (see exported/README.md)")
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
