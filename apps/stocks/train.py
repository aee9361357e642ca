"""Train the price model, compare it with naive baselines on unseen days, and export it.

With no ``--data`` it trains on real GOOG daily prices (2004-2008) that matplotlib ships,
so it runs offline; ``--data demo`` uses synthetic prices with a learnable pattern:

    python -m apps.stocks.train
    python -m apps.stocks.train --data prices.csv --ticker MSFT --horizon 5 --epochs 30
    python -m apps.stocks.train --data ../shared/data/stocks/all_stocks_5yr.csv.gz --time-budget 20
    python -m apps.stocks.train --data ORCL.csv --walk-forward 3 --test-days 126

``--data`` takes a price file as it is downloaded, gzipped or not, a folder of them, or a
built-in source (matplotlib:goog, pmdarima:msft, demo); the layout is recognised from the
header and named in the log (apps/stocks/formats.py):

  Yahoo Finance         Date,Open,High,Low,Close,Adj Close,Volume
  Stooq                 Date,Open,High,Low,Close,Volume
  Alpha Vantage         timestamp,open,high,low,close,volume (newest first: read oldest first)
  long, many tickers    date,open,high,low,close,volume,Name (Kaggle's S&P 500 all_stocks_5yr.csv)
  Kaggle price-volume   Date,Open,High,Low,Close,Volume,OpenInt

Test days are the last ``--test-days`` trading days of all tickers together, validation
the days before them. The report puts the model beside persistence (the last close), a
moving average and the drift method, and says plainly when the model does not beat
persistence.
"""

import argparse

import numpy as np
import tensorflow as tf

from apps.stocks.data import BUILTIN_SOURCES, load_prices
from apps.stocks.export import make_bundle
from apps.stocks.features import fit_scaling, make_samples, make_table, split_periods, window_dataset, windows
from apps.stocks.metrics import BASELINES, baseline_forecasts, compare, format_table, per_ticker_rmse_wins
from apps.stocks.model import CELLS, build_model, fit_shrinkage, scaled_loss
from apps.stocks.report import plot_forecasts, write_forecasts
from shared.errors import SeqappsError, run_cli
from shared.export import add_output_arguments, export_app
from shared.training import (add_training_arguments, fit, make_optimizer, prepare_run_dir, set_seed, start_run,
                             write_metrics)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.stocks.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    sources = "; ".join(f"{name}: {text}" for name, text in BUILTIN_SOURCES.items())
    data.add_argument("--data", default=None, help=f"CSV file or folder, or a built-in source ({sources}); "
                                                   f"default: matplotlib:goog")
    data.add_argument("--ticker", action="append", default=None, metavar="T",
                      help="use only this ticker (repeat for several; default: every ticker in --data); "
                           "for a single-ticker file it names the series")
    data.add_argument("--encoding", default="utf-8", help="text encoding of --data files (default: %(default)s)")
    data.add_argument("--on-bad-row", choices=("error", "drop"), default="error",
                      help="a row with a non-positive price or negative volume: stop with its file and line, "
                           "or drop it and say so (default: %(default)s)")
    data.add_argument("--adjust-splits", choices=("auto", "on", "off"), default="auto",
                      help="detect stock splits in unadjusted prices and rescale earlier days; auto: on for "
                           "layouts without Adj Close (default: %(default)s)")
    data.add_argument("--adjusted-close", action="store_true",
                      help="Yahoo files: use Adj Close (dividend-adjusted) and rescale open/high/low with it")
    data.add_argument("--window", type=int, default=30, help="past trading days the model sees (default: %(default)s)")
    data.add_argument("--horizon", type=int, default=1,
                      help="forecast every day up to this many trading days ahead (default: %(default)s)")
    data.add_argument("--test-days", type=int, default=252,
                      help="trading days held out for the test (252: about a year) (default: %(default)s)")
    data.add_argument("--validation-days", type=int, default=252,
                      help="trading days before the test used for early stopping (default: %(default)s)")
    data.add_argument("--walk-forward", type=int, default=1, metavar="FOLDS",
                      help="walk-forward evaluation: FOLDS consecutive test blocks of --test-days, a model "
                           "trained for each on everything before it (default: %(default)s, one split)")
    data.add_argument("--ma-days", type=int, default=20,
                      help="days in the moving-average baseline, at most --window (default: %(default)s)")
    data.add_argument("--plot-tickers", nargs="+", default=None, metavar="T",
                      help="tickers drawn in test_forecasts.png (default: up to 4, in alphabetical order)")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", choices=sorted(CELLS), default="lstm", help="recurrent cell (default: %(default)s)")
    model.add_argument("--units", type=int, default=64, help="units per recurrent layer and direction (default: %(default)s)")
    model.add_argument("--layers", type=int, default=2, help="stacked recurrent layers (default: %(default)s)")
    model.add_argument("--bidirectional", action="store_true", help="read each window in both directions")
    model.add_argument("--dropout", type=float, default=0.1, help="dropout between layers and before the head (default: %(default)s)")
    model.add_argument("--shrink", action=argparse.BooleanOptionalAction, default=True,
                       help="after training, shrink the forecast toward the training mean return by a factor in "
                            "[0, 1] fitted on the validation days; --no-shrink keeps the network as trained "
                            "(default: on)")
    model.add_argument("--loss", choices=("mse", "huber"), default="mse",
                       help="error on scaled log returns; huber is robust to earnings-day jumps (default: %(default)s)")
    add_output_arguments(parser)
    add_training_arguments(parser, epochs=30, batch_size=128, learning_rate=1e-3, patience=5)
    return parser


