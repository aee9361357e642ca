"""Caption images with a trained Captioner and score the captions honestly.

Scores are corpus BLEU-1..4 against every reference caption of each image, plus the share
of exact matches (a generated caption equal to one of the references: the demo data's
measure). The yardstick is a nearest-neighbour baseline that does no generation at all:
each test image gets a caption of the training image whose CNN features are most similar
(cosine of the mean feature vectors), the one of its captions that agrees best with the
other four (Devlin et al., 2015, "consensus"). A captioner that cannot beat that has
learned to retrieve, not to describe.
"""

import numpy as np
import tensorflow as tf

from apps.captioning.vocab import caption_words, max_words, words_from_ids
from shared.bleu import corpus_bleu, sentence_bleu
from shared.decoding import decode_tf, step_function


def caption_function(captioner, *, beam_size=1, max_length=21, length_penalty=0.0, from_pixels=False):
    """A ``tf.function``: images (training inputs, or pixels) -> ``(token ids, scores)``."""
    state_model = captioner.encoder_model() if from_pixels else captioner.state_model()
    step = step_function(captioner.step_model())
    name = "pixels" if from_pixels else captioner.image_input

    @tf.function(reduce_retracing=True)
    def run(images):
        return decode_tf(step, state_model({name: images}), beam_size=beam_size, max_length=max_length,
                         length_penalty=length_penalty)

    return run


def generate(captioner, inputs, rows, tokenizer, *, beam_size=1, length_penalty=0.0, batch_size=64):
    """Generated word lists for ``inputs[rows]``."""
    run = caption_function(captioner, beam_size=beam_size, max_length=max_words(tokenizer) + 1,
                           length_penalty=length_penalty)
    captions = []
    for start in range(0, len(rows), batch_size):
        tokens, _ = run(tf.constant(np.asarray(inputs[rows[start:start + batch_size]])))
        captions.extend(words_from_ids(tokenizer, row) for row in tokens.numpy())
    return captions


def references_of(images):
    return [[caption_words(text) for text in image.captions] for image in images]


def score(hypotheses, references):
    """BLEU-1..4 (0..1) and exact-match rate of word lists against their references."""
    bleu = corpus_bleu(hypotheses, references)
    exact = np.mean([hypothesis in refs for hypothesis, refs in zip(hypotheses, references)]) if hypotheses else 0.0
    return {**{f"bleu_{n}": bleu[f"bleu_{n}"] for n in range(1, 5)}, "exact_match": float(exact),
            "brevity_penalty": bleu["brevity_penalty"], "mean_length": float(np.mean([len(h) for h in hypotheses]))}


def consensus_caption(references):
    """The reference that agrees best (smoothed sentence BLEU) with the image's other references."""
    if len(references) == 1:
        return references[0]
    scores = [sentence_bleu(candidate, references[:i] + references[i + 1:])
              for i, candidate in enumerate(references)]
    return references[int(np.argmax(scores))]


def mean_features(vectors):
    """Unit-length mean over the grid cells: one vector per image for cosine similarity."""
    pooled = np.asarray(vectors, dtype=np.float32)
    pooled = pooled.reshape(len(pooled), -1, pooled.shape[-1]).mean(axis=1)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-8)


def nearest_neighbour_captions(train_vectors, train_references, test_vectors, *, chunk=256):
    """For each test image, the consensus caption of its most similar training image."""
    train, test = mean_features(train_vectors), mean_features(test_vectors)
    consensus = [consensus_caption(refs) for refs in train_references]
    nearest = np.concatenate([np.argmax(test[i:i + chunk] @ train.T, axis=1) for i in range(0, len(test), chunk)])
    return [consensus[index] for index in nearest], nearest
