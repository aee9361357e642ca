"""Autoregressive decoding, written twice: in TensorFlow graph ops and in NumPy.

An exported decoder ships two ways: a SavedModel whose ``serving_default`` runs the whole
decode inside the graph, and an ONNX *step* model that other runtimes drive with a host
loop. Users must get the same tokens from both, so greedy search and beam search are written
once per framework with the same arithmetic and the same tie-breaking:

- scores are float32 sums of float32 log-probabilities, added in the same order;
- greedy takes the first index among equal maxima (``tf.argmax`` and ``np.argmax`` agree);
- beam search ranks the ``K * V`` candidates of a batch item by raw score, lower flat index
  first on ties (``tf.math.top_k`` does this; NumPy uses a stable sort of negated scores);
- the length penalty divides by ``float32(length ** length_penalty)`` looked up in one table
  computed in Python, so two ``pow`` implementations can never disagree in the last bit.

A *step function* maps ``(tokens, state)`` to ``(log_probs, new_state)``: ``tokens`` int32
``[N]`` is each row's previous token (``bos_id`` at the first step), ``state`` a dict of
tensors or arrays with leading dimension ``N``, ``log_probs`` float ``[N, V]`` and
``new_state`` a dict with the same keys. Every decoder returns ``tokens`` int32
``[B, max_length]`` (BOS excluded, EOS included when produced, ``pad_id`` after it) and
``scores`` float32 ``[B]``: the sum of the chosen tokens' log-probabilities, EOS included,
before any length penalty. A model that itself emits ``pad_id`` before EOS is not special-cased.
"""

import numpy as np
import tensorflow as tf

from shared.text import BOS_ID, EOS_ID, PAD_ID

# The score of an impossible hypothesis. Finite so that no subtraction can give NaN
# (inf - inf), and exactly representable in float32 so both implementations hold one value.
# Real scores must stay far above it; log-probabilities of ordinary models always do.
NEG_INF = -1e9


# ---------------------------------------------------------------------------------------
# Checks and tables shared by both implementations


