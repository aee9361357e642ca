"""Classify texts with an exported sentiment model (SavedModel or ONNX).

    python -m apps.sentiment.predict "What a wonderful film" "Dull and far too long"
    cat reviews.txt | python -m apps.sentiment.predict --runtime onnx --json
"""

import argparse
import json

import numpy as np

from shared.errors import run_cli
from shared.predict import add_predict_arguments, batches, emit, read_inputs
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest
from shared.text import Tokenizer


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.sentiment.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="texts to classify")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def savedmodel_predictor(manifest):
    runner = SavedModelRunner(artifact_path(manifest, manifest["savedmodel"]["path"]))
    return lambda texts: runner(text=np.array(texts, dtype=object))["probabilities"]


def onnx_predictor(manifest):
    tokenizer = Tokenizer.load(artifact_path(manifest, manifest["files"]["tokenizer.json"]))
    runner = OnnxRunner(artifact_path(manifest, manifest["onnx"]["path"]))
    return lambda texts: runner(token_ids=np.array(tokenizer.encode_batch(texts), np.int32))["probabilities"]


def classify(texts, *, runtime="savedmodel", export_dir=None, batch_size=64):
    """One row per text: the text, its label and every label's probability."""
    manifest = load_manifest("sentiment", export_dir)
    labels = json.loads(artifact_path(manifest, manifest["files"]["labels.json"]).read_text())["labels"]
    predict = (savedmodel_predictor if runtime == "savedmodel" else onnx_predictor)(manifest)
    rows = []
    for chunk in batches(texts, batch_size):
        for text, probabilities in zip(chunk, np.asarray(predict(chunk))):
            best = int(np.argmax(probabilities))
            rows.append({"text": text, "label": labels[best], "probability": round(float(probabilities[best]), 6),
                         "probabilities": {label: round(float(p), 6) for label, p in zip(labels, probabilities)}})
    return rows


def format_row(row):
    text = row["text"] if len(row["text"]) <= 70 else row["text"][:67] + "..."
    return f"{row['label']}\t{row['probability']:.3f}\t{text}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    texts = read_inputs(args)
    rows = classify(texts, runtime=args.runtime, export_dir=args.export_dir, batch_size=args.batch_size)
    emit(rows, as_json=args.json, format_row=format_row)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
