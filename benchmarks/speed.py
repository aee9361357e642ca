"""Speed of every app, measured by its own train command (not part of CI).

Each app's real train command runs once, with its default architecture, on its offline demo
data, with ``--speed-report`` (see ``shared/speed.py``). That gives, per app and in one run
on one machine:

* training throughput (examples/s, tokens/s) and the input pipeline's cost: the same steps
  fed by the ``tf.data`` pipeline and replayed from memory (a ratio of 1.0 means no starving);
* inference at batch 1 (latency) and batch 64 (throughput) for Keras ``predict``, a
  ``tf.function`` of the same model, onnxruntime, and the SavedModel's ``serving_default``
  on raw inputs; ONNX against ``tf.function`` on the same padded batches, with the largest
  output difference;
* export time (SavedModel + ONNX + parity checks) and peak memory.

    python -m benchmarks.speed --quick                    # every app, under 5 minutes here
    python -m benchmarks.speed                            # the same with more data and epochs
    python -m benchmarks.speed --apps sentiment ner
    python -m benchmarks.speed --precision both           # on a GPU: mixed_float16 against float32
    python -m benchmarks.speed --real-data                # the real datasets' pipelines, 200 steps each

``--real-data`` feeds each app (not captioning) its real dataset from the shared data folder
(``../shared/data`` or ``$SEQAPPS_SHARED_DATA``) through its own pipeline, trains for one
minute and then times 200 pipeline steps against the same batches from memory: the
starvation check on real text, sentences and prices rather than the small demo sets.

Results: ``benchmarks/results/speed.json`` (``speed_quick.json``, ``speed_real.json``; ``speed_<precision>.json``
with ``--precision``) and a Markdown table (``.md``) beside it; each train command's log too.
"""

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/speed.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import RESULTS_DIR, code_version, load_average, now_iso  # noqa: E402
from benchmarks.textgen_imdb import review_text  # noqa: E402
from shared.atomic import write_json, write_text  # noqa: E402
from shared.environment import machine, package_versions  # noqa: E402

# app -> (quick, full) arguments: the default model, a small slice of the demo data. The
# word vectors are random (--embeddings none): word2vec's time is not the model's speed. Quick
# mode evaluates the decoders greedily (--beam 1): beam search is evaluation, not the graphs timed.
APPS = {
    "sentiment": (["--epochs", "1", "--embeddings", "none"], ["--epochs", "2", "--embeddings", "none"]),
    "ner": (["--epochs", "1", "--embeddings", "none"], ["--epochs", "2", "--embeddings", "none"]),
    "stocks": (["--data", "demo", "--epochs", "1"], ["--data", "demo", "--epochs", "3"]),
    "captioning": (["--demo-images", "200", "--epochs", "1", "--embeddings", "none", "--beam", "1"],
                   ["--demo-images", "1500", "--epochs", "2", "--embeddings", "none"]),
    "translation": (["--demo-size", "600", "--epochs", "1", "--embeddings", "none", "--beam", "1"],
                    ["--demo-size", "4000", "--epochs", "2", "--embeddings", "none"]),
    "textgen": (["--limit", "100", "--epochs", "1", "--embeddings", "none"],
                ["--limit", "400", "--epochs", "1", "--embeddings", "none"]),
}
# app -> (shared data subfolder, files it needs, arguments given that folder) for --real-data;
# a minute of training (the time budget ends the epoch), and a slice where the test split is large
REAL_DATA = {
    "sentiment": ("sentiment", ["imdb_train.csv.gz", "imdb_test.csv.gz"],
                  lambda data: ["--data", str(data), "--embeddings", "none", "--limit", "5000"]),
    "ner": ("ner/conll2003", ["train.txt", "valid.txt", "test.txt"],
            lambda data: ["--data", str(data), "--embeddings", "none"]),
    "stocks": ("stocks", ["all_stocks_5yr.csv.gz"], lambda data: ["--data", str(data / "all_stocks_5yr.csv.gz")]),
    "translation": ("translation", ["spa-eng/spa.txt.gz"],
                    lambda data: ["--data", str(data / "spa-eng" / "spa.txt.gz"), "--embeddings", "none", "--limit", "20000"]),
    "textgen": ("sentiment", ["imdb_train.csv.gz", "imdb_test.csv.gz"],
                lambda data: ["--data", str(review_text(data, 5000)), "--embeddings", "none"]),
}
REAL_DATA_FLAGS = ["--epochs", "1", "--time-budget", "1"]
RUNTIMES = ("keras_predict", "tf_function", "savedmodel_raw", "onnxruntime")
PRECISIONS = {"auto": ["auto"], "float32": ["float32"], "mixed": ["mixed_float16"],
              "both": ["float32", "mixed_float16"]}


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="less data and one epoch per app (under 5 minutes on 2 cores)")
    parser.add_argument("--real-data", action="store_true", help="each app's real dataset from the shared data folder, a minute of training, 200 timed steps (captioning is left out)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per pipeline/in-memory timing (default: 10 quick, 30 full, 200 with --real-data)")
    parser.add_argument("--apps", nargs="+", choices=list(APPS), default=None, help="apps to measure (default: all; with --real-data all but captioning)")
    parser.add_argument("--precision", choices=list(PRECISIONS), default="auto",
                        help="auto: the train command's choice; both: float32 and mixed_float16, with the training speedup (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="results JSON; the table goes beside it as .md (default: benchmarks/results/speed[_quick|_real].json)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="keep the runs and exports in DIR (default: a temporary folder)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the train commands (default: this one)")
    return parser


