"""Quality benchmark for the captioning app on Flickr8k images and on the demo scenes (not CI).

Requirement: on the Flickr8k images in ``../shared/data/captioning`` (train on its
train-split images, test on its dev-split images) report BLEU-1..4 and compare with a
nearest-neighbour baseline (the caption of the most similar training image); goal: beat
that baseline on BLEU-4. On the generated default data: near-perfect exact match.

Configurations, each one run of the real train command (``python -m apps.captioning.train``):

    attention   Flickr8k, 875 shipped images: frozen MobileNetV2 (ImageNet) + soft attention, beam 5
    show_tell   the same with the Show-and-Tell decoder (image as initial state only)
    greedy      the attention model decoded greedily (--beam 1)
    demo        the offline default: 3,000 generated scenes, small CNN from scratch

The Flickr8k runs train on the 678 train-split images (75 more held out for early
stopping) and test on the 113 dev-split images, each against its 5 references. Each run
writes ``benchmarks/results/captioning_flickr8k/<name>.log`` and ``<name>.json``; a run
whose result file holds a successful run of the same command with the same code is reused.
The summary (``benchmarks/results/captioning_flickr8k.json`` and ``.md``) is rebuilt from
every result file present; its numbers come from the runs' ``metrics.json`` only.

    python -m benchmarks.captioning_flickr8k --quick        # 1 epoch each: checks the pipeline
    python -m benchmarks.captioning_flickr8k                # every configuration
    python -m benchmarks.captioning_flickr8k --only attention --seeds 1 2
    python -m benchmarks.captioning_flickr8k --summary-only
"""

import shlex
import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/captioning_flickr8k.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import (REPO_ROOT, configuration_parser, display_path, layout, now_iso,  # noqa: E402
                               read_records, reusable, run_configuration, sources_digest)
from shared.atomic import write_json, write_text  # noqa: E402

BENCHMARK = "captioning_flickr8k"
CAPTIONS_FILE = "images_captions.token.txt"
DEMO_EXACT_MATCH_GOAL = 0.95
DEFAULT_MINUTES, DEFAULT_EPOCHS = 20.0, 30
TRAIN_SOURCES = ("apps/__init__.py", "apps/captioning", "shared")
CONFIGURATIONS = {
    "attention": (True, [], "frozen MobileNetV2 + soft attention (Show, Attend and Tell), beam 5"),
    "show_tell": (True, ["--decoder", "show-tell"], "frozen MobileNetV2 + Show and Tell decoder, beam 5"),
    "greedy": (True, ["--beam", "1"], "the attention model, greedy decoding"),
    "demo": (False, [], "the offline default: generated scenes, small CNN trained from scratch"),
}
REQUIREMENT = " ".join((__doc__ or "").split("\n\n")[1].split()).removeprefix("Requirement: ")


def build_parser():
    return configuration_parser(BENCHMARK, __doc__, CONFIGURATIONS, minutes=DEFAULT_MINUTES, epochs=DEFAULT_EPOCHS,
                                quick_help="1 epoch per configuration", data_help="folder holding the Flickr8k captions and images/ (default: <shared data>/captioning)")


def train_command(args, data, run_dir, flickr, flags, seed):
    command = [args.python, "-m", "apps.captioning.train", "--time-budget", f"{args.minutes:g}",
               "--epochs", str(args.epochs), "--seed", str(seed), "--run-dir", str(run_dir), "--fresh",
               "--no-export", "--verbose", "2"]
    if flickr:
        command += ["--data", str(data), "--captions", str(data / CAPTIONS_FILE)]
    return command + flags + shlex.split(args.extra_train_args)


def summarise(record):
    metrics = record["app_metrics"]
    test, training = metrics["test"], metrics["training"]
    model, baseline = test["model"], test["nearest_neighbour"]
    goal = (model["exact_match"] >= DEMO_EXACT_MATCH_GOAL if metrics["demo_data"]
            else model["bleu_4"] > baseline["bleu_4"])
    return {
        "configuration": record["configuration"], "description": record["description"],
        "demo_data": metrics["demo_data"], "encoder": metrics["encoder"]["cnn"], "decoder": metrics["decoder"],
        "beam": metrics["beam"], "sizes": metrics["sizes"], "test_images": test["images"],
        "model": model, "nearest_neighbour": baseline, "validation": metrics["validation"]["model"],
        "model_vs_nearest_neighbour": test["model_vs_nearest_neighbour"],
        "training": training, "goal_met": bool(goal), "command": record["command_shell"], "date": record["date"],
        "wall_seconds": record["wall_seconds"],
    }


