"""The predict contract every app follows.

``python -m apps.<app>.predict [INPUT ...]`` reads inputs from its arguments, or one per
line from standard input; ``--runtime savedmodel|onnx`` picks the exported artifact;
``--export-dir DIR`` picks the export root; ``--json`` prints one JSON object per input,
in input order, so scripts and other runtimes can compare results line by line.
"""

import json
import sys


def add_predict_arguments(parser, *, input_help):
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help=f"{input_help} (default: one per line from standard input)")
    parser.add_argument("--runtime", choices=("savedmodel", "onnx"), default="savedmodel",
                        help="run the exported SavedModel (TensorFlow) or the ONNX model (onnxruntime) (default: %(default)s)")
    parser.add_argument("--export-dir", default=None, metavar="DIR",
                        help="export root holding <app>/manifest.json (default: exported/ or $SEQAPPS_EXPORT_DIR)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input")
    parser.add_argument("--batch-size", type=int, default=64, help="inputs per model call (default: %(default)s)")
    return parser


def read_inputs(args, stdin=None):
    """The positional inputs, or every line of standard input (blank lines included)."""
    if args.inputs:
        return list(args.inputs)
    stream = stdin or sys.stdin
    return [line.rstrip("\r\n") for line in stream]


def batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def emit(rows, *, as_json, format_row, stream=None):
    """Print rows as JSON lines or as human-readable lines."""
    stream = stream or sys.stdout
    for row in rows:
        print(json.dumps(row, ensure_ascii=False) if as_json else format_row(row), file=stream)
