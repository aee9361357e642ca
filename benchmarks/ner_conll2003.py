"""Quality benchmark for the NER app on CoNLL-2003 English (not part of CI).

Requirement: trained on the CoNLL-2003 English train split (the valid split for early
stopping) from ``../shared/data/ner/conll2003``, the named-entity tagger reaches an entity F1
(conlleval) on the test split of at least 0.87 (goal 0.90) within 45 minutes of training on
this 2-core machine. Reported as mean and spread over 3 seeds, with an ablation: without the
CRF, without the character features, and with random instead of word2vec embeddings.

Configurations, each one run of the real train command (``python -m apps.ner.train``), run
one after the other:

    full_seed1337, full_seed1338, full_seed1339   the default model; seeds from --seeds
    no_crf              --no-crf                  (seed 1337)
    no_char_features    --no-char-features        (seed 1337)
    random_embeddings   --embeddings none         (seed 1337)

Each run writes its log and its result file to ``benchmarks/results/ner_conll2003/<name>.log``
and ``<name>.json``. A configuration whose result file already holds a successful run of the
same train command with the same code is reused, so the benchmark can be run in pieces. The
summary (``benchmarks/results/ner_conll2003.json`` and ``.md``) is rebuilt afterwards from
every result file present; its numbers are read from the runs' ``metrics.json`` only.

    python -m benchmarks.ner_conll2003 --quick                 # smoke check, a few minutes
    python -m benchmarks.ner_conll2003                          # all six: up to 45 min training each
    python -m benchmarks.ner_conll2003 --only full_seed1337 no_crf
    python -m benchmarks.ner_conll2003 --summary-only           # rebuild the summary, run nothing

The data are found with ``shared.paths.shared_data_dir()`` (``../shared/data`` or
``$SEQAPPS_SHARED_DATA``); the script exits with status 2 when they are absent.
"""

import argparse
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/ner_conll2003.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import (REPO_ROOT, RESULTS_DIR, BenchmarkError, code_version, display_path,  # noqa: E402
                               fresh_metrics, load_average, log_tail, now_iso, per_epoch, read_history,
                               read_record, run_train_command, sources_digest)
from shared.atomic import write_json, write_text  # noqa: E402
from shared.environment import machine, package_versions  # noqa: E402
from shared.paths import default_runs_dir  # noqa: E402

BENCHMARK = "ner_conll2003"
MINIMUM_F1 = 0.87
TARGET_F1 = 0.90
REQUIRED_MINUTES = 45.0
REQUIRED_SEEDS = 3
DEFAULT_SEEDS = (1337, 1338, 1339)
ABLATION_SEED = 1337
DEFAULT_EPOCHS = 40
DATA_FILES = ("train.txt", "valid.txt", "test.txt")
QUICK_LIMIT, QUICK_MINUTES, QUICK_EPOCHS = 1000, 1.0, 2
# What the train command runs: a change here makes earlier results stale (the benchmark
# scripts themselves do not, so editing the report never forces a 45-minute rerun).
TRAIN_SOURCES = ("apps/__init__.py", "apps/ner", "shared")
ABLATIONS = {
    "no_crf": (["--no-crf"], "without the CRF: an independent softmax per token"),
    "no_char_features": (["--no-char-features"], "without the character CNN"),
    "random_embeddings": (["--embeddings", "none"], "random instead of word2vec embeddings"),
}
LOG_TAIL_LINES = 60
REQUIREMENT = " ".join((__doc__ or "").split("\n\n")[1].split()).removeprefix("Requirement: ")
TRAINING_TIME_RULE = (
    f"training time is the app's train_seconds (the fit loop with its per-epoch validation; reading the data, "
    f"word2vec and the final test scoring are not counted); a run counts as within {REQUIRED_MINUTES:g} min when "
    f"train_seconds <= {REQUIRED_MINUTES * 60:,.0f}, or when a time budget of at most {REQUIRED_MINUTES:g} min "
    "stopped it: the app stops on the first batch past the budget and then validates that partial epoch, so "
    "train_seconds can pass the budget by one validation pass (training.seconds_past_budget in each per-run "
    "file says by how much)")