def check_arguments(args):
    for name in ("window", "horizon", "ma_days", "units", "layers", "batch_size"):
        if getattr(args, name) < 1:
            raise SeqappsError(f"--{name.replace('_', '-')} must be at least 1")
    if args.window < 2:
        raise SeqappsError("--window must be at least 2 (a return needs two days)")
    if args.ma_days > args.window:
        raise SeqappsError(f"--ma-days {args.ma_days} is longer than --window {args.window}")


def read_data(args):
    adjust = {"auto": "auto", "on": True, "off": False}[args.adjust_splits]
    data = load_prices(args.data, tickers=args.ticker, encoding=args.encoding, adjust_splits=adjust,
                       use_adjusted_close=args.adjusted_close, on_bad_row=args.on_bad_row)
    banner = "DEMO DATA (synthetic prices, not a market)" if data.is_demo else "data"
    print(f"{banner}: {data.source}")
    return data


def forecast(model, table, samples, window, output="price", batch_size=2048):
    """The model's ``output`` (price or log_return) ``[samples, horizon]``, every sample included.

    A plain ``tf.function`` instead of ``model.predict`` also works for a model built
    under a distribution strategy.
    """
    forward = tf.function(lambda ohlcv: model(ohlcv, training=False)[output], reduce_retracing=True)
    parts = [forward(windows(table, samples.ends[start:start + batch_size], window)).numpy()
             for start in range(0, len(samples), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def forecast_frame(table, samples, model_prices, args):
    """Everything the report needs about the test samples, as flat arrays."""
    ends = samples.ends
    offsets = np.arange(1, args.horizon + 1)
    return {
        "ends": ends,
        "actual": table.close[ends[:, None] + offsets],
        "last": table.close[ends],
        "model": model_prices,
        **baseline_forecasts(table.close, ends, table.starts[ends], horizon=args.horizon, ma_days=args.ma_days),
    }


def concatenate_frames(frames):
    return {key: np.concatenate([frame[key] for frame in frames]) for key in frames[0]}


def score(table, frame, horizon):
    """Model and baselines per horizon, plus on how many tickers the model wins."""
    tickers = np.asarray(table.tickers)[table.ticker_index[frame["ends"]]]
    result = {}
    for step in range(horizon):
        forecasts = {name: frame[name][:, step] for name in ("model",) + BASELINES}
        result[f"horizon_{step + 1}"] = {
            **compare(frame["actual"][:, step], frame["last"], forecasts),
            "per_ticker": per_ticker_rmse_wins(frame["actual"][:, step], frame["last"], frame["model"][:, step], tickers),
        }
    days = table.dates[frame["ends"] + 1]
    result["forecasts"] = int(len(frame["ends"]))
    result["tickers"] = int(len(np.unique(tickers)))
    result["first_forecast_day"], result["last_forecast_day"] = str(days.min()), str(days.max())
    return result


def print_report(scores, args, title):
    print(f"\n{title}: {scores['forecasts']:,} forecasts for {scores['tickers']} ticker(s), "
          f"days {scores['first_forecast_day']} .. {scores['last_forecast_day']}")
    for horizon in sorted({1, args.horizon}):
        table = scores[f"horizon_{horizon}"]
        print(format_table(table, horizon=horizon, ma_days=args.ma_days))
        wins = table["per_ticker"]
        if wins["tickers"] > 1:
            print(f"  per ticker: the model has the lower RMSE on {wins['tickers_beating_persistence']} "
                  f"of {wins['tickers']} tickers")


def train_fold(args, strategy, table, period, fold_dir):
    """Fit one model on the training days before ``period`` and forecast its test days."""
    samples = make_samples(table, period, window=args.window, horizon=args.horizon)
    print(f"{period.describe()}\nsamples: {len(samples['train']):,} train, {len(samples['validation']):,} "
          f"validation, {len(samples['test']):,} test")
    scaling = fit_scaling(table, samples["train"], window=args.window)
    replicas = strategy.num_replicas_in_sync
    data = {split: window_dataset(table, samples[split], window=args.window, batch_size=args.batch_size,
                                  shuffle=split == "train", seed=args.seed, drop_remainder=replicas > 1)
            for split in ("train", "validation")}
    options = model_options(args, scaling)
    set_seed(args.seed)
    with strategy.scope():
        model = build_model(**options)
        model.compile(optimizer=make_optimizer(args), loss={"log_return": scaled_loss(scaling, args.loss)})
    training = fit(model, data["train"], data["validation"], args=args, run_dir=fold_dir)
    if args.shrink:
        validation = samples["validation"]
        factor = fit_shrinkage(model, forecast(model, table, validation, args.window, "log_return"),
                               validation.targets, scaling)
        training["shrinkage"] = factor.tolist()
        print(f"shrinkage toward the training mean return, fitted on the validation days: "
              f"{' '.join(f'{value:.3f}' for value in factor)} per horizon (1: the network as trained, "
              f"0: the mean return only)")
    frame = forecast_frame(table, samples["test"], forecast(model, table, samples["test"], args.window), args)
    return model, options, scaling, training, frame, samples


def model_options(args, scaling):
    return dict(window=args.window, horizon=args.horizon, scaling=scaling, cell=args.cell, units=args.units,
                layers=args.layers, bidirectional=args.bidirectional, dropout=args.dropout)


def main(argv=None):
    args = build_parser().parse_args(argv)
    check_arguments(args)
    strategy = start_run(args)
    data = read_data(args)
    table = make_table(data)
    periods = split_periods(table.dates, test_days=args.test_days, validation_days=args.validation_days,
                            folds=args.walk_forward)
    run_dir, _ = prepare_run_dir("stocks", args.run_dir, vars(args), fresh=args.fresh,
                                 outputs=("test_forecasts.csv", "test_forecasts.png"))

    folds, frames = [], []
    for number, period in enumerate(periods, start=1):
        fold_dir = run_dir
        if len(periods) > 1:
            print(f"\n=== walk-forward fold {number} of {len(periods)} ===")
            fold_dir, _ = prepare_run_dir("stocks", run_dir / f"fold-{number}", vars(args), fresh=args.fresh)
        model, options, scaling, training, frame, samples = train_fold(args, strategy, table, period, fold_dir)
        scores = score(table, frame, args.horizon)
        if len(periods) > 1:
            print_report(scores, args, f"fold {number} test")
        frames.append(frame)
        folds.append({"period": {"validation_start": str(period.validation_start), "test_start": str(period.test_start),
                                 "test_end_exclusive": str(period.test_end)},
                      "samples": {split: len(part) for split, part in samples.items()},
                      "training": training, "test": scores, "scaling": scaling.to_dict()})

    pooled = concatenate_frames(frames)
    test = score(table, pooled, args.horizon)
    print_report(test, args, "test" if len(periods) == 1 else f"all {len(periods)} walk-forward folds together")
    write_forecasts(run_dir / "test_forecasts.csv", table, pooled)
    plot = plot_forecasts(run_dir / "test_forecasts.png", table, pooled, tickers=args.plot_tickers)
    print(f"forecast plot: {plot}")
    write_metrics(run_dir, {
        "app": "stocks", "data": data.source, "demo_data": data.is_demo, "tickers": table.tickers,
        "ticker_count": len(table.tickers), "repairs": data.repairs, "window": args.window,
        "horizon": args.horizon, "test": test, "folds": folds,
    })
    if not args.no_export:
        last_window_ends = samples["test"].ends[-64:]
        bundle = make_bundle(model, lambda: build_model(use_cudnn=False, **options), options, scaling,
                             parity_windows=windows(table, last_window_ends, args.window),
                             metrics={"test_rmse_ratio_to_persistence":
                                      test["horizon_1"]["model_vs_persistence"]["rmse_ratio"],
                                      "test_direction_accuracy": test["horizon_1"]["model"]["direction_accuracy"],
                                      "demo_data": data.is_demo})
        export_app(bundle, args.export_dir)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
