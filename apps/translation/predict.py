"""Translate sentences with an exported translation model (SavedModel or ONNX).

    python -m apps.translation.predict "Where is the station?" "I like green apples."
    cat sentences.txt | python -m apps.translation.predict --runtime onnx --json --beam 1

The SavedModel normalises, tokenises, decodes (with the beam width chosen at training time)
and detokenises inside its graph. The ONNX route tokenises with the Python reference
tokenizer from ``source_tokenizer.json``, runs ``encoder.onnx`` once per batch and
``decoder_step.onnx`` once per output token from the reference loop in
``shared/decoding.py``, and detokenises by the rules in ``decoding.json``; ``--beam``
changes the beam width there.
"""

import argparse
import json

import numpy as np

from shared.errors import SeqappsError, run_cli
from shared.predict import add_predict_arguments, batches, emit, read_inputs
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest
from shared.text import Tokenizer


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.translation.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="source sentences")
    parser.add_argument("--beam", type=int, default=None,
                        help="beam width for --runtime onnx (default: the one the model was exported with)")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def _decoding(manifest):
    return json.loads(artifact_path(manifest, manifest["files"]["decoding.json"]).read_text(encoding="utf-8"))


def savedmodel_translator(manifest, beam):
    decoding = _decoding(manifest)
    if beam is not None and beam != decoding["beam_size"]:
        raise SeqappsError(f"the SavedModel decodes with beam {decoding['beam_size']} (fixed at export); "
                           f"use --runtime onnx for --beam {beam}")
    runner = SavedModelRunner(artifact_path(manifest, manifest["savedmodel"]["path"]))

    def translate(texts):
        out = runner(text=np.array(texts, dtype=object))
        return [(str(text), [int(i) for i in ids], float(score))
                for text, ids, score in zip(out["translation"], out["token_ids"], out["score"])]
    return translate


def onnx_translator(manifest, beam):
    from apps.translation.export import onnx_translate, texts_of

    models = manifest["onnx"]["models"]
    encoder = OnnxRunner(artifact_path(manifest, models["encoder"]["path"]))
    step = OnnxRunner(artifact_path(manifest, models["decoder_step"]["path"]))
    source = Tokenizer.load(artifact_path(manifest, manifest["files"]["source_tokenizer.json"]))
    target = Tokenizer.load(artifact_path(manifest, manifest["files"]["target_tokenizer.json"]))
    decoding = _decoding(manifest)
    if beam is not None:
        decoding["beam_size"] = beam

    def translate(texts):
        ids, scores = onnx_translate(encoder, step, np.array(source.encode_batch(texts), np.int32), decoding)
        return [(text, [int(i) for i in row], float(score))
                for text, row, score in zip(texts_of(target, ids), ids, scores)]
    return translate


def translate_sentences(texts, *, runtime="savedmodel", export_dir=None, batch_size=64, beam=None):
    """One row per input sentence: its translation, token ids and log-probability score."""
    if beam is not None and beam < 1:
        raise SeqappsError(f"--beam must be at least 1, not {beam}")
    manifest = load_manifest("translation", export_dir)
    translate = (savedmodel_translator if runtime == "savedmodel" else onnx_translator)(manifest, beam)
    rows = []
    for chunk in batches(list(texts), batch_size):
        for text, (translation, ids, score) in zip(chunk, translate(chunk)):
            rows.append({"text": text, "translation": translation, "token_ids": ids, "score": round(score, 6)})
    return rows


def format_row(row):
    return row["translation"]


def main(argv=None):
    args = build_parser().parse_args(argv)
    rows = translate_sentences(read_inputs(args), runtime=args.runtime, export_dir=args.export_dir,
                               batch_size=args.batch_size, beam=args.beam)
    emit(rows, as_json=args.json, format_row=format_row)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
