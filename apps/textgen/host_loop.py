"""Scoring and generation as a NumPy loop over a step model: the ONNX route, no TensorFlow.

The twins of ``inference.py``'s graph versions, by the conventions its docstring sets out:
scores agree to float32 rounding and greedy generations token for token.
"""

import numpy as np

from shared.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID

NEVER_GENERATED = (PAD_ID, UNK_ID, BOS_ID)
BLOCKED = -1e9


def zero_states(state_names, units, batch):
    return {name: np.zeros((batch, units), np.float32) for name in state_names}


def _run_step_np(step, token, states):
    outputs = step(token=np.asarray(token, np.int32), **states)
    return outputs["log_probs"].astype(np.float32), {name: outputs[f"new_{name}"] for name in states}


def score_ids_np(step, state_names, units, ids):
    """The twin of :func:`score_ids_tf` over a step model: ``(log_prob, perplexity, tokens)``."""
    ids = np.asarray(ids, np.int32).reshape(len(ids), -1)
    batch = len(ids)
    lengths = (ids != PAD_ID).sum(axis=1)
    inputs = np.concatenate([np.full((batch, 1), BOS_ID, np.int32), ids], axis=1)
    targets = np.concatenate([ids, np.full((batch, 1), PAD_ID, np.int32)], axis=1)
    targets[np.arange(batch), lengths] = EOS_ID
    states = zero_states(state_names, units, batch)
    log_prob = np.zeros(batch, np.float64)
    for t in range(int(lengths.max(initial=0)) + 1):
        log_probs, states = _run_step_np(step, inputs[:, t], states)
        live = t <= lengths
        log_prob += np.where(live, log_probs[np.arange(batch), targets[:, t]], 0.0)
    tokens = lengths + 1
    return log_prob.astype(np.float32), np.exp(-log_prob / tokens).astype(np.float32), tokens.astype(np.int32)


def _pick_np(log_probs, temperature, top_k, rng):
    log_probs = log_probs.astype(np.float32).copy()
    log_probs[list(NEVER_GENERATED)] = BLOCKED
    if temperature <= 0 or top_k == 1:
        return int(np.argmax(log_probs))
    logits = log_probs / np.float32(max(temperature, 1e-6))
    if 0 < top_k < len(logits):
        kth = np.sort(logits)[-top_k]
        logits = np.where(logits < kth, BLOCKED, logits)
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def generate_np(step, state_names, units, prompt_ids, length, temperature=0.0, top_k=0, seed=0):
    """The twin of :func:`generate_tf`: ``(token_ids [length], log_prob)``."""
    rng = np.random.default_rng(seed)
    context = [BOS_ID, *map(int, prompt_ids)]
    states = zero_states(state_names, units, 1)
    for token in context[:-1]:
        _, states = _run_step_np(step, [token], states)
    out, score, token = np.full(max(length, 0), PAD_ID, np.int32), 0.0, context[-1]
    for index in range(max(length, 0)):
        log_probs, states = _run_step_np(step, [token], states)
        token = _pick_np(log_probs[0], temperature, top_k, rng)
        out[index] = token
        score += float(log_probs[0, token])
        if token == EOS_ID:
            break
    return out, np.float32(score)
