"""Quality benchmark for the sentiment app on the official IMDB split (not part of CI).

Requirement: trained on the official IMDB train split in ``../shared/data/sentiment`` and
evaluated on the official test split, the app reaches a test accuracy of at least 0.88
(goal 0.90) within 30 minutes of training on a 2-core machine, reported beside a
majority-class baseline and a bag-of-words baseline.

The script runs the real train command (``python -m apps.sentiment.train``) as a
subprocess with a time budget, streams its output to the console and to a log file, reads
the run's ``metrics.json``, computes the two baselines on exactly the same splits, and
writes everything to a JSON results file:

    python -m benchmarks.sentiment_imdb --quick        # smoke check: 2,000 reviews, 2 minutes
    python -m benchmarks.sentiment_imdb                # the real benchmark: 30 minutes
    python -m benchmarks.sentiment_imdb --extra-train-args "--max-length 300 --batch-size 64"

The data are found with ``shared.paths.shared_data_dir()`` (``../shared/data`` or
``$SEQAPPS_SHARED_DATA``); the script exits with status 2 when they are absent.
"""

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/sentiment_imdb.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import (REPO_ROOT, RESULTS_DIR, BenchmarkError, code_version, load_average,  # noqa: E402
                               now_iso, per_epoch, read_history, run_train_command)
from shared.paths import default_runs_dir  # noqa: E402
from shared.atomic import write_json  # noqa: E402
from shared.environment import machine, package_versions  # noqa: E402

MINIMUM_ACCURACY = 0.88
TARGET_ACCURACY = 0.90
DATA_FILES = ("imdb_train.csv.gz", "imdb_test.csv.gz")
DEFAULT_OUT = RESULTS_DIR / "sentiment_imdb.json"
QUICK_OUT = RESULTS_DIR / "sentiment_imdb_quick.json"
QUICK_LIMIT, QUICK_MINUTES = 2000, 2.0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sentiment_imdb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=None,
                        help=f"training time budget in minutes, passed as --time-budget (default: 30; "
                             f"{QUICK_MINUTES:g} with --quick)")
    parser.add_argument("--epochs", type=int, default=20,
                        help="most epochs; the time budget (or early stopping) normally ends training first "
                             "(default: %(default)s)")
    parser.add_argument("--extra-train-args", default="", metavar="ARGS",
                        help="more flags for the train command, as one shell-quoted string, e.g. "
                             "\"--max-length 300 --batch-size 64\"; a single flag needs the = form: "
                             "--extra-train-args=--freeze-embeddings")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results JSON; the log goes beside it with a .log suffix (default: "
                             f"{DEFAULT_OUT.relative_to(REPO_ROOT)}; {QUICK_OUT.relative_to(REPO_ROOT)} "
                             f"with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke check: --limit {QUICK_LIMIT} and {QUICK_MINUTES:g} minutes, results in "
                             f"{QUICK_OUT.name} (numbers are meaningless, only checks the pipeline)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="train on at most N reviews (validation and test shrink in proportion); "
                             f"default: all, {QUICK_LIMIT} with --quick")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding imdb_train.csv.gz and imdb_test.csv.gz "
                             "(default: <shared data>/sentiment, i.e. ../shared/data/sentiment or "
                             "$SEQAPPS_SHARED_DATA/sentiment)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="the train command's run directory, started fresh each time (default: "
                             "<runs>/benchmark_<name of --out>, e.g. runs/benchmark_sentiment_imdb; "
                             "<runs> is runs/ or $SEQAPPS_RUNS_DIR)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache folder for the shared word2vec vectors, passed as $SEQAPPS_CACHE "
                             "(default: the usual cache, cache/ or $SEQAPPS_CACHE)")
    parser.add_argument("--seed", type=int, default=1337,
                        help="seed for the splits, the model and the baseline (default: %(default)s)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter that runs the train command (default: this one)")
    parser.add_argument("--bow-features", type=int, default=20000,
                        help="bag-of-words baseline: most frequent train tokens kept, per n-gram order "
                             "(default: %(default)s)")
    parser.add_argument("--bow-ngrams", type=int, choices=(1, 2), default=2,
                        help="bag-of-words baseline: 1 for unigrams, 2 for unigrams + bigrams "
                             "(default: %(default)s)")
    parser.add_argument("--bow-epochs", type=int, default=20,
                        help="bag-of-words baseline: most epochs of logistic regression; the best "
                             "validation epoch is kept (default: %(default)s)")
    parser.add_argument("--skip-bow", action="store_true",
                        help="leave out the bag-of-words baseline (the majority baseline is still computed)")
    return parser