def configurations(seeds):
    """Name -> kind, seed, extra train flags and a description, in the order they run."""
    configs = {}
    for seed in seeds:
        configs[f"full_seed{seed}"] = {"kind": "full", "seed": seed, "flags": [],
                                       "description": f"the default model, seed {seed}"}
    for name, (flags, description) in ABLATIONS.items():
        configs[name] = {"kind": "ablation", "seed": ABLATION_SEED, "flags": list(flags),
                         "description": description}
    return configs


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ner_conll2003", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="run only these configurations (names above; default: all six)")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS), metavar="S",
                        help="seeds of the full-model runs, one run each, named full_seed<S> (default: "
                             f"{' '.join(map(str, DEFAULT_SEEDS))}); the ablations keep seed {ABLATION_SEED}")
    parser.add_argument("--time-budget", "--minutes", dest="minutes", type=float, default=None, metavar="MINUTES",
                        help=f"training time budget per run, passed as --time-budget (default: {REQUIRED_MINUTES:g}; "
                             f"{QUICK_MINUTES:g} with --quick)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"most epochs per run; the time budget or early stopping normally ends training "
                             f"first (default: {DEFAULT_EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--extra-train-args", default="", metavar="ARGS",
                        help="more flags for every train command, as one shell-quoted string, e.g. "
                             "\"--units 200 --w2v-corpus news.txt.gz\"; a single flag needs the = form: "
                             "--extra-train-args=--freeze-embeddings. They change the command, so earlier "
                             "results are not reused; consider --name for a separate result set")
    parser.add_argument("--rerun", action="store_true",
                        help="run every selected configuration again, even when its result file already holds "
                             "a successful run of the same command with the same code (default: reuse it; "
                             "failed runs are always run again)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke check: --limit {QUICK_LIMIT} train sentences, {QUICK_MINUTES:g}-minute budget, "
                             f"{QUICK_EPOCHS} epochs; results under benchmarks/results/{BENCHMARK}_quick/ and "
                             f"{BENCHMARK}_quick.json/.md, run directories under <runs>/benchmark_ner_quick/ "
                             "(numbers are meaningless, only checks the pipeline)")
    parser.add_argument("--name", default=None,
                        help=f"name of the result set: per-run files in benchmarks/results/NAME/, the summary in "
                             f"NAME.json and NAME.md, run directories under <runs>/benchmark_NAME/ (default: "
                             f"{BENCHMARK}, with run directories <runs>/benchmark_ner/; {BENCHMARK}_quick with "
                             "--quick)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding train.txt, valid.txt and test.txt (default: <shared data>/ner/conll2003, "
                             "i.e. ../shared/data/ner/conll2003 or $SEQAPPS_SHARED_DATA/ner/conll2003)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache folder for the shared word2vec vectors, passed to the runs as $SEQAPPS_CACHE "
                             "(default: the usual cache, cache/ or $SEQAPPS_CACHE)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter that runs the train command (default: this one)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each selected configuration's command and whether its result would be "
                             "reused; run nothing and write nothing")
    parser.add_argument("--summary-only", action="store_true",
                        help="run nothing: rebuild the summary from the result files present and print it")
    return parser


# ---------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------


def find_data(data):
    """The CoNLL-2003 folder, or a BenchmarkError saying where to put it."""
    return common.find_data("ner/conll2003", DATA_FILES, data, what="the CoNLL-2003 English data",
                            hint="train.txt, valid.txt and test.txt in the CoNLL-2003 format; "
                                 "see ../shared/data/ner/SOURCE.md")


def layout(args):
    """Where the per-run files, the summary and the run directories go."""
    name = args.name or (f"{BENCHMARK}_quick" if args.quick else BENCHMARK)
    if not name or "/" in name or name.startswith("."):
        raise BenchmarkError(f"--name {name!r}: give a plain file name")
    runs = {BENCHMARK: "benchmark_ner", f"{BENCHMARK}_quick": "benchmark_ner_quick"}.get(name, f"benchmark_{name}")
    return {"name": name, "results": RESULTS_DIR / name, "summary_json": RESULTS_DIR / f"{name}.json",
            "summary_md": RESULTS_DIR / f"{name}.md", "runs": (default_runs_dir() / runs).resolve()}