def measure(app, precision, args, workdir):
    """One app's train command with ``--speed-report``; returns its report (or the failure)."""
    name = f"{app}-{precision}"
    report, log_path = workdir / f"{name}.json", workdir / f"{name}.log"
    command = [args.python, "-m", f"apps.{app}.train", *app_arguments(app, args), "--precision", precision,
               "--run-dir", str(workdir / "runs" / name), "--fresh", "--export-dir", str(workdir / "exported" / precision),
               "--verbose", "2", "--speed-report", str(report), "--speed-steps", str(args.steps), "--speed-seconds", "0.2" if args.quick else "0.5"]
    print(f"\n$ {shlex.join(command)}", flush=True)
    status, wall, _ = common.run_train_command(command, log_path, {**os.environ, "PYTHONUNBUFFERED": "1"})
    result = common.read_record(report) or {}
    result.update(app=app, wall_seconds=round(wall, 1), exit_status=status, log=log_path.read_text(encoding="utf-8"))
    if status != 0:
        result["error"] = f"the train command failed with exit status {status}; see the log"
    return result


def app_arguments(app, args):
    """The train command's data and model flags for ``app`` in this mode."""
    if args.real_data:
        subfolder, files, flags = REAL_DATA[app]
        data = common.find_data(subfolder, files, what=f"{app}'s real data", hint="see ../shared/data/README.md")
        return flags(data) + REAL_DATA_FLAGS
    quick, full = APPS[app]
    return quick if args.quick else full


def table(results):
    """Markdown: one row per app and ONNX graph."""
    lines = ["| app (graph) | precision | train examples/s | train tokens/s | pipeline / in-memory step | "
             "batch 1 ms: Keras predict / tf.function / SavedModel / ONNX | batch 64 examples/s: same order | "
             "ONNX / tf.function speed at 64 | ONNX vs TF max diff | export s | peak MiB |",
             "|" + "---|" * 11]
    for result in results:
        if result.get("error"):
            lines.append(f"| {result['app']} | {result.get('precision', '?')} | failed: {result['error']} |" + " |" * 8)
            continue
        training, inference = result.get("training", {}), result.get("inference", {})
        for graph, row in inference.get("graphs", {}).items():
            label = result["app"] if graph == "model" else f"{result['app']} ({graph})"
            raw = inference.get("savedmodel_raw", {})
            latency = [row["batch_1"]["ms"][k] if k != "savedmodel_raw" else raw.get("batch_1", {}).get("ms")
                       for k in RUNTIMES]
            speed = [row["batch_64"]["examples_per_s"][k] if k != "savedmodel_raw"
                     else raw.get("batch_64", {}).get("examples_per_s") for k in RUNTIMES]
            lines.append(
                f"| {label} | {result['precision']} | {_number(training.get('examples_per_s'))} | "
                f"{_number(training.get('tokens_per_s'))} | {_ratio(training.get('pipeline_over_in_memory'))} | "
                f"{' / '.join(_number(v, 2) for v in latency)} | {' / '.join(_number(v) for v in speed)} | "
                f"{_ratio(row['onnx_speedup_over_tf_function'])} | {row['onnx_vs_tf_max_difference']:.1e} | "
                f"{result.get('export_seconds', '-')} | {_number(result.get('peak_memory_mib'))} |")
    return "\n".join(lines)