# ---------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------


def find_data(data):
    """The folder holding the official split, or a BenchmarkError saying where to put it."""
    return common.find_data("sentiment", DATA_FILES, data, what="the IMDB data",
                            hint="the official split as imdb_train.csv.gz / imdb_test.csv.gz; "
                                 "see ../shared/data/sentiment/SOURCE.md")


# ---------------------------------------------------------------------------------------
# The real train command
# ---------------------------------------------------------------------------------------


def train_command(args, data, run_dir, export_dir):
    command = [args.python, "-m", "apps.sentiment.train", "--data", str(data),
               "--time-budget", f"{args.minutes:g}", "--epochs", str(args.epochs),
               "--seed", str(args.seed), "--run-dir", str(run_dir), "--fresh",
               "--export-dir", str(export_dir), "--verbose", "2"]
    if args.limit:
        command += ["--limit", str(args.limit)]
    return command + shlex.split(args.extra_train_args)


# ---------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------


def majority_baseline(splits):
    import collections

    counts = collections.Counter(example.label for example in splits.train)
    label = max(sorted(counts), key=counts.__getitem__)
    correct = sum(example.label == label for example in splits.test)
    return {"label": label, "train_label_counts": dict(sorted(counts.items())),
            "test_accuracy": correct / len(splits.test)}


def _bigrams(tokens):
    return [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]  # tokens never hold spaces


