"""Scoring and generation in TensorFlow graph ops; ``host_loop.py`` has their NumPy twins.

The SavedModel runs these inside its graph; ``--runtime onnx`` drives the ONNX step model
with the NumPy versions (no TensorFlow needed). They follow the same conventions, so scores agree
to float32 rounding and greedy generations token for token:

* a text's ids ``x_1 .. x_n`` are read after ``[BOS]`` from a zero state, and the targets are
  ``x_1 .. x_n [EOS]``: ``tokens = n + 1`` predictions, ``log_prob`` their summed natural
  log-probability, ``perplexity = exp(-log_prob / tokens)``;
* generation feeds ``[BOS]`` and the prompt, then picks up to ``length`` tokens, stopping
  after ``[EOS]`` (then ``[PAD]``); ``[PAD]``, ``[UNK]`` and ``[BOS]`` are never picked.
  ``temperature`` 0 (or ``top_k`` 1) is greedy: the first index among equal maxima, as
  ``tf.argmax`` and ``np.argmax`` agree. Otherwise the log-probabilities divided by the
  temperature, cut to the ``top_k`` best (0: all), are sampled: in the graph with
  ``tf.random.stateless_categorical`` seeded by ``(seed, step)``, so one seed always gives
  one text; in NumPy with ``numpy.random.default_rng(seed)``, equally repeatable but a
  different generator, so sampled texts differ between the runtimes (greedy ones do not).
"""

import numpy as np
import tensorflow as tf

from apps.textgen.host_loop import BLOCKED, NEVER_GENERATED
from shared.text import BOS_ID, EOS_ID, PAD_ID


# ---------------------------------------------------------------------------------------
# TensorFlow


def _targets_tf(ids):
    """``[BOS] ids`` as inputs, ``ids`` with [EOS] after each row's last real id as targets."""
    ids = tf.cast(ids, tf.int32)
    batch = tf.shape(ids)[0]
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(ids, PAD_ID), tf.int32), axis=1)
    inputs = tf.concat([tf.fill([batch, 1], BOS_ID), ids], axis=1)
    padded = tf.concat([ids, tf.fill([batch, 1], PAD_ID)], axis=1)
    positions = tf.range(tf.shape(padded)[1])[None, :]
    targets = tf.where(positions == lengths[:, None], EOS_ID, padded)
    mask = tf.cast(positions <= lengths[:, None], tf.float32)
    return inputs, targets, mask, lengths + 1


def score_ids_tf(training_model, ids):
    """Right-padded ids ``[batch, n]`` -> ``(log_prob, perplexity, tokens)``, each ``[batch]``."""
    inputs, targets, mask, tokens = _targets_tf(ids)
    logits = tf.cast(training_model({"tokens": inputs}, training=False)["logits"], tf.float32)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    picked = tf.gather(log_probs, targets, batch_dims=2)
    log_prob = tf.reduce_sum(picked * mask, axis=1)
    perplexity = tf.exp(-log_prob / tf.cast(tokens, tf.float32))
    return log_prob, perplexity, tokens


def _pick_tf(log_probs, temperature, top_k, seed, step):
    """One next token ``[1]`` from ``log_probs [1, vocab]`` by the rules in the module doc."""
    vocabulary = tf.range(tf.shape(log_probs)[-1])
    banned = tf.reduce_any(tf.equal(vocabulary[:, None], tf.constant(NEVER_GENERATED)[None, :]), axis=1)
    log_probs = tf.where(banned[None, :], BLOCKED, log_probs)
    greedy = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
    k = tf.minimum(top_k, tf.shape(log_probs)[-1])
    logits = log_probs / tf.maximum(temperature, 1e-6)
    kth = tf.math.top_k(logits, k=tf.maximum(k, 1)).values[:, -1:]
    logits = tf.where(tf.logical_and(k > 0, logits < kth), BLOCKED, logits)
    sampled = tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, step]), dtype=tf.int32)[:, 0]
    return tf.where(tf.logical_or(temperature <= 0.0, tf.equal(top_k, 1)), greedy, sampled)


def generate_tf(step_model, state_names, units, prompt_ids, length, temperature, top_k, seed):
    """Prompt ids ``[n]`` -> ``(token_ids [length], log_prob)`` of the continuation."""
    prompt_ids = tf.cast(prompt_ids, tf.int32)
    context = tf.concat([[BOS_ID], prompt_ids], axis=0)
    prompt = tf.shape(prompt_ids)[0]
    steps = prompt + length

    def run_step(token, states):
        outputs = step_model({"token": token, **states}, training=False)
        # Batch 1 throughout: the step model's outputs say [None, ...], the loop needs fixed shapes.
        new = {name: tf.reshape(tf.cast(outputs[f"new_{name}"], tf.float32), [1, units]) for name in state_names}
        return tf.cast(outputs["log_probs"], tf.float32), new

    def advance(t, token, states, finished, out, score):
        log_probs, states = run_step(token, states)
        generating = t >= prompt
        chosen = _pick_tf(log_probs, temperature, top_k, seed, t)
        chosen = tf.reshape(tf.where(finished, PAD_ID, chosen), [1])
        gained = tf.where(tf.logical_or(finished[0], tf.logical_not(generating)), 0.0,
                          tf.gather(log_probs[0], chosen[0]))
        index = tf.clip_by_value(t - prompt, 0, tf.maximum(length - 1, 0))
        out = tf.cond(generating, lambda: tf.tensor_scatter_nd_update(out, [[index]], chosen), lambda: out)
        finished = tf.logical_or(finished, tf.logical_and(generating, tf.equal(chosen, EOS_ID)))
        following = tf.reshape(tf.where(generating, chosen, context[tf.minimum(t + 1, prompt)][None]), [1])
        return t + 1, following, states, finished, out, score + gained

    def not_done(t, token, states, finished, out, score):
        return tf.logical_and(t < steps, tf.logical_not(finished[0]))

    states = {name: tf.zeros([1, units], tf.float32) for name in state_names}
    initial = (tf.constant(0), context[:1], states, tf.zeros([1], tf.bool),
               tf.fill([tf.maximum(length, 0)], PAD_ID), tf.constant(0.0))
    *_, out, score = tf.while_loop(not_done, advance, initial)
    return out, score


def keras_step(step_model):
    """A Keras step model called like an :class:`shared.serving.OnnxRunner`."""
    forward = tf.function(lambda feed: step_model(feed, training=False), reduce_retracing=True)

    def run(**feed):
        return {name: np.asarray(value) for name, value in forward(feed).items()}
    return run