def _row(name, scores):
    return (f"| {name} | " + " | ".join(f"{scores[f'bleu_{n}']:.4f}" for n in range(1, 5))
            + f" | {scores['exact_match']:.3f} | {scores['mean_length']:.1f} |")


def _bootstrap_line(versus):
    return (f"BLEU-4 model - nearest neighbour: {versus['difference']:+.4f}, 95% paired-bootstrap interval "
            f"{versus['ci95'][0]:+.4f} .. {versus['ci95'][1]:+.4f}; the model wins {100 * versus['a_wins']:.1f}% of "
            f"{versus['samples']} resampled test sets.")


def markdown(summary):
    lines = [f"# {BENCHMARK}: captioning app on Flickr8k and the demo scenes", "",
             f"Requirement: {summary['requirement']}", "",
             f"Generated {summary['generated']} from the result files in `{summary['per_run_results']}`; every number "
             "comes from the runs' own metrics.json.", ""]
    for run in summary["runs"]:
        training, sizes = run["training"], run["sizes"]
        goal = (f"exact match >= {DEMO_EXACT_MATCH_GOAL:g}" if run["demo_data"]
                else "BLEU-4 above the nearest-neighbour baseline")
        lines += [f"## {run['configuration']}: {run['description']}", "",
                  f"{sizes['train']} train / {sizes['validation']} validation / {sizes['test']} test images; "
                  f"encoder {run['encoder']}, decoder {run['decoder']}, beam {run['beam']}; "
                  f"{training['epochs_run']} epoch(s), best {training['best_epoch']}, "
                  f"{training['train_seconds'] / 60:.1f} min of training"
                  + (" (stopped by the time budget)" if training.get("stopped_by_time_budget") else "") + ".", "",
                  "| captions (test) | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | exact match | mean words |",
                  "|---|---:|---:|---:|---:|---:|---:|",
                  _row("model", run["model"]), _row("nearest neighbour", run["nearest_neighbour"]), "",
                  _bootstrap_line(run["model_vs_nearest_neighbour"]), "",
                  f"Goal ({goal}): {'met' if run['goal_met'] else 'NOT met'}.", "", f"Command: `{run['command']}`", ""]
    for failed in summary["failed_runs"]:
        lines.append(f"- FAILED: {failed}")
    return "\n".join(lines) + "\n"


def build_summary(paths):
    records = read_records(paths)
    return {
        "benchmark": BENCHMARK, "generated": now_iso(), "requirement": REQUIREMENT,
        "goal": {"flickr8k": "model BLEU-4 > nearest-neighbour BLEU-4", "demo_exact_match_at_least": DEMO_EXACT_MATCH_GOAL},
        "runs": [summarise(r) for r in records if r.get("ok")],
        "failed_runs": [r["configuration"] for r in records if not r.get("ok")],
        "per_run_results": display_path(paths["results"]),
    }


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.minutes = args.minutes or (2.0 if args.quick else DEFAULT_MINUTES)
    args.epochs = args.epochs or (1 if args.quick else DEFAULT_EPOCHS)
    paths = layout(BENCHMARK, args.quick)
    if not args.summary_only:
        train_code = sources_digest([REPO_ROOT / path for path in TRAIN_SOURCES])
        for config in args.only or list(CONFIGURATIONS):
            flickr, flags, description = CONFIGURATIONS[config]
            data = (common.find_data("captioning", (CAPTIONS_FILE, "Flickr_8k.trainImages.txt"), args.data,
                                     what="the Flickr8k captions and split lists",
                                     hint="see ../shared/data/captioning/SOURCE.md") if flickr else None)
            for seed in args.seeds:
                name = config if seed == 1337 else f"{config}_seed{seed}"
                command = train_command(args, data, paths["runs"] / name, flickr, flags, seed)
                if not args.rerun and reusable(paths["results"] / f"{name}.json", command, train_code):
                    print(f"=== {name}: reusing the earlier identical run")
                    continue
                run_configuration(BENCHMARK, __file__, name, description, command, paths, train_code)
    summary = build_summary(paths)
    write_json(paths["summary_json"], summary)
    text = markdown(summary)
    write_text(paths["summary_md"], text)
    print("\n" + text)
    return 0 if not summary["failed_runs"] else 1


if __name__ == "__main__":
    common.cli(main)
