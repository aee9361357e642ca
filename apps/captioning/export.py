"""What the captioning app hands to the shared exporter.

SavedModel signatures (the whole decode runs inside the graph):

* ``serving_default``: ``image_bytes`` ``[batch]`` encoded JPEG/PNG/GIF/BMP files;
* ``caption_pixels``: ``pixels`` ``uint8 [batch, size, size, 3]`` already decoded and resized;

both return ``caption`` (string), ``token_ids`` ``[batch, max_words + 1]`` (ending in [EOS]
then [PAD]) and ``score`` (the caption's log-probability), decoded with the beam width
chosen at training time.

ONNX comes as two graphs driven by a host loop (:mod:`shared.decoding` has the NumPy
reference, used by ``predict --runtime onnx``): ``encoder.onnx`` takes ``pixels`` and
returns the decoder's first state; ``decoder_step.onnx`` takes the previous ``token`` and
the state and returns ``log_probs`` of the next token and ``new_h``/``new_c`` (and the
``attention`` weights). ``vocabulary.json`` maps ids to words; ``decoding.json`` holds the
beam width, maximum length and pixel contract. Parity is checked token for token.
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.captioning.encoder import decode_pixels, read_pixels, read_pixels_pil
from apps.captioning.evaluate import caption_function
from apps.captioning.vocab import max_words, words_from_ids
from shared.decoding import decode_np, step_function
from shared.export import ExportBundle, ExportError, max_difference
from shared.serving import OnnxRunner, run_savedmodel_in_fresh_process
from shared.text import BOS_ID, EOS_ID, PAD_ID
from shared.text_tf import join_until_eos


def serving_functions(captioner, tokenizer, decoding):
    size = captioner.image_size
    run = caption_function(captioner, beam_size=decoding["beam_size"], max_length=decoding["max_length"],
                           length_penalty=decoding["length_penalty"], from_pixels=True)
    vocabulary = list(tokenizer.vocabulary.tokens)

    def caption_pixels(pixels):
        token_ids, scores = run(pixels)
        return {"caption": join_until_eos(token_ids, vocabulary), "token_ids": token_ids, "score": scores}

    def serve(image_bytes):
        pixels = tf.map_fn(lambda data: decode_pixels(data, size), image_bytes,
                           fn_output_signature=tf.TensorSpec([size, size, 3], tf.uint8))
        return caption_pixels(pixels)

    pixel_spec = tf.TensorSpec([None, size, size, 3], tf.uint8, name="pixels")
    return (serve, [tf.TensorSpec([None], tf.string, name="image_bytes")], [captioner.full_model],
            {"caption_pixels": (caption_pixels, [pixel_spec])})


def onnx_caption(encoder, step, pixels, decoding):
    """Token ids and scores from the two ONNX graphs and the NumPy reference decoder."""
    state = encoder(pixels=np.asarray(pixels, np.uint8))
    return decode_np(step_function(lambda feed: step(**feed)), state, beam_size=decoding["beam_size"],
                     max_length=decoding["max_length"], length_penalty=decoding["length_penalty"])


def _pixel_agreement(pixels, pil_pixels, pil_ids, onnx_ids):
    """How far Pillow's pixels (the ONNX route) are from the graph's, and what that does to captions."""
    levels = np.abs(pixels.astype(int) - pil_pixels)
    return {"pixels_tensorflow_vs_pillow": {"max_levels": int(levels.max()), "mean_levels": float(levels.mean())},
            "captions_equal_with_pillow_pixels": float(np.mean([np.array_equal(a, b)
                                                                for a, b in zip(pil_ids, onnx_ids)]))}


def parity_check(tokenizer, image_paths, decoding):
    """Token-for-token parity: Keras (in process) vs the SavedModel (fresh process) vs ONNX.

    The SavedModel gets the image files' bytes, so its in-graph decoding is checked too;
    Keras and ONNX get the pixels the graph's decoder produces.
    """
    def check(model, staging, tolerance, log):
        pixels = np.stack([read_pixels(path, model.image_size) for path in image_paths])
        keras_ids, keras_scores = (t.numpy() for t in caption_function(
            model, beam_size=decoding["beam_size"], max_length=decoding["max_length"],
            length_penalty=decoding["length_penalty"], from_pixels=True)(tf.constant(pixels)))
        saved = run_savedmodel_in_fresh_process(
            staging / "savedmodel", {"image_bytes": [Path(path).read_bytes() for path in image_paths]}, staging)
        encoder = OnnxRunner(staging / "onnx" / "encoder.onnx")
        step = OnnxRunner(staging / "onnx" / "decoder_step.onnx")
        onnx_ids, onnx_scores = onnx_caption(encoder, step, pixels, decoding)
        keras_state = model.encoder_model()({"pixels": pixels})
        onnx_state = encoder(pixels=pixels)
        pil_pixels = np.stack([read_pixels_pil(path, model.image_size) for path in image_paths])
        report = {
            "examples": len(image_paths), "tolerance": tolerance, "decoding": decoding,
            "token_ids_equal": {"keras_vs_savedmodel": bool(np.array_equal(keras_ids, saved["token_ids"])),
                                "keras_vs_onnx": bool(np.array_equal(keras_ids, onnx_ids))},
            "captions_equal": [" ".join(words_from_ids(tokenizer, row)) for row in keras_ids] == list(saved["caption"]),
            "score": {"keras_vs_savedmodel": max_difference(keras_scores, saved["score"]),
                      "keras_vs_onnx": max_difference(keras_scores, onnx_scores)},
            "encoder_state": {name: max_difference(keras_state[name].numpy(), onnx_state[name], relative=True)
                              for name in keras_state},
            "encoder_state_measured": "relative to max(|value|, 1): CNN features reach the tens",
            **_pixel_agreement(pixels, pil_pixels, onnx_caption(encoder, step, pil_pixels, decoding)[0], onnx_ids),
        }
        log(f"parity on {len(image_paths)} images: token ids equal Keras/SavedModel "
            f"{report['token_ids_equal']['keras_vs_savedmodel']}, Keras/ONNX {report['token_ids_equal']['keras_vs_onnx']}; "
            f"max score difference {max(report['score'].values()):.2e}; "
            f"captions equal with Pillow pixels {report['captions_equal_with_pillow_pixels']:.0%}")
        worst = max(max(report["score"].values()), max(report["encoder_state"].values()))
        if not (all(report["token_ids_equal"].values()) and report["captions_equal"] and worst <= tolerance):
            raise ExportError(f"captioning parity failed: {report}; the previous export is kept")
        return report
    return check


def make_bundle(captioner, build_float32, tokenizer, *, parity_images, beam_size, length_penalty, metrics):
    decoding = {"beam_size": int(beam_size), "max_length": max_words(tokenizer) + 1,
                "length_penalty": float(length_penalty), "image_size": captioner.image_size,
                "pixels": "RGB uint8 [batch, size, size, 3]: decoded, resized to a square with antialiased bilinear",
                "state": list(captioner.state_names), "bos_id": BOS_ID, "eos_id": EOS_ID, "pad_id": PAD_ID}
    return ExportBundle(
        app="captioning",
        model=captioner,
        build_float32=build_float32,
        serving_fn=lambda float_model: serving_functions(float_model, tokenizer, decoding),
        onnx_models=lambda float_model: {"encoder": float_model.encoder_model(),
                                         "decoder_step": float_model.step_model()},
        check_parity=parity_check(tokenizer, list(parity_images), decoding),
        files={"vocabulary.json": tokenizer.to_dict(), "decoding.json": decoding},
        metrics=metrics,
    )