def train_command(args, data, run_dir, config):
    command = [args.python, "-m", "apps.ner.train", "--data", str(data),
               "--time-budget", f"{args.minutes:g}", "--epochs", str(args.epochs),
               "--seed", str(config["seed"]), "--run-dir", str(run_dir), "--fresh", "--no-export",
               "--verbose", "2"]
    if args.quick:
        command += ["--limit", str(QUICK_LIMIT)]
    return command + config["flags"] + shlex.split(args.extra_train_args)


def train_code_version():
    return sources_digest([REPO_ROOT / path for path in TRAIN_SOURCES])



def reuse_verdict(path, command, train_code):
    """``(reusable, why)`` for the result file of one configuration."""
    if not path.exists():
        return False, "no earlier result"
    record = read_record(path)
    if not isinstance(record, dict):
        return False, "earlier result file unreadable"
    if not record.get("ok"):
        return False, f"earlier run failed (exit status {record.get('exit_status')})"
    if record.get("command") != command:
        return False, "earlier run used another command"
    if (record.get("code") or {}).get("train_sources_sha256") != train_code:
        return False, "the code the train command runs has changed since the earlier run"
    return True, f"same command and code as the run of {record.get('date')}"


# ---------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------


def _scores(split):
    return {"overall": split.get("overall"), "per_type": split.get("per_type"),
            "token_accuracy": split.get("token_accuracy")}


def within_requirement_time(training, budget_minutes):
    """Whether a run trained for at most 45 minutes, by :data:`TRAINING_TIME_RULE`."""
    return bool(training["train_seconds"] <= REQUIRED_MINUTES * 60
                or (training.get("stopped_by_time_budget") and budget_minutes <= REQUIRED_MINUTES))


def run_one(name, config, command, paths, args, train_code):
    run_dir = paths["runs"] / name
    log_path = paths["results"] / f"{name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.cache:
        env["SEQAPPS_CACHE"] = str(args.cache.resolve())
    record = {
        "benchmark": BENCHMARK, "result_set": paths["name"], "configuration": name, "kind": config["kind"],
        "description": config["description"], "seed": config["seed"], "config_flags": config["flags"],
        "extra_train_args": shlex.split(args.extra_train_args), "quick": bool(args.quick),
        "limit": QUICK_LIMIT if args.quick else None,
        "time_budget_minutes": args.minutes, "max_epochs": args.epochs,
        "command": command, "command_shell": shlex.join(command),
        "env": {"SEQAPPS_CACHE": env["SEQAPPS_CACHE"]} if args.cache else {},
        "date": now_iso(), "machine": machine(), "versions": package_versions(),
        "code": {**code_version(__file__), "train_sources_sha256": train_code,
                 "train_sources": ", ".join(f"{p}/**/*.py" if (REPO_ROOT / p).is_dir() else p for p in TRAIN_SOURCES),
                 "reused_when": "same command and same train_sources_sha256"},
        "load_average": {"before": load_average()},
        "log": display_path(log_path), "run_dir": display_path(run_dir),
    }
    print(f"\n=== {name}: {config['description']}\n$ {shlex.join(command)}\n(log: {display_path(log_path)})",
          flush=True)
    launched = time.time()
    try:
        status, wall, timeline = run_train_command(command, log_path, env)
    except KeyboardInterrupt:
        record.update(ok=False, exit_status=None, interrupted=True, error="interrupted by the user",
                      finished=now_iso(), log_tail=log_tail(log_path, LOG_TAIL_LINES))
        record["load_average"]["after"] = load_average()
        write_json(paths["results"] / f"{name}.json", record)
        raise
    record["load_average"]["after"] = load_average()
    record.update(finished=now_iso(), exit_status=status, timeline=timeline)
    metrics_path = run_dir / "metrics.json"
    metrics = fresh_metrics(run_dir, launched)
    if status != 0 or not isinstance(metrics, dict):
        error = (f"the train command failed with exit status {status}" if status != 0 else
                 f"the train command wrote no fresh {display_path(metrics_path)}")
        record.update(ok=False, error=error, wall_seconds={"train_command": round(wall, 1)},
                      log_tail=log_tail(log_path, LOG_TAIL_LINES))
        print(f"error: {name}: {error}; see {display_path(log_path)}", file=sys.stderr, flush=True)
        return record
    training = metrics["training"]
    setup = timeline["first_epoch_started_s"]
    record.update(
        ok=True, error=None,
        test=_scores(metrics["test"]), validation=_scores(metrics["validation"]),
        training={**training,
                  "train_minutes": round(training["train_seconds"] / 60, 2),
                  "seconds_past_budget": round(max(0.0, training["train_seconds"] - args.minutes * 60), 1),
                  "within_requirement_time": within_requirement_time(training, args.minutes)},
        sizes=metrics.get("sizes"), embedding_coverage=metrics.get("embedding_coverage"),
        wall_seconds={"train_command": round(wall, 1), "before_first_epoch": setup,
                      "after_training": (round(wall - setup - training["train_seconds"], 1)
                                         if setup is not None else None)},
        per_epoch=per_epoch(read_history(run_dir), timeline),
        app_metrics=metrics,
    )
    overall = metrics["test"]["overall"]
    print(f"--- {name}: test entity F1 {overall['f1']:.4f} (P {overall['precision']:.4f}, R {overall['recall']:.4f}), "
          f"{training['epochs_run']} epoch(s), {training['train_seconds'] / 60:.1f} min of training", flush=True)
    return record