def bag_of_words_baseline(splits, *, features, ngrams, epochs, seed, log=print):
    """Binary n-gram presence + logistic regression (one sigmoid unit, Adam), trained on train,
    the best validation epoch kept, evaluated on test; returns accuracies and timings."""
    import numpy as np

    from shared.text import Vocabulary, tokenize

    started = time.perf_counter()
    tokens = {name: [tokenize(e.text) for e in getattr(splits, name)]
              for name in ("train", "validation", "test")}
    tokenize_seconds = time.perf_counter() - started

    started = time.perf_counter()
    skip = 4  # [PAD], [UNK], [BOS], [EOS]: not features
    vocabularies = [Vocabulary.build(tokens["train"], max_size=features + skip)]
    if ngrams == 2:
        vocabularies.append(Vocabulary.build((_bigrams(t) for t in tokens["train"]), max_size=features + skip))
    offsets = np.cumsum([0] + [len(v) - skip for v in vocabularies])
    width = int(offsets[-1])

    def features_of(token_lists):
        rows, cols = [], []
        for row, toks in enumerate(token_lists):
            ids = set()
            for vocabulary, offset, grams in zip(vocabularies, offsets, (toks, _bigrams(toks))):
                ids.update(offset + i - skip for i in vocabulary.ids(grams) if i >= skip)
            rows.extend([row] * len(ids))
            cols.extend(sorted(ids))
        return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), len(token_lists)

    labels = sorted({e.label for e in splits.train})
    encoded = {name: (features_of(tokens[name]),
                      np.asarray([labels.index(e.label) for e in getattr(splits, name)], dtype=np.float32))
               for name in tokens}
    featurize_seconds = time.perf_counter() - started
    del tokens

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)

    def dataset(name, batch_size=256, shuffle=False):
        (rows, cols, count), y = encoded[name]
        sparse = tf.sparse.reorder(tf.SparseTensor(np.stack([rows, cols], axis=1), tf.ones(len(rows)),
                                                   [count, width]))
        data = tf.data.Dataset.from_tensor_slices((sparse, y))
        if shuffle:
            data = data.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        return data.batch(batch_size).map(lambda x, t: (tf.sparse.to_dense(x), t)).prefetch(2)

    train, validation, test = dataset("train", shuffle=True), dataset("validation"), dataset("test")
    model = keras.Sequential([keras.Input(shape=(width,)), keras.layers.Dense(1, activation="sigmoid")],
                             name="bag_of_words_logistic_regression")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    started = time.perf_counter()
    history = model.fit(train, validation_data=validation, epochs=epochs, callbacks=[stop], verbose=2)
    fit_seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(test, verbose=0)
    val_loss, val_accuracy = model.evaluate(validation, verbose=0)
    best_epoch = int(np.argmin(history.history["val_loss"])) + 1
    log(f"bag-of-words: test accuracy {test_accuracy:.4f} (best epoch {best_epoch} of {len(history.epoch)}, "
        f"fit {fit_seconds:.1f} s, {width:,} features)")
    return {
        "method": (f"binary presence of the {features:,} most frequent train unigrams"
                   + (f" + {features:,} most frequent train bigrams" if ngrams == 2 else "")
                   + " (shared.text.tokenize, Vocabulary.build); logistic regression = keras Dense(1, "
                     "sigmoid), Adam 1e-3, batch 256, best validation-loss epoch kept"),
        "features": width,
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "validation_accuracy": float(val_accuracy),
        "epochs_run": len(history.epoch),
        "best_epoch": best_epoch,
        "history": {key: [round(float(v), 5) for v in values] for key, values in history.history.items()},
        "train_seconds": round(fit_seconds, 1),
        "featurize_seconds": round(featurize_seconds, 1),
        "tokenize_seconds": round(tokenize_seconds, 1),
    }


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def print_table(results):
    model, baselines = results["model"], results["baselines"]
    bow = baselines.get("bag_of_words")
    test_size = results["data"]["sizes"]["test"]
    rows = [("BiLSTM app (apps.sentiment.train)", model["test_accuracy"],
             f"{model['train_seconds'] / 60:.1f} min, {model['epochs_run']} epoch(s)")]
    if bow:
        rows.append(("bag-of-words logistic regression", bow["test_accuracy"],
                     f"{bow['train_seconds'] / 60:.1f} min, {bow['epochs_run']} epoch(s)"))
    rows.append((f"majority class ({baselines['majority_class']['label']})",
                 baselines["majority_class"]["test_accuracy"], "-"))
    print()
    print(f"IMDB sentiment, official test split ({test_size:,} reviews)"
          + ("  [QUICK SMOKE RUN: numbers mean nothing]" if results["quick"] else ""))
    print(f"  {'model':<36} {'test acc':>8}   training")
    for name, accuracy, training in rows:
        print(f"  {name:<36} {accuracy:>8.4f}   {training}")
    goal = results["goal"]
    verdict = ("GOAL MET" if goal["target_met"] else "MINIMUM MET" if goal["minimum_met"] else "NOT MET")
    print(f"requirement: test accuracy >= {MINIMUM_ACCURACY} (goal {TARGET_ACCURACY}) within "
          f"{results['time_budget_minutes']:g} min of training: {verdict}")
    print(f"results: {results['results_file']}\nlog:     {results['log']}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.quick:
        args.limit = args.limit or QUICK_LIMIT
        args.minutes = args.minutes if args.minutes is not None else QUICK_MINUTES
    args.minutes = 30.0 if args.minutes is None else args.minutes
    if args.minutes <= 0 or args.epochs < 1:
        raise BenchmarkError("--minutes must be positive and --epochs at least 1")
    out = Path(args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)).resolve()
    log_path = out.with_suffix(".log")
    data = find_data(args.data).resolve()
    run_dir = Path(args.run_dir or default_runs_dir() / f"benchmark_{out.stem}").resolve()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.cache:
        env["SEQAPPS_CACHE"] = str(args.cache.resolve())

    begun, wall_started = now_iso(), time.monotonic()
    load_at_start, code = load_average(), code_version(__file__)
    export_dir = Path(tempfile.mkdtemp(prefix="seqapps-benchmark-export-"))
    try:
        command = train_command(args, data, run_dir, export_dir)
        print(f"$ {shlex.join(command)}\n(log: {common.display_path(log_path)})", flush=True)
        status, train_wall, timeline = run_train_command(command, log_path, env)
    finally:
        shutil.rmtree(export_dir, ignore_errors=True)
    if status != 0:
        print(f"error: the train command failed with exit status {status}; see {log_path}", file=sys.stderr)
        return 1
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.exists():
        print(f"error: the train command wrote no {metrics_path}; see {log_path}", file=sys.stderr)
        return 1
    import json

    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))

    from apps.sentiment.data import load_splits

    print("\nbaselines on the same splits", flush=True)
    splits = load_splits(str(data), seed=args.seed, limit=args.limit)
    sizes = {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test)}
    if sizes != metrics.get("sizes"):
        raise BenchmarkError(f"the baselines' splits {sizes} differ from the train command's {metrics.get('sizes')}")
    baselines = {"majority_class": majority_baseline(splits)}
    print(f"majority class ({baselines['majority_class']['label']}): test accuracy "
          f"{baselines['majority_class']['test_accuracy']:.4f}", flush=True)
    bow_wall = None
    if not args.skip_bow:
        started = time.monotonic()
        baselines["bag_of_words"] = bag_of_words_baseline(splits, features=args.bow_features, ngrams=args.bow_ngrams,
                                                          epochs=args.bow_epochs, seed=args.seed)
        bow_wall = time.monotonic() - started

    training, test = metrics["training"], metrics["test"]
    budget_seconds = args.minutes * 60
    within_budget = training["train_seconds"] <= budget_seconds or training["stopped_by_time_budget"]
    setup = timeline["first_epoch_started_s"]
    results = {
        "benchmark": "sentiment_imdb",
        "quick": bool(args.quick),
        "date": begun,
        "finished": now_iso(),
        "machine": machine(),
        "load_average": {"start": load_at_start, "end": load_average()},
        "versions": package_versions(),
        "code": code,
        "data": {"folder": str(data), "source": metrics.get("data"), "sizes": metrics.get("sizes"),
                 "limit": args.limit, "seed": args.seed,
                 "note": "official 25,000/25,000 train/test split; the app holds out 10% of train for validation"},
        "train_command": command,
        "train_command_shell": shlex.join(command),
        "time_budget_minutes": args.minutes,
        "model": {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "test_confusion_matrix": test.get("confusion_matrix"),
            "validation_accuracy": metrics.get("validation", {}).get("accuracy"),
            "train_seconds": training["train_seconds"],
            "epochs_run": training["epochs_run"],
            "best_epoch": training.get("best_epoch"),
            "stopped_by_time_budget": training["stopped_by_time_budget"],
            "seconds_past_budget": round(max(0.0, training["train_seconds"] - budget_seconds), 1),
            "per_epoch": per_epoch(read_history(run_dir), timeline),
            "embedding_coverage": metrics.get("embedding_coverage"),
        },
        "baselines": baselines,
        "app_majority_baseline_accuracy": test.get("majority_baseline_accuracy"),
        "goal": {
            "minimum_accuracy": MINIMUM_ACCURACY,
            "target_accuracy": TARGET_ACCURACY,
            "within_time_budget": bool(within_budget),
            "minimum_met": bool(test["accuracy"] >= MINIMUM_ACCURACY and within_budget),
            "target_met": bool(test["accuracy"] >= TARGET_ACCURACY and within_budget),
            "note": "the budget is the app's --time-budget: it stops after the first batch past the budget, "
                    "then validates that (partial) epoch, so train_seconds can pass the budget by one "
                    "validation pass; setup before the first epoch (reading, tokenizing, word2vec) is not "
                    "counted in train_seconds, see wall_seconds",
        },
        "wall_seconds": {
            "train_command": round(train_wall, 1),
            "before_first_epoch": setup,
            "after_training": (round(train_wall - setup - training["train_seconds"], 1)
                               if setup is not None else None),
            "bag_of_words_baseline": round(bow_wall, 1) if bow_wall is not None else None,
            "total": round(time.monotonic() - wall_started, 1),
        },
        "log": common.display_path(log_path),
        "run_dir": common.display_path(run_dir),
        "results_file": common.display_path(out),
        "app_metrics": metrics,
    }
    write_json(out, results)  # a temporary file, then os.replace
    print_table(results)
    return 0


def cli(argv=None):
    common.cli(main, argv)


if __name__ == "__main__":
    cli()
