"""A linear-chain conditional random field: log-likelihood for training, Viterbi to decode.

A softmax tagger picks each token's tag on its own and happily predicts ``O I-PER``; a CRF
scores whole tag sequences (emission scores plus learned tag-to-tag transitions) so the
decoder returns the best *sequence*. Written with ``keras.ops`` for the arithmetic and
``tf.scan`` for the loops over time, so that the decoder lives inside the exported graph:
TensorFlow Serving and onnxruntime both return decoded tags.

Shapes: emissions ``[batch, time, tags]``, tags ``[batch, time]``, ``mask`` ``[batch,
time]`` (true on real tokens, right-padded). Sentences of length zero decode to all zeros.
"""

import keras
import tensorflow as tf
from keras import ops

# time steps per iteration of the Viterbi loop: in onnxruntime an ONNX ``Loop`` iteration
# costs more than a step's arithmetic for a handful of tags. On a 64 x 128 batch of 9 tags,
# 4 was the fastest of 4, 8 and 16, and the whole decoder 15 to 20% faster than with one.
VITERBI_UNROLL = 4


def _time_major(x):
    return ops.moveaxis(x, 1, 0)


def at_least_two_steps(emissions, mask, tags=None):
    """The inputs padded with masked-out steps to at least two time steps.

    A batch whose longest sentence has one token (or none) leaves the forward loop no steps
    to run over, and a graph cannot stack the results of a loop of none; reading the first
    step of a batch of empty sentences fails too. The padding is masked out, so every score
    is what it was. Longer batches are not padded.
    """
    missing = tf.maximum(2 - tf.shape(emissions)[1], 0)
    emissions = tf.pad(emissions, tf.stack([[0, 0], [0, missing], [0, 0]]))
    mask = tf.pad(ops.cast(mask, "bool"), tf.stack([[0, 0], [0, missing]]))
    if tags is None:
        return emissions, mask
    return emissions, mask, tf.pad(tags, tf.stack([[0, 0], [0, missing]]), constant_values=-1)


def sequence_score(emissions, tags, mask, transitions, start, end):
    """Unnormalised score of the given tag sequences: ``[batch]``."""
    emissions, mask, tags = at_least_two_steps(emissions, mask, tags)
    mask = ops.cast(mask, emissions.dtype)
    tags = ops.maximum(tags, 0)  # padding (-1) scores nothing once masked
    emitted = ops.take_along_axis(emissions, tags[..., None], axis=-1)[..., 0]
    score = ops.sum(emitted * mask, axis=1)
    pair_scores = ops.take(ops.reshape(transitions, (-1,)), tags[:, :-1] * ops.shape(transitions)[0] + tags[:, 1:])
    score += ops.sum(pair_scores * mask[:, 1:], axis=1)
    lengths = ops.cast(ops.sum(mask, axis=1), "int32")
    last_tag = ops.take_along_axis(tags, ops.maximum(lengths - 1, 0)[:, None], axis=1)[:, 0]
    has_tokens = ops.cast(lengths > 0, emissions.dtype)
    return score + (ops.take(start, tags[:, 0]) + ops.take(end, last_tag)) * has_tokens


def log_partition(emissions, mask, transitions, start, end):
    """Log of the sum of exp(score) over every tag sequence (forward algorithm): ``[batch]``."""
    emissions, mask = at_least_two_steps(emissions, mask)
    alpha0 = start[None, :] + emissions[:, 0]

    def step(alpha, inputs):
        emission, keep = inputs
        scores = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
        return ops.where(keep[:, None], scores, alpha)

    steps = (_time_major(emissions[:, 1:]), _time_major(mask[:, 1:]))
    final = tf.scan(step, steps, initializer=alpha0)[-1]
    has_tokens = mask[:, 0]
    return ops.where(has_tokens, ops.logsumexp(final + end[None, :], axis=1), ops.zeros_like(final[:, 0]))


def log_likelihood(emissions, tags, mask, transitions, start, end):
    """Log-probability of each gold tag sequence under the CRF: ``[batch]``."""
    emissions = ops.cast(emissions, "float32")
    return (sequence_score(emissions, tags, mask, transitions, start, end)
            - log_partition(emissions, mask, transitions, start, end))