def _check_positive_int(name, value):
    """Step counts and beam widths shape the graph, so they must be plain Python integers."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_length_penalty(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"length_penalty must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"length_penalty must be finite, got {value!r}")
    return float(value)


def _check_state_keys(state, new_state):
    """A step that drops or renames a state entry would otherwise fail deep inside the loop."""
    if not isinstance(new_state, dict) or set(new_state) != set(state):
        got = sorted(new_state) if isinstance(new_state, dict) else type(new_state).__name__
        raise ValueError(f"the step function must return a state dict with the keys {sorted(state)}, got {got}")


def _check_beam_fits(beam_size, vocab_size):
    """With more beams than tokens, impossible hypotheses would fill beams and could win."""
    if vocab_size is not None and beam_size > vocab_size:
        raise ValueError(f"beam_size ({beam_size}) must not exceed the vocabulary size ({vocab_size})")


def beam_for_vocabulary(beam_size, vocab_size, log=print):
    """``beam_size``, narrowed to ``vocab_size`` (with a warning) when the vocabulary is smaller.

    A tiny training set, or a high ``--min-count``, can leave fewer tokens than beams; the
    decoders refuse that (see :func:`_check_beam_fits`), and a train command would only
    find out after training. Every token is a beam then, which is all a wider beam could do.
    """
    if beam_size <= vocab_size:
        return beam_size
    if log is not None:
        log(f"WARNING: --beam {beam_size} is wider than the vocabulary ({vocab_size} tokens): beam search "
            f"uses {vocab_size}")
    return vocab_size


def _length_penalties(max_length, length_penalty):
    """float32 ``length ** length_penalty`` for every length 0..max_length, as one table.

    Both implementations look the divisor up here instead of calling their own ``pow``:
    TensorFlow's and NumPy's float32 ``pow`` may differ in the last bit, which could flip a
    near-tie between two beams. Index 0 is never used (every beam has at least one token).
    """
    return np.array([1.0] + [length ** length_penalty for length in range(1, max_length + 1)], np.float32)


def _first_beam_only(beam_size):
    """Initial beam scores: all beams start identical, so only beam 0 may expand at first."""
    return np.array([0.0] + [NEG_INF] * (beam_size - 1), np.float32)


def _check_decode_options(beam_size, max_length, length_penalty):
    return (_check_positive_int("beam_size", beam_size), _check_positive_int("max_length", max_length),
            _check_length_penalty(length_penalty))


def _missing_state_error():
    return ValueError("the state must hold at least one tensor: the batch size is its leading dimension")


def _scalar_state_error(name):
    return ValueError(f"state[{name!r}] is a scalar; every state entry needs a leading batch dimension")


def _batch_mismatch_error(sizes):
    return ValueError(f"the state entries disagree on the batch size (leading dimension): {sizes}")


# ---------------------------------------------------------------------------------------
# TensorFlow


def _prepare_state_tf(state):
    """The state as tensors, and its batch size as a scalar tensor (dynamic in a graph).

    Disagreeing batch sizes are a ValueError when the static shapes show it; otherwise an
    assertion checks them when the graph runs, before a gather could silently misalign rows.
    """
    if not state:
        raise _missing_state_error()
    state = {name: tf.convert_to_tensor(value) for name, value in state.items()}
    for name, value in state.items():
        if value.shape.rank == 0:
            raise _scalar_state_error(name)
    static = {name: value.shape[0] for name, value in state.items()
              if value.shape.rank is not None and value.shape[0] is not None}
    if len(set(static.values())) > 1:
        raise _batch_mismatch_error(static)
    batch = tf.shape(next(iter(state.values())))[0]
    if len(static) < len(state) and len(state) > 1:
        checks = [tf.debugging.assert_equal(tf.shape(value)[0], batch, message=(
            f"state[{name!r}] disagrees with the other state entries on the batch size"))
            for name, value in state.items()]
        with tf.control_dependencies(checks):
            batch = tf.identity(batch)
    return state, batch


def _batch_invariant(tensor):
    """The tensor's shape with the batch dimension left open, for ``tf.while_loop``."""
    if tensor.shape.rank is None:
        return tf.TensorShape(None)
    return tf.TensorShape([None]).concatenate(tensor.shape[1:])


def _call_step_tf(step, tokens, state):
    """Run the step, checking what the loop needs to hold: same keys, same dtypes."""
    log_probs, new_state = step(tokens, state)
    _check_state_keys(state, new_state)
    new_state = {name: tf.convert_to_tensor(new_state[name]) for name in state}
    for name, value in new_state.items():
        if value.dtype != state[name].dtype:
            raise ValueError(f"the step function returned state[{name!r}] as {value.dtype.name}, "
                             f"but it came in as {state[name].dtype.name}")
    return tf.cast(log_probs, tf.float32), new_state


def _write_column_tf(tokens, t, column):
    """``tokens[:, t] = column`` without a scatter, which keeps the loop body simple to convert."""
    at_t = tf.equal(tf.range(tf.shape(tokens)[1]), t)
    return tf.where(at_t[None, :], column[:, None], tokens)


def _not_done_tf(max_length):
    """Loop condition: steps left and at least one row (or beam) still running."""
    def not_done(t, previous, state, finished, *rest):
        return tf.logical_and(t < max_length, tf.logical_not(tf.reduce_all(finished)))
    return not_done


