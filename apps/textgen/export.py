"""What the language model hands to the shared exporter, and the export's parity check.

The SavedModel has two signatures:

* ``serving_default``, also named ``score``: ``sentences`` string ``[batch]`` -> ``log_prob`` (natural
  log, float32), ``perplexity`` and ``tokens`` (predictions counted: the tokens plus [EOS]);
* ``generate``: ``prompt`` string ``[]``, ``length``, ``temperature``, ``top_k``, ``seed`` ->
  ``text`` (the continuation, detokenised), ``token_ids`` ``[length]`` (ending in [EOS]
  then [PAD] when the model stopped early) and ``log_prob`` of the continuation.

Tokenisation (word or character level) runs inside the graph. ONNX is the step model
(``step.onnx``: ``token`` + ``h_i``/``c_i`` -> ``log_probs`` + ``new_h_i``/``new_c_i``), driven
from Python by the NumPy loops in ``apps/textgen/host_loop.py``; the tokenizer spec ships
beside it (``tokenizer.json`` or ``char_tokenizer.json``) with ``generation.json``.

The parity check scores real test documents with Keras, the SavedModel (in a fresh
process) and ONNX, and generates greedily from a few prompts with all three: scores must
agree within the tolerance (relative to ``max(|value|, 1)``: a long document's log-prob is
in the thousands) and generations token for token.
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from apps.textgen.data import is_char_level, join_tokens, pad_ids
from apps.textgen.host_loop import generate_np, score_ids_np
from apps.textgen.inference import generate_tf, score_ids_tf
from shared.export import ExportBundle, ExportError, max_difference
from shared.serving import OnnxRunner, run_savedmodel_in_fresh_process
from shared.text import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID, words_until_eos
from shared.text_tf import TokenIds, join_until_eos

class CharIds(tf.Module):
    """The character level's ids in the graph: NFC, code points, lookup; right-padded."""

    def __init__(self, tokenizer, name="char_ids"):
        super().__init__(name=name)
        tokens = tokenizer.vocabulary.tokens
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(tokens, tf.string), tf.range(len(tokens), dtype=tf.int64)),
            default_value=UNK_ID)

    def __call__(self, texts):
        chars = tf.strings.unicode_split(tf_text.normalize_utf8(texts, "NFC"), "UTF-8", errors="replace")
        ids = tf.cast(tf.ragged.map_flat_values(self.table.lookup, chars), tf.int32)
        return ids.to_tensor(default_value=PAD_ID)


def graph_ids(tokenizer):
    return CharIds(tokenizer) if is_char_level(tokenizer) else TokenIds(tokenizer)


def _join_graph(tokenizer, token_ids):
    """Generated ids ``[length]`` -> one string, the graph twin of :func:`data.join_tokens`."""
    vocabulary = list(tokenizer.vocabulary.tokens)
    if not is_char_level(tokenizer):
        return join_until_eos(token_ids[None], vocabulary, detokenize=True)[0]
    before_end = tf.math.cumsum(tf.cast(tf.equal(token_ids, EOS_ID), tf.int32), exclusive=True) == 0
    keep = tf.logical_and(before_end, token_ids >= len(SPECIAL_TOKENS))
    return tf.strings.reduce_join(tf.boolean_mask(tf.gather(tf.constant(vocabulary), token_ids), keep))


GENERATE_SIGNATURE = [tf.TensorSpec([], tf.string, name="prompt"), tf.TensorSpec([], tf.int32, name="length"),
                      tf.TensorSpec([], tf.float32, name="temperature"), tf.TensorSpec([], tf.int32, name="top_k"),
                      tf.TensorSpec([], tf.int32, name="seed")]


def serving_functions(lm, tokenizer):
    """``serving_default`` (score) and the ``generate`` endpoint, for ``ExportBundle.serving_fn``."""
    ids_of = graph_ids(tokenizer)
    step = lm.step_model()

    def score(sentences):
        log_prob, perplexity, tokens = score_ids_tf(lm.training_model, ids_of(sentences))
        return {"log_prob": log_prob, "perplexity": perplexity, "tokens": tokens}

    def generate(prompt, length, temperature, top_k, seed):
        prompt_ids = ids_of(prompt[None])[0]
        prompt_ids = tf.boolean_mask(prompt_ids, tf.not_equal(prompt_ids, PAD_ID))
        token_ids, log_prob = generate_tf(step, lm.state_names, lm.units, prompt_ids, length, temperature, top_k,
                                          seed)
        return {"text": _join_graph(tokenizer, token_ids), "token_ids": token_ids, "log_prob": log_prob}

    score_signature = [tf.TensorSpec([None], tf.string, name="sentences")]
    return (score, score_signature, [ids_of, lm.training_model, step],
            {"score": (score, score_signature), "generate": (generate, GENERATE_SIGNATURE)})


