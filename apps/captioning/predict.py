"""Caption images with an exported captioning model (SavedModel or ONNX).

    python -m apps.captioning.predict photo.jpg other.png
    ls photos/*.jpg | python -m apps.captioning.predict --runtime onnx --json

The SavedModel decodes the image files and runs the whole beam search in its graph. The
ONNX route decodes and resizes with Pillow, runs ``encoder.onnx`` once per image and
``decoder_step.onnx`` once per word from the reference loop in ``shared/decoding.py``;
``--beam`` changes the beam width there (the SavedModel's is fixed at export).
"""

import argparse
from pathlib import Path

import numpy as np

from apps.captioning.images import check_image
from shared.errors import SeqappsError, run_cli
from shared.predict import add_beam_argument, add_predict_arguments, batches, decoding_options, emit, read_inputs
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest
from shared.text import Tokenizer


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.captioning.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="image files (JPEG, PNG, GIF, BMP)")
    add_beam_argument(parser)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def read_image_files(paths):
    """Every file's bytes, checked up front so one bad file is named before any work is done."""
    contents = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise SeqappsError(f"{path}: no such image file")
        data = path.read_bytes()
        try:
            check_image(data)
        except ValueError as error:
            raise SeqappsError(f"{path}: {error}") from None
        contents.append(data)
    return contents


class UndecodableImage(Exception):
    def __init__(self, index, reason):
        super().__init__(reason)
        self.index, self.reason = index, reason


def savedmodel_captioner(manifest, decoding):
    runner = SavedModelRunner(artifact_path(manifest, manifest["savedmodel"]["path"]))

    def caption(contents):
        try:
            out = runner(image_bytes=np.array(contents, dtype=object))
        except runner._tf.errors.InvalidArgumentError:
            # Pillow's verify() passes some corrupt JPEGs that the graph's decoder refuses:
            # find which one, so the user gets its name rather than a traceback
            for index, data in enumerate(contents):
                try:
                    runner(image_bytes=np.array([data], dtype=object))
                except runner._tf.errors.InvalidArgumentError:
                    raise UndecodableImage(index, "corrupt image data") from None
            raise
        return [(str(text), [int(i) for i in ids], float(score))
                for text, ids, score in zip(out["caption"], out["token_ids"], out["score"])]
    return caption


def onnx_captioner(manifest, decoding):
    from apps.captioning.encoder import read_pixels_pil
    from apps.captioning.export import onnx_caption
    from apps.captioning.vocab import words_from_ids

    models = manifest["onnx"]["models"]
    encoder = OnnxRunner(artifact_path(manifest, models["encoder"]["path"]))
    step = OnnxRunner(artifact_path(manifest, models["decoder_step"]["path"]))
    tokenizer = Tokenizer.load(artifact_path(manifest, manifest["files"]["vocabulary.json"]))

    def caption(contents):
        pixels = np.stack([read_pixels_pil(data, decoding["image_size"]) for data in contents])
        ids, scores = onnx_caption(encoder, step, pixels, decoding)
        return [(" ".join(words_from_ids(tokenizer, row)), [int(i) for i in row], float(score))
                for row, score in zip(ids, scores)]
    return caption


def caption_files(paths, *, runtime="savedmodel", export_dir=None, batch_size=16, beam=None):
    """One row per image file: its caption, token ids and log-probability score."""
    contents = read_image_files(paths)
    manifest = load_manifest("captioning", export_dir)
    decoding = decoding_options(manifest, beam, runtime)
    caption = (savedmodel_captioner if runtime == "savedmodel" else onnx_captioner)(manifest, decoding)
    rows = []
    for chunk_paths, chunk in zip(batches(list(paths), batch_size), batches(contents, batch_size)):
        try:
            captions = caption(chunk)
        except UndecodableImage as error:
            raise SeqappsError(f"{chunk_paths[error.index]}: not a readable image ({error.reason})") from None
        for path, (text, ids, score) in zip(chunk_paths, captions):
            rows.append({"image": str(path), "caption": text, "token_ids": ids, "score": round(score, 6)})
    return rows


def format_row(row):
    return f"{row['image']}\t{row['caption']}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    paths = [path for path in read_inputs(args) if path.strip()]
    rows = caption_files(paths, runtime=args.runtime, export_dir=args.export_dir, batch_size=args.batch_size,
                         beam=args.beam)
    emit(rows, as_json=args.json, format_row=format_row)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