def viterbi_decode(emissions, mask, transitions, start, end):
    """The highest-scoring tag sequence for each sentence: int32 ``[batch, time]``, 0 on padding."""
    emissions = ops.cast(emissions, "float32")
    mask = ops.cast(mask, "bool")
    # Padding steps at the end, cut off again below: they make the steps a whole number of
    # loop iterations, and at least two, since a loop of none (one token, or none) leaves
    # nothing a SavedModel's graph can stack, and onnxruntime mis-sizes a loop of one.
    time = tf.shape(emissions)[1]
    steps = VITERBI_UNROLL * tf.maximum(2, (time + VITERBI_UNROLL) // VITERBI_UNROLL)
    padding = steps + 1 - time
    emissions = tf.pad(emissions, tf.stack([[0, 0], [0, padding], [0, 0]]))
    mask = tf.concat([mask, tf.zeros(tf.stack([tf.shape(mask)[0], padding]), tf.bool)], axis=1)
    # Padding steps use "stay" transitions (0 to the same tag, -1e30 to any other) and no
    # emission, so they carry each score through and point each tag at itself, and the
    # backward pass walks across them unchanged. Choosing them before the loop keeps the
    # loop body to three ops a step.
    keep = _time_major(mask[:, 1:])
    stay = tf.where(tf.eye(tf.shape(transitions)[0], dtype=tf.bool), 0.0, -1e30)
    step_transitions = tf.where(keep[:, :, None, None], transitions[None, None], stay[None, None])
    step_emissions = _time_major(emissions[:, 1:]) * tf.cast(keep, "float32")[..., None]
    score0 = start[None, :] + emissions[:, 0]

    def forward(carry, inputs):
        score, _ = carry
        block_transitions, block_emissions = inputs
        scores = []
        for step in range(VITERBI_UNROLL):
            score = tf.reduce_max(score[:, :, None] + block_transitions[step], axis=1) + block_emissions[step]
            scores.append(score)
        return score, tf.stack(scores)

    batch, num_tags = tf.shape(emissions)[0], tf.shape(transitions)[0]
    blocks = lambda x: tf.reshape(x, tf.concat([[-1, VITERBI_UNROLL], tf.shape(x)[1:]], axis=0))  # noqa: E731
    _, scores = tf.scan(forward, (blocks(step_transitions), blocks(step_emissions)),
                        initializer=(score0, tf.zeros(tf.stack([VITERBI_UNROLL, batch, num_tags]))))
    scores = tf.reshape(scores, tf.stack([steps, batch, num_tags]))
    # the back pointers of every step at once, outside the loop, from the scores it kept:
    # the same sums as inside it, so the same maxima
    previous = tf.concat([score0[None], scores[:-1]], axis=0)
    pointers = tf.math.argmax(previous[..., None] + step_transitions, axis=2, output_type=tf.int32)
    last_tag = tf.math.argmax(scores[-1] + end[None, :], axis=1, output_type=tf.int32)

    earlier = follow_pointers(tf.transpose(pointers, [1, 0, 2]), last_tag)
    tags = tf.concat([earlier, last_tag[:, None]], axis=1)
    return tf.where(mask, tags, tf.zeros_like(tags))[:, :time]


def follow_pointers(pointers, last_tag):
    """Each step's tag from the back pointers ``[batch, steps, tags]`` and the final tag.

    Walking back one step at a time is a loop of ``steps`` iterations, and in onnxruntime
    each ONNX ``Loop`` iteration costs more than its arithmetic. Pointer jumping needs
    log2(steps) rounds instead: after a round, each step's map reaches twice as far back
    from the end (steps past the end map every tag to itself), until it reaches the final
    tag. Integer gathers only, so the tags are exactly those of the walk.
    """
    batch, steps, num_tags = tf.shape(pointers)[0], tf.shape(pointers)[1], tf.shape(pointers)[2]
    identity = tf.broadcast_to(tf.range(num_tags, dtype=pointers.dtype), tf.stack([batch, steps, num_tags]))
    # where each (sentence, step) row starts in the flattened maps: a flat gather is one ONNX
    # Gather, not the GatherND a gather with batch dimensions becomes (slower in onnxruntime)
    rows = tf.reshape(tf.range(batch * steps, dtype=pointers.dtype) * num_tags, tf.stack([batch, steps, 1]))

    def jump(maps, span):
        further = tf.concat([maps[:, span:], identity[:, :span]], axis=1)
        return tf.gather(tf.reshape(maps, [-1]), rows + further), span * 2

    maps, _ = tf.while_loop(lambda maps, span: span < steps, jump, (pointers, tf.constant(1)))
    return tf.gather(tf.reshape(maps, [-1]), rows[..., 0] + last_tag[:, None])


@keras.saving.register_keras_serializable(package="seqapps")
class CRF(keras.layers.Layer):
    """Holds the transition scores and decodes emissions with Viterbi.

    Input: emission scores (with the Keras mask of the tokens). Output: int32 tag ids.
    Training uses :class:`CRFLoss`, which reads this layer's transitions.
    """

    def __init__(self, num_tags, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = num_tags
        self.supports_masking = True

    def build(self, input_shape):
        uniform = keras.initializers.RandomUniform(-0.1, 0.1)
        self.transitions = self.add_weight(shape=(self.num_tags, self.num_tags), initializer=uniform,
                                           name="transitions", dtype="float32")
        self.start = self.add_weight(shape=(self.num_tags,), initializer=uniform, name="start", dtype="float32")
        self.end = self.add_weight(shape=(self.num_tags,), initializer=uniform, name="end", dtype="float32")

    def call(self, emissions, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(emissions)[:2], dtype="bool")
        return viterbi_decode(emissions, mask, self.transitions, self.start, self.end)

    def compute_output_shape(self, input_shape):
        return input_shape[:2]

    def compute_output_spec(self, emissions, mask=None):
        return keras.KerasTensor(emissions.shape[:2], dtype="int32")

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}


class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of the gold tags under ``crf``; padding tags are -1."""

    def __init__(self, crf, name="crf_nll"):
        super().__init__(name=name)
        self.crf = crf

    def call(self, y_true, y_pred):
        tags = ops.cast(y_true, "int32")
        mask = tags >= 0
        return -log_likelihood(y_pred, tags, mask, self.crf.transitions, self.crf.start, self.crf.end)
