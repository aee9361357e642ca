"""Quality benchmark for the stocks app on the S&P 500 five-year file (not part of CI).

Requirement: on ``../shared/data/stocks/all_stocks_5yr.csv.gz`` (train on many tickers, test
on the last year of each), report the model against persistence per metric; goal: RMSE
ratio to persistence below 1.0 with direction accuracy above 52% on pooled test days, and
never a hidden loss.

Configurations, each one run of the real train command (``python -m apps.stocks.train``)
on every ticker of the file, the last 252 trading days as test and the 252 before them as
validation, the same dates for every ticker:

    lstm        the default model (2 x 64 LSTM, 30-day window, next-day close)
    gru         --cell gru
    horizon5    --horizon 5: every day up to a week ahead

Each run writes ``benchmarks/results/stocks_sp500/<name>.log`` and ``<name>.json``; a run
whose result file holds a successful run of the same command with the same code is reused.
The summary (``benchmarks/results/stocks_sp500.json`` and ``.md``) is rebuilt from every
result file present, and its numbers come from the runs' ``metrics.json`` only. It lists
every metric on which the model loses to any baseline.

    python -m benchmarks.stocks_sp500 --quick          # 20 tickers, 1 epoch: checks the pipeline
    python -m benchmarks.stocks_sp500                  # all configurations, 20 min budget each
    python -m benchmarks.stocks_sp500 --only lstm --seeds 1 2 3
    python -m benchmarks.stocks_sp500 --summary-only
"""

import shlex
import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # also runnable as ``python benchmarks/stocks_sp500.py``
    sys.path.insert(0, _REPO)

from benchmarks import common  # noqa: E402
from benchmarks.common import (REPO_ROOT, configuration_parser, display_path, layout, now_iso,  # noqa: E402
                               read_records, reusable, run_configuration, sources_digest)
from shared.atomic import write_json, write_text  # noqa: E402

BENCHMARK = "stocks_sp500"
DATA_FILE = "all_stocks_5yr.csv.gz"
GOAL_RMSE_RATIO = 1.0
GOAL_DIRECTION = 0.52
DEFAULT_MINUTES, DEFAULT_EPOCHS = 20.0, 30
QUICK_TICKERS = ("AAPL", "AMZN", "BA", "C", "CVX", "DIS", "GE", "GOOGL", "HD", "IBM", "INTC", "JNJ", "JPM", "KO",
                 "MRK", "MSFT", "NVDA", "PFE", "WMT", "UNH")
TRAIN_SOURCES = ("apps/__init__.py", "apps/stocks", "shared")
CONFIGURATIONS = {
    "lstm": ([], "the default model: 2 x 64 LSTM over a 30-day window, next-day close"),
    "gru": (["--cell", "gru"], "GRU cells instead of LSTM"),
    "horizon5": (["--horizon", "5"], "forecasts for every day up to 5 trading days ahead"),
}
FORECASTS = ("model", "persistence", "moving_average", "drift")
REQUIREMENT = " ".join((__doc__ or "").split("\n\n")[1].split()).removeprefix("Requirement: ")


def build_parser():
    return configuration_parser(BENCHMARK, __doc__, CONFIGURATIONS, minutes=DEFAULT_MINUTES, epochs=DEFAULT_EPOCHS,
                                quick_help=f"smoke check on {len(QUICK_TICKERS)} tickers and 1 epoch", data_help="folder holding all_stocks_5yr.csv.gz (default: <shared data>/stocks)")


def train_command(args, data, run_dir, flags, seed):
    command = [args.python, "-m", "apps.stocks.train", "--data", str(data / DATA_FILE),
               "--time-budget", f"{args.minutes:g}", "--epochs", str(args.epochs), "--seed", str(seed),
               "--run-dir", str(run_dir), "--fresh", "--no-export", "--verbose", "2"]
    if args.quick:
        command += [part for ticker in QUICK_TICKERS for part in ("--ticker", ticker)]
    return command + flags + shlex.split(args.extra_train_args)



def losses(horizon_scores):
    """Every (metric, baseline) where the model is worse: nothing is left out of the report."""
    lost = []
    for baseline, metrics in horizon_scores["model_beats"].items():
        lost += [f"{metric.upper()} vs {baseline}" for metric, wins in metrics.items() if not wins]
    model_direction = horizon_scores["model"]["direction_accuracy"]
    for baseline in ("moving_average", "drift"):
        other = horizon_scores[baseline]["direction_accuracy"]
        if model_direction is not None and other is not None and model_direction < other:
            lost.append(f"direction accuracy vs {baseline}")
    return lost


