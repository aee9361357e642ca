"""Quality benchmark for the textgen language model on IMDB review text (not part of CI).

Goal: within the time budget (default 45 minutes of training on a 2-core machine) the
recurrent model's validation and test perplexity per token is at most 0.8 times that of
an interpolated Kneser-Ney trigram trained on the same training documents, with the same
vocabulary and ``[UNK]`` mapping, scored on the same targets (the train command computes
both; see ``apps/textgen/baseline.py``).

The reviews of ``imdb_train.csv.gz`` and ``imdb_test.csv.gz`` in ``../shared/data/sentiment``
(labels ignored) are written once, one review per line, to a gzipped text file in the
cache; the real train command (``python -m apps.textgen.train``) then splits them by a
seeded hash of each review and trains with ``--time-budget``:

    python -m benchmarks.textgen_imdb --quick          # smoke check: 3,000 reviews, ~2 minutes
    python -m benchmarks.textgen_imdb                  # the real benchmark: 45 minutes
    python -m benchmarks.textgen_imdb --extra-train-args "--cell gru --units 512"

Results (JSON) and the train command's log go to ``benchmarks/results/``.
"""

import argparse
import csv
import gzip
import os
import shlex
import sys
import time
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/textgen_imdb.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import (RESULTS_DIR, BenchmarkError, code_version, load_average, now_iso,  # noqa: E402
                               per_epoch, read_history, run_train_command)
from shared.atomic import write_json  # noqa: E402
from shared.datasets import csv_rows, open_text  # noqa: E402
from shared.environment import machine, package_versions  # noqa: E402
from shared.paths import cache_dir, default_runs_dir  # noqa: E402

GOAL_RATIO = 0.8
DATA_FILES = ("imdb_train.csv.gz", "imdb_test.csv.gz")
DEFAULT_OUT = RESULTS_DIR / "textgen_imdb.json"
QUICK_OUT = RESULTS_DIR / "textgen_imdb_quick.json"
QUICK_DOCUMENTS, QUICK_MINUTES = 3000, 1.5
# A model that fits 45 CPU minutes: the softmax over the vocabulary dominates each step.
DEFAULT_TRAIN_ARGS = ("--vocab-size", "10000", "--min-count", "3", "--layers", "2", "--units", "256",
                      "--window", "64", "--batch-size", "64", "--dropout", "0.1", "--learning-rate", "2e-3",
                      "--validation-fraction", "0.04", "--test-fraction", "0.04")
QUICK_TRAIN_ARGS = ("--vocab-size", "5000", "--layers", "1", "--units", "128", "--window", "48",
                    "--batch-size", "32", "--validation-fraction", "0.1", "--test-fraction", "0.1")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.textgen_imdb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                        help=f"training time budget, passed to the train command (default: 45; {QUICK_MINUTES:g} with --quick)")
    parser.add_argument("--epochs", type=int, default=20, help="most epochs; the budget normally ends training first (default: %(default)s)")
    parser.add_argument("--documents", type=int, default=None, metavar="N",
                        help=f"use the first N reviews only (default: all 50,000; {QUICK_DOCUMENTS:,} with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke check: few reviews, a small model, a short budget (numbers mean little)")
    parser.add_argument("--extra-train-args", default="", metavar="ARGS", help="more flags for the train command, one shell-quoted string; later flags win")
    parser.add_argument("--data", type=Path, default=None, help="folder holding imdb_train.csv.gz and imdb_test.csv.gz (default: <shared data>/sentiment)")
    parser.add_argument("--out", type=Path, default=None, help="results JSON; the log goes beside it with a .log suffix")
    parser.add_argument("--run-dir", type=Path, default=None, help="the train command's run directory (default: <runs>/benchmark_<name of --out>)")
    parser.add_argument("--seed", type=int, default=1337, help="seed for the split and the model (default: %(default)s)")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs the train command (default: this one)")
    return parser


def find_data(data):
    return common.find_data("sentiment", DATA_FILES, data, what="the IMDB data",
                            hint="imdb_train.csv.gz / imdb_test.csv.gz with a 'review' column; "
                                 "see ../shared/data/sentiment/SOURCE.md")


def reviews(path):
    """The ``review`` column of one IMDB CSV, each review on one line."""
    with open_text(path, newline="") as handle:
        rows = csv_rows(path, csv.reader(handle))
        _, header = next(rows)
        if "review" not in header:
            raise BenchmarkError(f"{path}: no 'review' column in the header {header}")
        column = header.index("review")
        for _, row in rows:
            text = " ".join(row[column].split())
            if text:
                yield text


def review_text(data, documents):
    """A gzipped text file of the reviews (written once per document count, in the cache)."""
    target = cache_dir() / "benchmarks" / "textgen_imdb" / f"reviews-{documents or 'all'}.txt.gz"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    count = 0
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        for name in DATA_FILES:
            for text in reviews(data / name):
                if documents and count >= documents:
                    break
                out.write(text + "\n")
                count += 1
    os.replace(partial, target)
    print(f"wrote {count:,} reviews to {target}", flush=True)
    return target


