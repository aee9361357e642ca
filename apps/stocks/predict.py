"""Forecast the next closes from the latest window of a price file, with an exported model.

    python -m apps.stocks.predict prices.csv
    python -m apps.stocks.predict all_stocks_5yr.csv.gz --ticker AAPL --ticker MSFT --json
    python -m apps.stocks.predict matplotlib:goog --as-of 2008-06-30 --runtime onnx

Each input is a CSV file (any layout the train command reads) or a built-in source. The
file's rows are validated and repaired exactly as in training (repairs are reported on
standard error), and the last ``window`` trading days up to ``--as-of`` are fed to the
model. The output is one forecast per ticker: the close for each of the next ``horizon``
trading days.
"""

import argparse
import json
import sys

import numpy as np

from apps.stocks.data import load_prices
from shared.errors import SeqappsError, run_cli
from shared.predict import add_predict_arguments, batches, emit, read_inputs
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.stocks.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="price files (CSV) or built-in sources such as matplotlib:goog")
    parser.add_argument("--ticker", action="append", default=None, metavar="T",
                        help="forecast only this ticker (repeat for several; default: every ticker)")
    parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                        help="use the window ending on the last trading day at or before this date (default: the latest)")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the files (default: %(default)s)")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def latest_window(series, window, as_of=None):
    """The last ``window`` rows up to ``as_of`` (inclusive) and the date of the last one."""
    end = len(series)
    if as_of is not None:
        end = int(np.searchsorted(series.dates, np.datetime64(as_of, "D"), side="right"))
    if end < window:
        when = f" up to {as_of}" if as_of else ""
        raise SeqappsError(f"{series.ticker}: the model needs {window} trading days{when}, the data has {end}")
    return series.ohlcv[end - window:end].astype(np.float32), series.dates[end - 1]


def make_predictor(manifest, runtime):
    if runtime == "savedmodel":
        runner = SavedModelRunner(artifact_path(manifest, manifest["savedmodel"]["path"]))
    else:
        runner = OnnxRunner(artifact_path(manifest, manifest["onnx"]["path"]))
    return lambda ohlcv: runner(ohlcv=ohlcv)


def forecast(sources, *, tickers=None, as_of=None, runtime="savedmodel", export_dir=None, encoding="utf-8",
             batch_size=64, log=None):
    """One row per ticker: the last known close and the forecast for each horizon."""
    log = log or (lambda message: print(message, file=sys.stderr))
    if as_of is not None:
        try:
            np.datetime64(as_of, "D")
        except ValueError:
            raise SeqappsError(f"--as-of {as_of!r}: expected a date YYYY-MM-DD") from None
    manifest = load_manifest("stocks", export_dir)
    spec = json.loads(artifact_path(manifest, manifest["files"]["features.json"]).read_text())
    predict = make_predictor(manifest, runtime)
    known = []
    for source in sources:
        data = load_prices(source, tickers=tickers, encoding=encoding, log=log)
        known += [(source, series.ticker, *latest_window(series, spec["window"], as_of))
                  for series in data.series.values()]
    rows = []
    for chunk in batches(known, batch_size):
        prices = np.asarray(predict(np.stack([window for _, _, window, _ in chunk]))["price"])
        for (source, ticker, window, last_day), forecast_prices in zip(chunk, prices):
            last_close = float(window[-1, 3])
            rows.append({
                "source": source, "ticker": ticker, "last_known_day": str(last_day), "last_close": round(last_close, 6),
                "forecast": [{"days_ahead": step + 1, "price": round(float(price), 6),
                              "change_percent": round(100.0 * (float(price) / last_close - 1.0), 4)}
                             for step, price in enumerate(forecast_prices)],
            })
    return rows


def format_row(row):
    steps = "  ".join(f"+{f['days_ahead']}d {f['price']:.2f} ({f['change_percent']:+.2f}%)" for f in row["forecast"])
    return f"{row['ticker']}\t{row['last_known_day']}\tclose {row['last_close']:.2f}\t{steps}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    sources = [source for source in read_inputs(args) if source.strip()]
    if not sources:
        raise SeqappsError("no price file given: pass CSV paths or built-in sources (e.g. matplotlib:goog)")
    rows = forecast(sources, tickers=args.ticker, as_of=args.as_of, runtime=args.runtime,
                    export_dir=args.export_dir, encoding=args.encoding, batch_size=args.batch_size)
    emit(rows, as_json=args.json, format_row=format_row)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
