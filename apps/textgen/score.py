"""Score sentences with an exported language model: log-probability and perplexity.

    python -m apps.textgen.score "The bushfire forced residents to leave." "leave to residents forced"
    cat sentences.txt | python -m apps.textgen.score --runtime onnx --json

Each input is read after [BOS] from a fresh state and must end in [EOS], so ``tokens``
counts its tokens plus one; ``log_prob`` is their summed natural log-probability and
``perplexity`` ``exp(-log_prob / tokens)``. Both runtimes agree to float32 rounding.
"""

import argparse

from apps.textgen.runtime import load_backend
from shared.errors import run_cli
from shared.predict import add_predict_arguments, batches, emit, read_inputs


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.textgen.score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="sentences to score")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def score_sentences(texts, *, runtime="savedmodel", export_dir=None, batch_size=64):
    """One row per sentence: the text, its log-probability, perplexity and target count."""
    backend = load_backend(runtime, export_dir)
    rows = []
    for chunk in batches(list(texts), batch_size):
        log_probs, perplexities, tokens = backend.score(chunk)
        rows.extend({"text": text, "log_prob": round(float(lp), 4), "perplexity": round(float(pp), 4),
                     "tokens": int(n)} for text, lp, pp, n in zip(chunk, log_probs, perplexities, tokens))
    return rows


def format_row(row):
    text = row["text"] if len(row["text"]) <= 60 else row["text"][:57] + "..."
    return f"{row['log_prob']:.3f}\t{row['perplexity']:.2f}\t{row['tokens']}\t{text}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    rows = score_sentences(read_inputs(args), runtime=args.runtime, export_dir=args.export_dir,
                           batch_size=args.batch_size)
    emit(rows, as_json=args.json, format_row=format_row)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