# ---------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------


def _stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"n": len(values), "mean": statistics.mean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def _order(record):
    kinds = {"full": 0, "ablation": 1}
    ablations = list(ABLATIONS)
    name = record.get("configuration", "")
    return (kinds.get(record.get("kind"), 2), (record.get("seed") or 0) if record.get("kind") == "full" else 0,
            ablations.index(name) if name in ablations else len(ablations), name)


def _row(record, path):
    row = {"configuration": record.get("configuration"), "kind": record.get("kind"), "seed": record.get("seed"),
           "flags": record.get("config_flags", []), "extra_train_args": record.get("extra_train_args", []),
           "ok": bool(record.get("ok")), "exit_status": record.get("exit_status"),
           "error": record.get("error"), "date": record.get("date"),
           "time_budget_minutes": record.get("time_budget_minutes"),
           "train_sources_sha256": (record.get("code") or {}).get("train_sources_sha256"),
           "result_file": display_path(path)}
    if row["ok"]:
        # every number below comes from the run's own metrics.json, kept verbatim in app_metrics
        metrics = record["app_metrics"]
        test, training = metrics["test"], metrics["training"]
        row.update(
            test_f1=test["overall"]["f1"], test_precision=test["overall"]["precision"],
            test_recall=test["overall"]["recall"], validation_f1=metrics["validation"]["overall"]["f1"],
            test_per_type_f1={t: s["f1"] for t, s in test["per_type"].items()},
            epochs_run=training["epochs_run"], best_epoch=training.get("best_epoch"),
            train_minutes=training["train_seconds"] / 60,
            stopped_by_time_budget=training.get("stopped_by_time_budget"),
            within_requirement_time=within_requirement_time(training, record["time_budget_minutes"]))
    return row