def _number(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if value >= 10 or digits == 0 else f"{value:.{digits}f}"


def _ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def precision_speedups(results):
    """Per app: training throughput under mixed_float16 over float32 (``--precision both``)."""
    by_app = {}
    for result in results:
        if not result.get("error"):
            by_app.setdefault(result["app"], {})[result["precision"]] = result.get("training", {}).get("examples_per_s")
    return {app: runs["mixed_float16"] / runs["float32"] for app, runs in by_app.items()
            if runs.get("mixed_float16") and runs.get("float32")}


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.real_data and args.quick:
        raise common.BenchmarkError("--real-data and --quick do not go together: --real-data sets its own steps")
    args.apps = args.apps or [app for app in APPS if not (args.real_data and app not in REAL_DATA)]
    missing = [app for app in args.apps if args.real_data and app not in REAL_DATA]
    if missing:
        raise common.BenchmarkError(f"--real-data has no dataset for {', '.join(missing)}")
    args.steps = args.steps or (200 if args.real_data else 10 if args.quick else 30)
    suffix = "_real" if args.real_data else "_quick" if args.quick else ""
    suffix += "" if args.precision == "auto" else f"_{args.precision}"
    out = Path(args.out or RESULTS_DIR / f"speed{suffix}.json").resolve()
    begun, started, load_at_start = now_iso(), time.monotonic(), load_average()
    with tempfile.TemporaryDirectory(prefix="seqapps-speed-") as temporary:
        workdir = Path(args.keep or temporary).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        results = [measure(app, precision, args, workdir) for app in args.apps for precision in PRECISIONS[args.precision]]
    logs = {f"{r['app']}-{r.get('precision', '?')}": r.pop("log") for r in results}
    failed = [r["app"] for r in results if r.get("error")]
    record = {
        "benchmark": "speed", "quick": bool(args.quick), "real_data": bool(args.real_data),
        "timed_steps": args.steps, "date": begun, "finished": now_iso(),
        "wall_seconds": round(time.monotonic() - started, 1), "machine": machine(),
        "load_average": {"start": load_at_start, "end": load_average()}, "versions": package_versions(),
        "code": code_version(__file__), "apps": results, "failed": failed,
        "mixed_over_float32_training": precision_speedups(results),
        "inputs": ("training: the app's real dataset (--real-data)" if args.real_data else
                   "training: the app's demo data") + " through its own tf.data pipeline; inference: padded batches "
                  "of random ids (time axis 128, row lengths 32-128) or normal floats, the same batch for every "
                  "runtime; SavedModel: the export's own parity inputs (raw text/prices), repeated to the batch",
    }
    write_json(out, record)
    write_json(out.with_suffix(".logs.json"), logs)
    markdown = table(results)
    write_text(out.with_suffix(".md"), f"Measured {begun} on {record['machine'].get('cpu_model')} "
                                       f"({record['machine'].get('usable_cpus')} CPUs), {args.precision} precision"
                                       f"{' (quick)' if args.quick else ' (real data)' if args.real_data else ''}, "
                                       f"{args.steps} timed training steps.\n\n{markdown}\n")
    print("\n" + markdown)
    if record["mixed_over_float32_training"]:
        print("\nmixed_float16 / float32 training examples/s: " +
              ", ".join(f"{app} {ratio:.2f}x" for app, ratio in record["mixed_over_float32_training"].items()))
    print(f"\nresults: {common.display_path(out)} ({record['wall_seconds']:.0f} s)")
    if failed:
        print(f"error: failed: {', '.join(failed)} (their logs are in {common.display_path(out.with_suffix('.logs.json'))})",
              file=sys.stderr)
        return 1
    return 0


def cli(argv=None):
    common.cli(main, argv)


if __name__ == "__main__":
    cli()
