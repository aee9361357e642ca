"""Quality benchmark for the translation app on Anki spa-eng and Multi30k en-de (not CI).

Requirement: within 60 minutes of training on this 2-core machine, corpus BLEU of at least
35 on the Anki English-to-Spanish test split (5% of the source sentences held out) and at
least 25 on Multi30k en-de test_2016_flickr; report attention against no attention and
greedy against beam search.

Configurations, each one run of the real train command (``python -m apps.translation.train``):

    anki            ../shared/data/translation/spa-eng/spa.txt.gz, en -> es, Luong attention, beam 5
    anki_none       the same without attention (the encoder's final state only)
    anki_bahdanau   the same with Bahdanau (additive) attention
    multi30k        Multi30k train / val / test_2016_flickr, en -> de, Luong attention, beam 5
    multi30k_none   the same without attention

Every run reports greedy and beam-5 scores (sacrebleu corpus BLEU, 13a tokenisation, cased,
and chrF, on detokenised output against the raw references, one reference per pair). Each
run writes ``benchmarks/results/translation/<name>.log`` and ``<name>.json``; a run whose
result file holds a successful run of the same command with the same code is reused. The
summary (``benchmarks/results/translation.json`` and ``.md``) is rebuilt from every result
file present; its numbers come from the runs' ``metrics.json`` only.

    python -m benchmarks.translation --quick              # 2 minutes each: checks the pipeline
    python -m benchmarks.translation                      # every configuration, 60 minutes each
    python -m benchmarks.translation --only anki multi30k --time-budget 45
    python -m benchmarks.translation --summary-only
"""

import shlex
import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/translation.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import (REPO_ROOT, configuration_parser, display_path, layout, now_iso,  # noqa: E402
                               read_records, reusable, run_configuration, sources_digest)
from shared.atomic import write_json, write_text  # noqa: E402

BENCHMARK = "translation"
DEFAULT_MINUTES, DEFAULT_EPOCHS = 60.0, 40
TRAIN_SOURCES = ("apps/__init__.py", "apps/translation", "shared")
ANKI_FILES = ("spa-eng/spa.txt.gz",)
MULTI30K_FILES = tuple(f"multi30k/{split}.{language}.gz" for split in ("train", "val", "test_2016_flickr")
                       for language in ("en", "de"))
# corpus, extra flags, description
CONFIGURATIONS = {
    "anki": ("anki", [], "Anki spa-eng, en -> es, Luong attention, beam 5"),
    "anki_none": ("anki", ["--attention", "none"], "Anki spa-eng, en -> es, no attention (thought vector)"),
    "anki_bahdanau": ("anki", ["--attention", "bahdanau"], "Anki spa-eng, en -> es, Bahdanau attention"),
    "multi30k": ("multi30k", [], "Multi30k en -> de (test_2016_flickr), Luong attention, beam 5"),
    "multi30k_none": ("multi30k", ["--attention", "none"], "Multi30k en -> de, no attention (thought vector)"),
}
GOALS = {"anki": 35.0, "multi30k": 25.0}
REQUIREMENT = " ".join((__doc__ or "").split("\n\n")[1].split()).removeprefix("Requirement: ")


def build_parser():
    return configuration_parser(BENCHMARK, __doc__, CONFIGURATIONS, minutes=DEFAULT_MINUTES, epochs=DEFAULT_EPOCHS,
                                quick_help="2 minutes and 2,000 training pairs per configuration",
                                data_help="the translation data folder holding spa-eng/ and multi30k/ "
                                          "(default: <shared data>/translation)")


def corpus_flags(corpus, data):
    if corpus == "anki":
        return ["--data", str(data / ANKI_FILES[0])]
    prefix = data / "multi30k"
    return ["--data", str(prefix / "train"), "--validation", str(prefix / "val"),
            "--test", str(prefix / "test_2016_flickr"), "--source", "en", "--target", "de"]


