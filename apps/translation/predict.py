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

import numpy as np

from shared.errors import run_cli
from shared.predict import add_beam_argument, add_predict_arguments, batches, decoding_options, emit, read_inputs
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest
from shared.text import Tokenizer


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.translation.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="source sentences")
    add_beam_argument(parser)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def savedmodel_translator(manifest, decoding):
    runner = SavedModelRunner(artifact_path(manifest, manifest["savedmodel"]["path"]))

    def translate(texts):
        out = runner(text=np.array(texts, dtype=object))
        return [(str(text), [int(i) for i in ids], float(score))
                for text, ids, score in zip(out["translation"], out["token_ids"], out["score"])]
    return translate


def onnx_translator(manifest, decoding):
    from apps.translation.export import onnx_translate, texts_of

    models = manifest["onnx"]["models"]
    encoder = OnnxRunner(artifact_path(manifest, models["encoder"]["path"]))
    step = OnnxRunner(artifact_path(manifest, models["decoder_step"]["path"]))
    source = Tokenizer.load(artifact_path(manifest, manifest["files"]["source_tokenizer.json"]))
    target = Tokenizer.load(artifact_path(manifest, manifest["files"]["target_tokenizer.json"]))

    def translate(texts):
        ids, scores = onnx_translate(encoder, step, np.array(source.encode_batch(texts), np.int32), decoding)
        return [(text, [int(i) for i in row], float(score))
                for text, row, score in zip(texts_of(target, ids), ids, scores)]
    return translate


def translate_sentences(texts, *, runtime="savedmodel", export_dir=None, batch_size=64, beam=None):
    """One row per input sentence: its translation, token ids and log-probability score."""
    manifest = load_manifest("translation", export_dir)
    decoding = decoding_options(manifest, beam, runtime)
    translate = (savedmodel_translator if runtime == "savedmodel" else onnx_translator)(manifest, decoding)
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