def build_summary(paths, *, quick, ran=(), reused=()):
    files = sorted(paths["results"].glob("*.json")) if paths["results"].is_dir() else []
    records, unreadable = [], []
    for path in files:
        record = read_record(path)
        if isinstance(record, dict) and "configuration" in record:
            records.append((record, path))
        else:
            unreadable.append(display_path(path))
    rows = [_row(record, path) for record, path in sorted(records, key=lambda item: _order(item[0]))]
    full = [row for row in rows if row["kind"] == "full" and row["ok"]]
    failed = [row["configuration"] for row in rows if not row["ok"]]
    full_failed = [row["configuration"] for row in rows if row["kind"] == "full" and not row["ok"]]
    types = sorted({t for row in rows if row["ok"] for t in row["test_per_type_f1"]})

    full_stats = {key: _stats([row[key] for row in full])
                  for key in ("test_f1", "test_precision", "test_recall", "validation_f1", "train_minutes")}
    full_stats["per_type_test_f1"] = {t: _stats([row["test_per_type_f1"].get(t) for row in full]) for t in types}
    mean_f1 = full_stats["test_f1"]["mean"] if full_stats["test_f1"] else None

    ablations = {}
    for row in rows:
        if row["kind"] != "ablation" or not row["ok"]:
            continue
        same_seed = next((r for r in full if r["seed"] == row["seed"]), None)
        ablations[row["configuration"]] = {
            "flags": row["flags"], "seed": row["seed"], "test_f1": row["test_f1"],
            "difference_to_full_mean": row["test_f1"] - mean_f1 if mean_f1 is not None else None,
            "same_seed_full_run": same_seed["configuration"] if same_seed else None,
            "difference_to_same_seed_full_run": row["test_f1"] - same_seed["test_f1"] if same_seed else None,
            "test_per_type_f1": row["test_per_type_f1"],
        }

    all_in_time = bool(full) and all(row["within_requirement_time"] for row in full)
    met = bool(full) and not full_failed and mean_f1 >= MINIMUM_F1 and all_in_time
    goal = bool(full) and not full_failed and mean_f1 >= TARGET_F1 and all_in_time
    caveats = []
    if quick:
        caveats.append(f"QUICK SMOKE CHECK ({QUICK_LIMIT} train sentences, {QUICK_MINUTES:g}-minute budget, "
                       f"{QUICK_EPOCHS} epochs): the numbers mean nothing; it only shows that the pipeline runs")
    if len(full) < REQUIRED_SEEDS:
        caveats.append(f"only {len(full)} successful full-model run(s); the requirement asks for {REQUIRED_SEEDS} seeds")
    if full_failed:
        caveats.append(f"failed full-model run(s): {', '.join(full_failed)}")
    extra = sorted({shlex.join(row["extra_train_args"]) for row in rows if row["extra_train_args"]})
    if extra:
        caveats.append(f"runs with extra train flags: {'; '.join(extra)}")
    code_versions = sorted({row["train_sources_sha256"] or "unknown" for row in rows})
    if len(code_versions) > 1:
        caveats.append(f"the runs come from {len(code_versions)} different versions of the train code "
                       "(see each row's train_sources_sha256)")
    if unreadable:
        caveats.append(f"unreadable result files: {', '.join(unreadable)}")
    complete = len(full) >= REQUIRED_SEEDS and not full_failed and not quick
    return {
        "benchmark": BENCHMARK, "result_set": paths["name"], "quick": bool(quick), "generated": now_iso(),
        "requirement": {
            "text": REQUIREMENT,
            "minimum_test_f1": MINIMUM_F1, "target_test_f1": TARGET_F1,
            "max_training_minutes": REQUIRED_MINUTES, "seeds": REQUIRED_SEEDS,
            "training_time": TRAINING_TIME_RULE,
        },
        "verdict": {"minimum_met": met, "goal_met": goal, "mean_test_f1": mean_f1,
                    "every_full_run_within_45_min": all_in_time, "complete": complete, "caveats": caveats},
        "runs": rows,
        "failed_runs": failed,
        "full_model": {"runs": [row["configuration"] for row in full], **full_stats},
        "ablations": ablations,
        "entity_types": types,
        "train_code_versions": code_versions,
        "this_invocation": {"ran": list(ran), "reused": list(reused)},
        "per_run_results": display_path(paths["results"]),
        "source": "every number is read from the runs' metrics.json (kept verbatim as app_metrics in each "
                  "per-run result file); nothing is typed in",
    }


def _f(value, digits=4):
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value):
    return "-" if value is None else f"{value:+.4f}"


def _flags(flags):
    return f"`{shlex.join(flags)}`" if flags else "defaults"