def greedy_decode_tf(step, state, *, max_length, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID):
    """Greedy decoding as graph ops: works eagerly, in a ``tf.function`` and in a SavedModel.

    Rows that produced EOS emit ``pad_id`` at no cost from then on; the loop stops as soon as
    every row has finished, and the output keeps its ``[B, max_length]`` shape.
    """
    max_length = _check_positive_int("max_length", max_length)
    state, batch = _prepare_state_tf(state)

    def advance(t, previous, state, finished, scores, tokens):
        log_probs, new_state = _call_step_tf(step, previous, state)
        chosen = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        chosen = tf.where(finished, pad_id, chosen)
        gained = tf.gather(log_probs, chosen, batch_dims=1)
        scores = tf.where(finished, scores, scores + gained)
        finished = tf.logical_or(finished, tf.equal(chosen, eos_id))
        return t + 1, chosen, new_state, finished, scores, _write_column_tf(tokens, t, chosen)

    initial = (tf.constant(0), tf.fill([batch], tf.constant(bos_id, tf.int32)), state,
               tf.zeros([batch], tf.bool), tf.zeros([batch], tf.float32),
               tf.fill([batch, max_length], tf.constant(pad_id, tf.int32)))
    invariants = (tf.TensorShape([]), tf.TensorShape([None]), _state_invariants(state),
                  tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None, max_length]))
    *_, scores, tokens = tf.while_loop(_not_done_tf(max_length), advance, initial, shape_invariants=invariants)
    return tokens, scores


def _state_invariants(state):
    return {name: _batch_invariant(value) for name, value in state.items()}


def _freeze_finished_tf(log_probs, finished, pad_id):
    """A finished beam may only extend with pad, for free: it keeps its score and one slot."""
    vocab = tf.range(tf.shape(log_probs)[1])
    frozen = tf.where(tf.equal(vocab, pad_id), 0.0, NEG_INF)
    return tf.where(finished[:, None], frozen[None, :], log_probs)


def _best_candidates_tf(scores, log_probs, beam_size):
    """The top ``beam_size`` (parent row, token, score) among each batch item's candidates."""
    vocab = tf.shape(log_probs)[1]
    candidates = tf.reshape(scores[:, None] + log_probs, [-1, beam_size * vocab])
    top_scores, flat = tf.math.top_k(candidates, k=beam_size)
    first_row = tf.range(tf.shape(candidates)[0])[:, None] * beam_size
    parents = first_row + flat // vocab
    return tf.reshape(parents, [-1]), tf.reshape(flat % vocab, [-1]), tf.reshape(top_scores, [-1])


def _pick_best_tf(tokens, scores, lengths, penalties, beam_size):
    """Per batch item, the beam with the best length-normalised score (first on ties)."""
    normalized = scores / tf.gather(tf.constant(penalties), lengths)
    best = tf.argmax(tf.reshape(normalized, [-1, beam_size]), axis=1, output_type=tf.int32)
    rows = tf.range(tf.shape(best)[0]) * beam_size + best
    return tf.gather(tokens, rows), tf.gather(scores, rows)


