"""The predict contract every app follows.

``python -m apps.<app>.predict [INPUT ...]`` reads inputs from its arguments, or one per
line from standard input; ``--runtime savedmodel|onnx`` picks the exported artifact;
``--export-dir DIR`` picks the export root; ``--json`` prints one JSON object per input,
in input order, so scripts and other runtimes can compare results line by line.
"""

import json
import sys

from shared.errors import SeqappsError
from shared.serving import artifact_path


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


def add_beam_argument(parser):
    """``--beam`` for apps that decode step by step (captioning, translation)."""
    parser.add_argument("--beam", type=int, default=None,
                        help="beam width for --runtime onnx (default: the one the model was exported with)")


def decoding_options(manifest, beam, runtime):
    """The export's ``decoding.json`` with ``--beam`` applied.

    The SavedModel's beam width is part of its graph, so another width is an error there;
    the ONNX step model is driven from Python and takes any width.
    """
    if beam is not None and beam < 1:
        raise SeqappsError(f"--beam must be at least 1, not {beam}")
    decoding = json.loads(artifact_path(manifest, manifest["files"]["decoding.json"]).read_text(encoding="utf-8"))
    if beam is not None and beam != decoding["beam_size"]:
        if runtime == "savedmodel":
            raise SeqappsError(f"the SavedModel decodes with beam {decoding['beam_size']} (fixed at export); "
                               f"use --runtime onnx for --beam {beam}")
        decoding["beam_size"] = beam
    return decoding