def markdown(summary):
    lines = [f"# NER on CoNLL-2003 English: `{summary['result_set']}`", ""]
    if summary["quick"]:
        lines += ["> **QUICK SMOKE CHECK, NOT A RESULT.** "
                  f"{QUICK_LIMIT} training sentences, a {QUICK_MINUTES:g}-minute budget, {QUICK_EPOCHS} epochs: "
                  "these numbers mean nothing; they only show that the benchmark pipeline runs.", ""]
    req = summary["requirement"]
    lines += [f"Requirement: {req['text']}", "",
              f"Generated {summary['generated']} by `python -m benchmarks.{BENCHMARK}` from the per-run results in "
              f"`{summary['per_run_results']}/`; every number is read from the runs' `metrics.json`.", ""]
    invocation = summary["this_invocation"]
    if invocation["ran"] or invocation["reused"]:
        lines += [f"This invocation ran: {', '.join(invocation['ran']) or 'nothing'}; "
                  f"reused: {', '.join(invocation['reused']) or 'nothing'}.", ""]

    lines += ["## Runs", "",
              "| run | seed | flags | status | test F1 | test P | test R | val F1 | epochs | best epoch | training min |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in summary["runs"]:
        if row["ok"]:
            minutes = f"{row['train_minutes']:.1f}" + (" (budget)" if row["stopped_by_time_budget"] else "")
            lines.append(f"| {row['configuration']} | {row['seed']} | {_flags(row['flags'])} | ok | **{_f(row['test_f1'])}** | "
                         f"{_f(row['test_precision'])} | {_f(row['test_recall'])} | {_f(row['validation_f1'])} | "
                         f"{row['epochs_run']} | {row['best_epoch'] if row['best_epoch'] is not None else '-'} | "
                         f"{minutes} |")
        else:
            status = "interrupted" if row["exit_status"] is None else f"FAILED (exit {row['exit_status']})"
            lines.append(f"| {row['configuration']} | {row['seed']} | {_flags(row['flags'])} | {status} | - | - | - | - | - | - | - |")
    if not summary["runs"]:
        lines.append("| (no result files yet) | | | | | | | | | | |")

    full = summary["full_model"]
    lines += ["", f"## Full model over {len(full['runs'])} seed(s)", ""]
    if full["runs"]:
        lines += ["| test metric | mean | sample sd | min | max |", "|---|---|---|---|---|"]
        for key, label in (("test_f1", "F1"), ("test_precision", "precision"), ("test_recall", "recall")):
            stats = full[key]
            lines.append(f"| {label} | **{_f(stats['mean'])}** | {_f(stats['sd'])} | {_f(stats['min'])} | "
                         f"{_f(stats['max'])} |")
        lines += ["", f"Runs: {', '.join(full['runs'])}. Sample standard deviation (n-1); "
                  "'-' where there is a single run."]
    else:
        lines.append("No successful full-model run yet.")

    types = summary["entity_types"]
    ablation_names = list(summary["ablations"])
    if types:
        header = ["type", "full model, mean", "sd"] + ablation_names
        lines += ["", "## Test F1 per entity type", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        for t in types:
            stats = full["per_type_test_f1"].get(t) or {}
            cells = [t, _f(stats.get("mean")), _f(stats.get("sd"))]
            cells += [_f(summary["ablations"][a]["test_per_type_f1"].get(t)) for a in ablation_names]
            lines.append("| " + " | ".join(cells) + " |")

    lines += ["", "## Ablation", ""]
    ablation_rows = [row for row in summary["runs"] if row["kind"] == "ablation"]
    if ablation_rows:
        lines += ["| ablation | flags | seed | test F1 | difference to the full-model mean | "
                  "difference to the full run with the same seed |", "|---|---|---|---|---|---|"]
    for row in ablation_rows:
        ablation = summary["ablations"].get(row["configuration"])
        if ablation is None:
            lines.append(f"| {row['configuration']} | {_flags(row['flags'])} | {row['seed']} | failed | - | - |")
            continue
        same = (f"{_signed(ablation['difference_to_same_seed_full_run'])} (vs {ablation['same_seed_full_run']})"
                if ablation["same_seed_full_run"] else "-")
        lines.append(f"| {row['configuration']} | {_flags(ablation['flags'])} | {ablation['seed']} | "
                     f"{_f(ablation['test_f1'])} | {_signed(ablation['difference_to_full_mean'])} | {same} |")
    if not ablation_rows:
        lines.append("No ablation run yet.")

    verdict = summary["verdict"]

    def yes_no(value):
        return "**MET**" if value else "**NOT MET**"

    lines += ["", "## Verdict", ""]
    if summary["quick"]:
        lines.append("- Smoke check only: the verdict below is about short runs on a slice of the data and means nothing.")
    if verdict["mean_test_f1"] is None:
        lines.append("- No successful full-model run: the requirement cannot be judged.")
    else:
        lines += [f"- Requirement (mean test F1 >= {MINIMUM_F1:.2f} over the full-model runs, and every full-model run "
                  f"trained for at most {REQUIRED_MINUTES:g} min): {yes_no(verdict['minimum_met'])} "
                  f"(mean {_f(verdict['mean_test_f1'])}; every run within {REQUIRED_MINUTES:g} min: "
                  f"{'yes' if verdict['every_full_run_within_45_min'] else 'NO'})",
                  f"- Goal (mean test F1 >= {TARGET_F1:.2f}): {yes_no(verdict['goal_met'])}"]
    lines.append(f"- How training time is judged: {TRAINING_TIME_RULE}.")
    for caveat in verdict["caveats"]:
        lines.append(f"- **Note:** {caveat}")
    if summary["failed_runs"]:
        lines.append(f"- Failed runs (exit status and log tail in their result files): "
                     f"{', '.join(summary['failed_runs'])}")
    return "\n".join(lines) + "\n"


def write_summary(paths, summary):
    write_json(paths["summary_json"], summary)
    text = markdown(summary)
    write_text(paths["summary_md"], text)
    return text


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.minutes is None:
        args.minutes = QUICK_MINUTES if args.quick else REQUIRED_MINUTES
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS
    if args.minutes <= 0 or args.epochs < 1:
        raise BenchmarkError("--time-budget must be positive and --epochs at least 1")
    if len(set(args.seeds)) != len(args.seeds):
        raise BenchmarkError(f"--seeds {' '.join(map(str, args.seeds))}: each seed once")
    try:
        shlex.split(args.extra_train_args)
    except ValueError as error:
        raise BenchmarkError(f"--extra-train-args: {error}") from None
    configs = configurations(args.seeds)
    selected = args.only or list(configs)
    unknown = [name for name in selected if name not in configs]
    if unknown:
        raise BenchmarkError(f"unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(configs)}")
    selected = [name for name in configs if name in selected]  # the documented order, each once
    paths = layout(args)

    if args.summary_only:
        text = write_summary(paths, build_summary(paths, quick=args.quick))
        print(text)
        print(f"summary: {display_path(paths['summary_md'])} and {display_path(paths['summary_json'])}")
        return 0

    data = find_data(args.data).resolve()
    ran, reused, failed = [], [], []
    for name in selected:
        config = configs[name]
        command = train_command(args, data, paths["runs"] / name, config)
        result_path = paths["results"] / f"{name}.json"
        train_code = train_code_version()  # just before the run: others may be editing the code
        reusable, why = reuse_verdict(result_path, command, train_code)
        if args.dry_run:
            action = ("would reuse" if reusable and not args.rerun else "would run")
            print(f"{name}: {action} ({why})\n  $ {shlex.join(command)}")
            continue
        if reusable and not args.rerun:
            print(f"\n=== {name}: reusing {display_path(result_path)} ({why})", flush=True)
            reused.append(name)
            continue
        record = run_one(name, config, command, paths, args, train_code)
        write_json(result_path, record)  # a temporary file, then os.replace
        ran.append(name)
        if not record["ok"]:
            failed.append(name)
    if args.dry_run:
        return 0

    summary = build_summary(paths, quick=args.quick, ran=ran, reused=reused)
    text = write_summary(paths, summary)
    print("\n" + text)
    print(f"ran: {', '.join(ran) or 'nothing'}; reused (same command and code): {', '.join(reused) or 'nothing'}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    print(f"per-run results and logs: {display_path(paths['results'])}/\n"
          f"summary: {display_path(paths['summary_md'])} and {display_path(paths['summary_json'])}")
    return 1 if failed else 0


def cli(argv=None):
    common.cli(main, argv)


if __name__ == "__main__":
    cli()