def generation_spec(lm, tokenizer):
    return {"level": "char" if is_char_level(tokenizer) else "word", "state": list(lm.state_names),
            "units": lm.units, "bos_id": BOS_ID, "eos_id": EOS_ID, "pad_id": PAD_ID,
            "never_generated": [PAD_ID, UNK_ID, BOS_ID],
            "scoring": "read [BOS] then the ids from zero states; targets are the ids then [EOS]",
            "sampling": "temperature 0 or top_k 1: argmax; else softmax(log_probs / temperature) over the top_k"}


# ---------------------------------------------------------------------------------------
# Parity


def _keras_references(model, tokenizer, texts, requests):
    ids = pad_ids([tokenizer.encode(text) for text in texts])
    scorer = tf.function(lambda batch: score_ids_tf(model.training_model, batch))
    log_prob, perplexity, tokens = (t.numpy() for t in scorer(tf.constant(ids)))
    step = model.step_model()
    run = tf.function(lambda p, n, temp, k, s: generate_tf(step, model.state_names, model.units, p, n, temp, k, s))
    generated = []
    for request in requests:
        prompt = tf.constant([i for i in tokenizer.encode(request["prompt"]) if i != PAD_ID], tf.int32)
        token_ids, _ = run(prompt, tf.constant(request["length"]), tf.constant(0.0), tf.constant(0), tf.constant(0))
        generated.append([int(i) for i in token_ids.numpy()])
    return ids, {"log_prob": log_prob, "perplexity": perplexity, "tokens": tokens}, generated


def _onnx_references(onnx_path, model, tokenizer, ids, requests):
    step = OnnxRunner(onnx_path)
    log_prob, perplexity, tokens = score_ids_np(step, model.state_names, model.units, ids)
    generated = [[int(i) for i in generate_np(step, model.state_names, model.units,
                                              [i for i in tokenizer.encode(r["prompt"]) if i != PAD_ID],
                                              r["length"])[0]] for r in requests]
    return {"log_prob": log_prob, "perplexity": perplexity, "tokens": tokens}, generated


def _score_report(keras_scores, saved, onnx_scores):
    return {name: {"keras_vs_savedmodel": max_difference(keras_scores[name], saved[name], relative=True),
                   "keras_vs_onnx": max_difference(keras_scores[name], onnx_scores[name], relative=True)}
            for name in ("log_prob", "perplexity")}


def parity_check(tokenizer, texts, prompts, length):
    """Keras (in process) vs the SavedModel (fresh process, raw strings) vs ONNX (NumPy loop)."""
    requests = [{"prompt": prompt, "length": int(length), "temperature": 0.0, "top_k": 0, "seed": 0} for prompt in prompts]

    def check(model, staging, tolerance, log):
        ids, keras_scores, keras_tokens = _keras_references(model, tokenizer, texts, requests)
        saved = run_savedmodel_in_fresh_process(staging / "savedmodel", {"sentences": list(texts)}, staging)
        saved_generated = run_savedmodel_in_fresh_process(staging / "savedmodel", requests, staging,
                                                          signature="generate")
        onnx_scores, onnx_tokens = _onnx_references(staging / "onnx" / "step.onnx", model, tokenizer, ids, requests)
        keras_texts = [join_tokens(tokenizer, words_until_eos(tokenizer, row)) for row in keras_tokens]
        report = {
            "examples": len(texts), "prompts": len(requests), "length": int(length), "tolerance": tolerance,
            "measured": "relative to max(|value|, 1)",
            "score": _score_report(keras_scores, saved, onnx_scores),
            "tokens_equal": bool(np.array_equal(keras_scores["tokens"], saved["tokens"])
                                 and np.array_equal(keras_scores["tokens"], onnx_scores["tokens"])),
            "greedy_equal": {"keras_vs_savedmodel": keras_tokens == [g["token_ids"].tolist() for g in saved_generated],
                             "keras_vs_onnx": keras_tokens == onnx_tokens,
                             "texts": keras_texts == [str(g["text"]) for g in saved_generated]},
        }
        worst = max(value for entry in report["score"].values() for value in entry.values())
        log(f"parity on {len(texts)} texts and {len(requests)} greedy prompts: max relative score difference "
            f"{worst:.2e}; token counts equal {report['tokens_equal']}; greedy generations equal "
            f"{all(report['greedy_equal'].values())}")
        if not (worst <= tolerance and report["tokens_equal"] and all(report["greedy_equal"].values())):
            raise ExportError(f"textgen parity failed: {report}; the previous export is kept")
        return report
    return check


def make_bundle(lm, build_float32, tokenizer, *, parity_texts, parity_prompts, parity_length, metrics):
    tokenizer_file = "char_tokenizer.json" if is_char_level(tokenizer) else "tokenizer.json"
    return ExportBundle(
        app="textgen",
        model=lm,
        build_float32=build_float32,
        serving_fn=lambda float_model: serving_functions(float_model, tokenizer),
        onnx_models=lambda float_model: {"step": float_model.step_model()},
        check_parity=parity_check(tokenizer, list(parity_texts), list(parity_prompts), parity_length),
        files={tokenizer_file: tokenizer.to_dict(), "generation.json": generation_spec(lm, tokenizer)},
        metrics=metrics,
    )
