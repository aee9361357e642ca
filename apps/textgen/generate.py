"""Continue a prompt with an exported language model (SavedModel or ONNX).

    python -m apps.textgen.generate --prompt "The fire" --length 30 --temperature 0.8 --top-k 40 --seed 7
    python -m apps.textgen.generate --prompt "The fire" --temperature 0 --runtime onnx --json

``--temperature 0`` (or ``--top-k 1``) is greedy and gives the same tokens in both runtimes.
Sampling is repeatable per ``--seed`` within one runtime: the SavedModel samples with
``tf.random.stateless_categorical``, the ONNX route with NumPy, so their samples differ.
Generation stops early after [EOS] (the end of a document). Without ``--prompt``, prompts
are read one per line from standard input.
"""

import argparse

from apps.textgen.runtime import load_backend
from shared.errors import SeqappsError, run_cli
from shared.predict import emit


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.textgen.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompt", action="append", default=None, help="text to continue; repeatable (default: one prompt per line from standard input)")
    parser.add_argument("--length", type=int, default=50, help="most tokens to generate (default: %(default)s)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature; 0 is greedy (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=0, help="sample among the K likeliest tokens; 0: all (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed: one seed, one text (default: %(default)s)")
    parser.add_argument("--runtime", choices=("savedmodel", "onnx"), default="savedmodel", help="run the exported SavedModel (TensorFlow) or the ONNX step model (onnxruntime) (default: %(default)s)")
    parser.add_argument("--export-dir", default=None, metavar="DIR", help="export root holding textgen/manifest.json (default: exported/ or $SEQAPPS_EXPORT_DIR)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per prompt")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def check(args):
    if args.length < 0 or args.temperature < 0 or args.top_k < 0:
        raise SeqappsError("--length, --temperature and --top-k must not be negative")
    if not -2 ** 31 <= args.seed < 2 ** 31:
        raise SeqappsError("--seed must fit in 32 bits")


def generate(prompts, *, length, temperature=1.0, top_k=0, seed=0, runtime="savedmodel", export_dir=None):
    """One row per prompt: the prompt, the continuation, its token ids and log-probability."""
    backend = load_backend(runtime, export_dir)
    rows = []
    for prompt in prompts:
        out = backend.generate(prompt, length, temperature, top_k, seed)
        joiner = "" if backend.level == "char" or not prompt or not out["text"] else " "
        rows.append({"prompt": prompt, "text": out["text"], "full_text": prompt + joiner + out["text"],
                     "token_ids": out["token_ids"], "log_prob": round(out["log_prob"], 4)})
    return rows


def main(argv=None):
    import sys

    args = build_parser().parse_args(argv)
    check(args)
    prompts = args.prompt if args.prompt is not None else [line.rstrip("\r\n") for line in sys.stdin]
    rows = generate(prompts, length=args.length, temperature=args.temperature, top_k=args.top_k, seed=args.seed,
                    runtime=args.runtime, export_dir=args.export_dir)
    emit(rows, as_json=args.json, format_row=lambda row: row["full_text"])
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