def train_command(args, text, run_dir):
    command = [args.python, "-m", "apps.textgen.train", "--data", str(text), "--time-budget", f"{args.time_budget:g}",
               "--epochs", str(args.epochs), "--seed", str(args.seed), "--run-dir", str(run_dir), "--fresh",
               "--no-export", "--verbose", "2"]
    return command + list(QUICK_TRAIN_ARGS if args.quick else DEFAULT_TRAIN_ARGS) + shlex.split(args.extra_train_args)


def summary(metrics):
    rows = {}
    for split in ("validation", "test"):
        entry = metrics[split]
        rows[split] = {"model_perplexity": entry["model"]["perplexity"],
                       "kn_trigram_perplexity": entry["kn_trigram"]["perplexity"],
                       "ratio": entry["perplexity_ratio"], "targets": entry["model"]["tokens"]}
    return rows


def print_table(results):
    print()
    print("IMDB review text, perplexity per token" + ("  [QUICK SMOKE RUN: numbers mean little]" if results["quick"] else ""))
    print(f"  {'split':<11} {'RNN':>9} {'KN-3':>9} {'ratio':>7} {'targets':>10}")
    for split, row in results["perplexity"].items():
        print(f"  {split:<11} {row['model_perplexity']:>9.2f} {row['kn_trigram_perplexity']:>9.2f} "
              f"{row['ratio']:>7.3f} {row['targets']:>10,}")
    verdict = "GOAL MET" if results["goal"]["met"] else "NOT MET"
    print(f"goal: ratio <= {GOAL_RATIO} on validation and test within {results['time_budget_minutes']:g} min: {verdict}")
    print(f"results: {results['results_file']}\nlog:     {results['log']}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.quick:
        args.documents = args.documents or QUICK_DOCUMENTS
    args.time_budget = args.time_budget if args.time_budget is not None else (QUICK_MINUTES if args.quick else 45.0)
    if args.time_budget <= 0 or args.epochs < 1:
        raise BenchmarkError("--time-budget must be positive and --epochs at least 1")
    out = Path(args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)).resolve()
    log_path = out.with_suffix(".log")
    run_dir = Path(args.run_dir or default_runs_dir() / f"benchmark_{out.stem}").resolve()
    text = review_text(find_data(args.data).resolve(), args.documents)

    begun, started, load_at_start = now_iso(), time.monotonic(), load_average()
    command = train_command(args, text, run_dir)
    print(f"$ {shlex.join(command)}\n(log: {common.display_path(log_path)})", flush=True)
    status, wall, timeline = run_train_command(command, log_path, {**os.environ, "PYTHONUNBUFFERED": "1"})
    metrics = common.fresh_metrics(run_dir, started - 1)
    if status != 0 or metrics is None:
        print(f"error: the train command failed (exit status {status}) or wrote no metrics; see {log_path}",
              file=sys.stderr)
        return 1
    perplexity = summary(metrics)
    training = metrics["training"]
    results = {
        "benchmark": "textgen_imdb", "quick": bool(args.quick), "date": begun, "finished": now_iso(),
        "machine": machine(), "load_average": {"start": load_at_start, "end": load_average()},
        "versions": package_versions(), "code": code_version(__file__),
        "data": {"text": str(text), "documents": args.documents or "all", "sizes": metrics["sizes"],
                 "source": "the review column of imdb_train.csv.gz then imdb_test.csv.gz; labels unused; "
                           "split by the app's seeded hash of each review"},
        "train_command": command, "time_budget_minutes": args.time_budget,
        "perplexity": perplexity,
        "model": {"config": metrics.get("model"), "level": metrics.get("level"),
                  "vocabulary_size": metrics.get("vocabulary_size"), "train_seconds": training["train_seconds"],
                  "epochs_run": training["epochs_run"], "stopped_by_time_budget": training["stopped_by_time_budget"],
                  "per_epoch": per_epoch(read_history(run_dir), timeline)},
        "baseline": metrics.get("baseline"),
        "goal": {"ratio_at_most": GOAL_RATIO,
                 "met": all(row["ratio"] <= GOAL_RATIO for row in perplexity.values())},
        "wall_seconds": {"train_command": round(wall, 1), "before_first_epoch": timeline["first_epoch_started_s"]},
        "greedy_samples": metrics.get("greedy_samples"),
        "log": common.display_path(log_path), "run_dir": common.display_path(run_dir),
        "results_file": common.display_path(out),
    }
    write_json(out, results)
    print_table(results)
    return 0


def cli(argv=None):
    common.cli(main, argv)


if __name__ == "__main__":
    cli()