def summarise(record):
    metrics = record["app_metrics"]
    test = metrics["test"]
    rows = {}
    for key in sorted(k for k in test if k.startswith("horizon_")):
        scores = test[key]
        rows[key] = {
            "table": {name: {m: scores[name][m] for m in ("rmse", "mae", "mape", "direction_accuracy",
                                                          "direction_ci95", "direction_days")}
                      for name in FORECASTS},
            "model_vs_persistence": scores["model_vs_persistence"],
            "per_ticker": scores["per_ticker"],
            "model_loses_on": losses(scores),
        }
    first = rows["horizon_1"]
    ratio, direction = first["model_vs_persistence"]["rmse_ratio"], first["table"]["model"]["direction_accuracy"]
    return {
        "configuration": record["configuration"], "description": record["description"],
        "forecasts": test["forecasts"], "tickers": test["tickers"],
        "test_days": f"{test['first_forecast_day']} .. {test['last_forecast_day']}",
        "training": record["training"], "horizons": rows,
        "goal_met": bool(ratio < GOAL_RMSE_RATIO and direction is not None and direction > GOAL_DIRECTION),
        "command": record["command_shell"], "date": record["date"],
    }


def markdown(summary):
    lines = [f"# {BENCHMARK}: stocks app on the S&P 500 five-year file", "",
             f"Requirement: {summary['requirement']}", "",
             f"Generated {summary['generated']} from the result files in `{summary['per_run_results']}`; every number "
             "comes from the runs' own metrics.json.", ""]
    for run in summary["runs"]:
        training = run["training"]
        lines += [f"## {run['configuration']}: {run['description']}", "",
                  f"{run['forecasts']:,} test forecasts on {run['tickers']} tickers, days {run['test_days']}; "
                  f"{training['epochs_run']} epoch(s), best {training['best_epoch']}, "
                  f"{training['train_seconds'] / 60:.1f} min of training"
                  + (" (stopped by the time budget)" if training.get("stopped_by_time_budget") else "")
                  + (f"; shrinkage toward the training mean return fitted on validation days: "
                     f"{', '.join(f'{v:.3f}' for v in training['shrinkage'])} (0: the mean return only, "
                     f"1: the network as trained)" if training.get("shrinkage") is not None else "") + ".", ""]
        for key, row in run["horizons"].items():
            lines += [f"**{key.replace('_', ' ')}**", "",
                      "| forecast | RMSE | MAE | MAPE % | direction (95% CI) |", "|---|---:|---:|---:|---|"]
            for name in FORECASTS:
                cell = row["table"][name]
                direction = ("n/a (predicts no move)" if cell["direction_accuracy"] is None else
                             f"{100 * cell['direction_accuracy']:.2f}% ({100 * cell['direction_ci95'][0]:.1f}-"
                             f"{100 * cell['direction_ci95'][1]:.1f}%)")
                lines.append(f"| {name} | {cell['rmse']:.4f} | {cell['mae']:.4f} | {cell['mape']:.3f} | {direction} |")
            ratios = row["model_vs_persistence"]
            wins = row["per_ticker"]
            lines += ["", f"model / persistence: RMSE {ratios['rmse_ratio']:.4f}, MAE {ratios['mae_ratio']:.4f}, "
                          f"MAPE {ratios['mape_ratio']:.4f}; lower RMSE than persistence on "
                          f"{wins['tickers_beating_persistence']} of {wins['tickers']} tickers.",
                      f"The model loses on: {', '.join(row['model_loses_on']) or 'nothing'}.", ""]
        lines += [f"Goal (RMSE ratio < {GOAL_RMSE_RATIO:g} and direction > {100 * GOAL_DIRECTION:g}% at horizon 1): "
                  f"{'met' if run['goal_met'] else 'NOT met'}.", "", f"Command: `{run['command']}`", ""]
    for failed in summary["failed_runs"]:
        lines.append(f"- FAILED: {failed}")
    return "\n".join(lines) + "\n"


def build_summary(paths):
    records = read_records(paths)
    return {
        "benchmark": BENCHMARK, "generated": now_iso(), "requirement": REQUIREMENT,
        "goal": {"rmse_ratio_below": GOAL_RMSE_RATIO, "direction_accuracy_above": GOAL_DIRECTION},
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
        data = common.find_data("stocks", (DATA_FILE,), args.data, what="the S&P 500 price file",
                                hint="see ../shared/data/stocks/SOURCE.md")
        train_code = sources_digest([REPO_ROOT / path for path in TRAIN_SOURCES])
        for config in args.only or list(CONFIGURATIONS):
            flags, description = CONFIGURATIONS[config]
            for seed in args.seeds:
                name = config if seed == 1337 else f"{config}_seed{seed}"
                command = train_command(args, data, paths["runs"] / name, flags, seed)
                if not args.rerun and reusable(paths["results"] / f"{name}.json", command, train_code):
                    print(f"=== {name}: reusing the earlier identical run")
                    continue
                run_configuration(BENCHMARK, __file__, name, description, command, paths, train_code,
                                  extra=lambda metrics: {"training": metrics["folds"][-1]["training"]})
    summary = build_summary(paths)
    write_json(paths["summary_json"], summary)
    text = markdown(summary)
    write_text(paths["summary_md"], text)
    print("\n" + text)
    return 0 if not summary["failed_runs"] else 1


if __name__ == "__main__":
    common.cli(main)