def beam_search_tf(step, state, *, beam_size, max_length, length_penalty=0.0,
                   bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID):
    """Beam search as graph ops: works eagerly, in a ``tf.function`` and in a SavedModel.

    ``beam_size=1`` runs :func:`greedy_decode_tf` itself: ranking ``score + log_prob`` can
    round two different log-probabilities to a tie that plain argmax would not see, so only
    sharing the code makes one beam equal greedy exactly.
    """
    beam_size, max_length, length_penalty = _check_decode_options(beam_size, max_length, length_penalty)
    if beam_size == 1:
        return greedy_decode_tf(step, state, max_length=max_length, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
    state, batch = _prepare_state_tf(state)
    state = {name: tf.repeat(value, beam_size, axis=0) for name, value in state.items()}
    rows = batch * beam_size

    def advance(t, previous, state, finished, scores, lengths, tokens):
        log_probs, new_state = _call_step_tf(step, previous, state)
        _check_beam_fits(beam_size, log_probs.shape[-1])
        log_probs = _freeze_finished_tf(log_probs, finished, pad_id)
        parents, chosen, scores = _best_candidates_tf(scores, log_probs, beam_size)
        was_finished = tf.gather(finished, parents)
        lengths = tf.gather(lengths, parents) + tf.cast(tf.logical_not(was_finished), tf.int32)
        finished = tf.logical_or(was_finished, tf.equal(chosen, eos_id))
        tokens = _write_column_tf(tf.gather(tokens, parents), t, chosen)
        new_state = {name: tf.gather(value, parents) for name, value in new_state.items()}
        return t + 1, chosen, new_state, finished, scores, lengths, tokens

    initial = (tf.constant(0), tf.fill([rows], tf.constant(bos_id, tf.int32)), state,
               tf.zeros([rows], tf.bool), tf.tile(tf.constant(_first_beam_only(beam_size)), [batch]),
               tf.zeros([rows], tf.int32), tf.fill([rows, max_length], tf.constant(pad_id, tf.int32)))
    invariants = (tf.TensorShape([]), tf.TensorShape([None]), _state_invariants(state), tf.TensorShape([None]),
                  tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None, max_length]))
    *_, scores, lengths, tokens = tf.while_loop(
        _not_done_tf(max_length), advance, initial, shape_invariants=invariants)
    return _pick_best_tf(tokens, scores, lengths, _length_penalties(max_length, length_penalty), beam_size)


def decode_tf(step, state, *, max_length, beam_size=1, length_penalty=0.0,
              bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID):
    """Greedy for ``beam_size=1``, beam search otherwise; the one entry point exporters call."""
    return beam_search_tf(step, state, beam_size=beam_size, max_length=max_length, length_penalty=length_penalty,
                          bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)


# ---------------------------------------------------------------------------------------
# NumPy: the same algorithm, step for step, to drive onnxruntime or any Python callable


def _prepare_state_np(state):
    """The state as arrays and its batch size, rejecting disagreeing batch sizes."""
    if not state:
        raise _missing_state_error()
    state = {name: np.asarray(value) for name, value in state.items()}
    for name, value in state.items():
        if value.ndim == 0:
            raise _scalar_state_error(name)
    sizes = {name: value.shape[0] for name, value in state.items()}
    if len(set(sizes.values())) > 1:
        raise _batch_mismatch_error(sizes)
    return state, next(iter(sizes.values()))


def _call_step_np(step, tokens, state):
    """Run the step and check its outputs, which may come from another runtime."""
    log_probs, new_state = step(tokens, state)
    _check_state_keys(state, new_state)
    log_probs = np.asarray(log_probs, np.float32)
    if log_probs.ndim != 2 or log_probs.shape[0] != len(tokens):
        raise ValueError(f"the step function must return log_probs of shape [{len(tokens)}, vocab], "
                         f"got {log_probs.shape}")
    new_state = {name: np.asarray(new_state[name]) for name in state}
    for name, value in new_state.items():
        if value.ndim == 0 or value.shape[0] != len(tokens):
            raise ValueError(f"the step function returned state[{name!r}] with shape {value.shape}; "
                             f"its leading dimension must be {len(tokens)}")
    return log_probs, new_state


def greedy_decode_np(step, state, *, max_length, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID):
    """The host-loop twin of :func:`greedy_decode_tf`, with the same arithmetic."""
    max_length = _check_positive_int("max_length", max_length)
    state, batch = _prepare_state_np(state)
    previous = np.full(batch, bos_id, np.int32)
    finished = np.zeros(batch, bool)
    scores = np.zeros(batch, np.float32)
    tokens = np.full((batch, max_length), pad_id, np.int32)
    for t in range(max_length):
        if finished.all():
            break
        log_probs, state = _call_step_np(step, previous, state)
        chosen = np.where(finished, pad_id, np.argmax(log_probs, axis=-1)).astype(np.int32)
        gained = log_probs[np.arange(batch), chosen]
        scores = np.where(finished, scores, scores + gained)
        finished = finished | (chosen == eos_id)
        tokens[:, t] = previous = chosen
    return tokens, scores