def train_command(args, data, run_dir, corpus, flags, seed):
    command = [args.python, "-m", "apps.translation.train", "--time-budget", f"{args.minutes:g}",
               "--epochs", str(args.epochs), "--seed", str(seed), "--run-dir", str(run_dir), "--fresh",
               "--no-export", "--verbose", "2", *corpus_flags(corpus, data)]
    if args.quick:
        command += ["--limit", "2000"]
    return command + flags + shlex.split(args.extra_train_args)


def summarise(record, corpus):
    metrics = record["app_metrics"]
    test = metrics["test"]
    beam_key = f"beam_{metrics['beam']}" if metrics["beam"] > 1 else "greedy"
    return {
        "configuration": record["configuration"], "description": record["description"], "corpus": corpus,
        "attention": metrics["attention"], "beam": metrics["beam"], "sizes": metrics["sizes"],
        "test": {"greedy": test["greedy"], "beam": test[beam_key]},
        "validation": {"greedy": metrics["validation"]["greedy"], "beam": metrics["validation"][beam_key]},
        "goal_bleu": GOALS[corpus], "goal_met": bool(test[beam_key]["bleu"] >= GOALS[corpus]),
        "training": metrics["training"], "vocabulary_size": metrics["vocabulary_size"],
        "command": record["command_shell"], "date": record["date"], "wall_seconds": record["wall_seconds"],
    }


def markdown(summary):
    lines = [f"# {BENCHMARK}: the translation app on Anki spa-eng and Multi30k en-de", "",
             f"Requirement: {summary['requirement']}", "",
             f"Generated {summary['generated']} from the result files in `{summary['per_run_results']}`; every number "
             "comes from the runs' own metrics.json. BLEU: sacrebleu corpus BLEU (13a, cased) on detokenised output, "
             "one reference per pair.", "",
             "| run | attention | test pairs | greedy BLEU / chrF | beam BLEU / chrF | goal (beam BLEU) | epochs | "
             "training |", "|---|---|---:|---:|---:|---|---:|---:|"]
    for run in summary["runs"]:
        test, training = run["test"], run["training"]
        lines.append(f"| {run['configuration']} | {run['attention']} | {test['greedy']['sentences']:,} | "
                     f"{test['greedy']['bleu']:.2f} / {test['greedy']['chrf']:.2f} | "
                     f"{test['beam']['bleu']:.2f} / {test['beam']['chrf']:.2f} | "
                     f">= {run['goal_bleu']:g}: {'met' if run['goal_met'] else 'NOT met'} | "
                     f"{training['epochs_run']} (best {training['best_epoch']}) | "
                     f"{training['train_seconds'] / 60:.1f} min"
                     + (" (budget)" if training.get("stopped_by_time_budget") else "") + " |")
    lines.append("")
    for run in summary["runs"]:
        lines += [f"- `{run['configuration']}`: {run['description']}; {run['sizes']['train']:,} train / "
                  f"{run['sizes']['validation']:,} validation / {run['sizes']['test']:,} test pairs; vocabulary "
                  f"{run['vocabulary_size']['source']:,} source / {run['vocabulary_size']['target']:,} target. "
                  f"Command: `{run['command']}`"]
    for failed in summary["failed_runs"]:
        lines.append(f"- FAILED: {failed}")
    return "\n".join(lines) + "\n"


def build_summary(paths):
    records = read_records(paths)
    return {
        "benchmark": BENCHMARK, "generated": now_iso(), "requirement": REQUIREMENT, "goal_bleu": GOALS,
        "runs": [summarise(r, CONFIGURATIONS[r["configuration"].split("_seed")[0]][0]) for r in records if r.get("ok")],
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
            corpus, flags, description = CONFIGURATIONS[config]
            data = common.find_data("translation", ANKI_FILES if corpus == "anki" else MULTI30K_FILES, args.data,
                                    what="the translation corpora", hint="see ../shared/data/translation/SOURCE.md")
            for seed in args.seeds:
                name = config if seed == 1337 else f"{config}_seed{seed}"
                command = train_command(args, data, paths["runs"] / name, corpus, flags, seed)
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
