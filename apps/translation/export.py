"""What the translation app hands to the shared exporter.

The SavedModel's ``serving_default`` takes source sentences (``text``, string ``[batch]``)
and returns ``translation`` (string), ``token_ids`` ``[batch, steps]`` (ending in [EOS]
then [PAD]) and ``score`` (the translation's log-probability): normalisation, tokenisation,
the encoder, the beam search chosen at training time and detokenisation all run in the graph.

ONNX comes as two graphs driven by a host loop (:mod:`shared.decoding` has the NumPy
reference, used by ``predict --runtime onnx``): ``encoder.onnx`` takes ``source`` ids and
returns the decoder's first state; ``decoder_step.onnx`` takes the previous ``token`` and
the state and returns ``log_probs`` of the next token, ``new_h``/``new_c`` (and the
``attention`` weights). ``source_tokenizer.json`` and ``target_tokenizer.json`` are the
tokenizer specs, ``decoding.json`` the beam width, length limit and detokenisation rules.
Parity is checked token for token and string for string.
"""

import numpy as np
import tensorflow as tf

from apps.translation.evaluate import max_decode_steps, translate_function
from shared.decoding import decode_np, step_function
from shared.export import ExportBundle, ExportError, max_difference
from shared.serving import OnnxRunner, run_savedmodel_in_fresh_process
from shared.text import BOS_ID, DETOKENIZE_RULES, EOS_ID, PAD_ID, detokenize, words_until_eos
from shared.text_tf import TokenIds, join_until_eos


def serving_function(translator, source_tokenizer, target_tokenizer, decoding):
    source_ids = TokenIds(source_tokenizer)
    run = translate_function(translator, beam_size=decoding["beam_size"], max_length=decoding["max_length"],
                             length_penalty=decoding["length_penalty"])
    vocabulary = list(target_tokenizer.vocabulary.tokens)

    def serve(text):
        token_ids, scores = run(source_ids(text))
        return {"translation": join_until_eos(token_ids, vocabulary, detokenize=True), "token_ids": token_ids,
                "score": scores}

    return serve, [tf.TensorSpec([None], tf.string, name="text")], [source_ids, translator.training_model]


def onnx_translate(encoder, step, source_ids, decoding):
    """Token ids and scores from the two ONNX graphs and the NumPy reference decoder."""
    state = encoder(source=np.asarray(source_ids, np.int32))
    return decode_np(step_function(lambda feed: step(**feed)), state, beam_size=decoding["beam_size"],
                     max_length=decoding["max_length"], length_penalty=decoding["length_penalty"])


def texts_of(target_tokenizer, token_ids):
    return [detokenize(words_until_eos(target_tokenizer, row)) for row in token_ids]


def parity_check(source_tokenizer, target_tokenizer, texts, decoding):
    """Keras (in process) vs the SavedModel (fresh process, raw strings) vs ONNX (Python tokenizer ids)."""
    def check(model, staging, tolerance, log):
        ids = np.array(source_tokenizer.encode_batch(texts), np.int32)
        run = translate_function(model, beam_size=decoding["beam_size"], max_length=decoding["max_length"],
                                 length_penalty=decoding["length_penalty"])
        keras_ids, keras_scores = (t.numpy() for t in run(tf.constant(ids)))
        saved = run_savedmodel_in_fresh_process(staging / "savedmodel", {"text": list(texts)}, staging)
        encoder = OnnxRunner(staging / "onnx" / "encoder.onnx")
        step = OnnxRunner(staging / "onnx" / "decoder_step.onnx")
        onnx_ids, onnx_scores = onnx_translate(encoder, step, ids, decoding)
        keras_state = model.encoder_model()({"source": ids})
        onnx_state = encoder(source=ids)
        keras_texts = texts_of(target_tokenizer, keras_ids)
        report = {
            "examples": len(texts), "tolerance": tolerance, "decoding": {k: decoding[k] for k in
                                                                       ("beam_size", "max_length", "length_penalty")},
            "token_ids_equal": {"keras_vs_savedmodel": bool(np.array_equal(keras_ids, saved["token_ids"])),
                                "keras_vs_onnx": bool(np.array_equal(keras_ids, onnx_ids))},
            "translations_equal": {"keras_vs_savedmodel": keras_texts == list(saved["translation"]),
                                   "keras_vs_onnx": keras_texts == texts_of(target_tokenizer, onnx_ids)},
            "score": {"keras_vs_savedmodel": max_difference(keras_scores, saved["score"]),
                      "keras_vs_onnx": max_difference(keras_scores, onnx_scores)},
            "encoder_state": {name: max_difference(keras_state[name].numpy(), onnx_state[name])
                              for name in keras_state},
        }
        log(f"parity on {len(texts)} sentences: token ids equal Keras/SavedModel "
            f"{report['token_ids_equal']['keras_vs_savedmodel']}, Keras/ONNX {report['token_ids_equal']['keras_vs_onnx']}; "
            f"translations equal {all(report['translations_equal'].values())}; "
            f"max score difference {max(report['score'].values()):.2e}")
        worst = max(max(report["score"].values()), max(report["encoder_state"].values()))
        if not (all(report["token_ids_equal"].values()) and all(report["translations_equal"].values())
                and worst <= tolerance):
            raise ExportError(f"translation parity failed: {report}; the previous export is kept")
        return report
    return check


def make_bundle(translator, build_float32, source_tokenizer, target_tokenizer, *, parity_texts, beam_size,
                length_penalty, metrics):
    decoding = {"beam_size": int(beam_size), "max_length": max_decode_steps(target_tokenizer),
                "length_penalty": float(length_penalty), "state": list(translator.state_names),
                "bos_id": BOS_ID, "eos_id": EOS_ID, "pad_id": PAD_ID,
                "detokenize": {"rules": [list(rule) for rule in DETOKENIZE_RULES],
                               "how": "join the tokens up to [EOS] (special tokens dropped) with single spaces, "
                                      "then apply each (regex, replacement) rule in order, replacing every match"}}
    return ExportBundle(
        app="translation",
        model=translator,
        build_float32=build_float32,
        serving_fn=lambda float_model: serving_function(float_model, source_tokenizer, target_tokenizer, decoding),
        onnx_models=lambda float_model: {"encoder": float_model.encoder_model(),
                                         "decoder_step": float_model.step_model()},
        check_parity=parity_check(source_tokenizer, target_tokenizer, list(parity_texts), decoding),
        files={"source_tokenizer.json": source_tokenizer.to_dict(), "target_tokenizer.json": target_tokenizer.to_dict(),
               "decoding.json": decoding},
        metrics=metrics,
    )