def _freeze_finished_np(log_probs, finished, pad_id):
    """A finished beam may only extend with pad, for free: it keeps its score and one slot."""
    frozen = np.full(log_probs.shape[1], NEG_INF, np.float32)
    frozen[pad_id] = 0.0
    return np.where(finished[:, None], frozen[None, :], log_probs)


def _best_candidates_np(scores, log_probs, beam_size):
    """The top ``beam_size`` candidates, ties broken by lower flat index as ``tf.math.top_k`` does."""
    vocab = log_probs.shape[1]
    candidates = (scores[:, None] + log_probs).reshape(-1, beam_size * vocab)
    flat = np.argsort(-candidates, axis=1, kind="stable")[:, :beam_size]
    top_scores = np.take_along_axis(candidates, flat, axis=1)
    first_row = np.arange(len(candidates))[:, None] * beam_size
    parents = first_row + flat // vocab
    return parents.reshape(-1), (flat % vocab).reshape(-1).astype(np.int32), top_scores.reshape(-1)


def _pick_best_np(tokens, scores, lengths, penalties, beam_size):
    """Per batch item, the beam with the best length-normalised score (first on ties)."""
    normalized = scores / penalties[lengths]
    best = np.argmax(normalized.reshape(-1, beam_size), axis=1)
    rows = np.arange(len(best)) * beam_size + best
    return tokens[rows], scores[rows]


def beam_search_np(step, state, *, beam_size, max_length, length_penalty=0.0,
                   bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID):
    """The host-loop twin of :func:`beam_search_tf`; ``beam_size=1`` runs greedy likewise."""
    beam_size, max_length, length_penalty = _check_decode_options(beam_size, max_length, length_penalty)
    if beam_size == 1:
        return greedy_decode_np(step, state, max_length=max_length, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
    state, batch = _prepare_state_np(state)
    state = {name: np.repeat(value, beam_size, axis=0) for name, value in state.items()}
    rows = batch * beam_size
    previous = np.full(rows, bos_id, np.int32)
    finished = np.zeros(rows, bool)
    scores = np.tile(_first_beam_only(beam_size), batch)
    lengths = np.zeros(rows, np.int32)
    tokens = np.full((rows, max_length), pad_id, np.int32)
    for t in range(max_length):
        if finished.all():
            break
        log_probs, new_state = _call_step_np(step, previous, state)
        _check_beam_fits(beam_size, log_probs.shape[1])
        log_probs = _freeze_finished_np(log_probs, finished, pad_id)
        parents, previous, scores = _best_candidates_np(scores, log_probs, beam_size)
        was_finished = finished[parents]
        lengths = lengths[parents] + (~was_finished).astype(np.int32)
        finished = was_finished | (previous == eos_id)
        tokens = tokens[parents]
        tokens[:, t] = previous
        state = {name: value[parents] for name, value in new_state.items()}
    return _pick_best_np(tokens, scores, lengths, _length_penalties(max_length, length_penalty), beam_size)


def decode_np(step, state, *, max_length, beam_size=1, length_penalty=0.0,
              bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID):
    """Greedy for ``beam_size=1``, beam search otherwise: the twin of :func:`decode_tf`."""
    return beam_search_np(step, state, beam_size=beam_size, max_length=max_length, length_penalty=length_penalty,
                          bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)


def step_function(run):
    """A step function from ``run(dict) -> dict``: a Keras step model, or an ONNX session.

    The step model takes ``token`` and the state by name and returns ``log_probs``,
    ``new_h`` and ``new_c`` (ONNX graphs cannot name an input and an output alike); every
    other state entry (encoder memory, attention keys) rides along unchanged.
    """
    def step(tokens, state):
        outputs = run({"token": tokens, **state})
        return outputs["log_probs"], {**state, "h": outputs["new_h"], "c": outputs["new_c"]}
    return step
