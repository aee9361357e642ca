"""Training the tagger on batches of every shape length bucketing makes.

CoNLL-2002 Spanish holds over a thousand one-token sentences; bucketing by length puts
them into batches whose longest sentence has one token, where the CRF loss once crashed.
"""

import keras
import numpy as np
import pytest

from apps.ner.formats import Sentence
from apps.ner.encoding import NerEncoder
from apps.ner.model import build_model, tagging_loss
from apps.ner.train import encode, tagging_dataset

TAGS = ["O", "B-LOC", "I-LOC", "B-PER"]


def _sentences():
    """Half one-token sentences (a headline, a dash, a place), half longer ones."""
    short = [Sentence((word,), (tag,)) for word, tag in (("Madrid", "B-LOC"), ("-", "O"), ("EFE", "O"))] * 24
    long = [Sentence(("Ana", "vive", "en", "San", "Sebastián", "."), ("B-PER", "O", "O", "B-LOC", "I-LOC", "O"))] * 24
    return short + long


@pytest.mark.slow
def test_batches_of_one_token_sentences_train_to_a_finite_loss():
    keras.utils.set_random_seed(0)
    sentences = _sentences()
    encoder = NerEncoder.build(s.tokens for s in sentences)
    encoded = encode(encoder, sentences, {tag: index for index, tag in enumerate(TAGS)})
    dataset = tagging_dataset(encoded, batch_size=8, shuffle=True)
    widths = {int(x["word_ids"].shape[1]) for x, _ in dataset}
    assert 1 in widths and max(widths) == 6, widths  # bucketing made all-one-token batches
    model = build_model(vocab_size=len(encoder.words), num_chars=len(encoder.chars), num_tags=len(TAGS),
                        embedding_dim=8, char_dim=4, char_filters=5, units=4)
    model.compile(optimizer="adam", loss={"emissions": tagging_loss(model)})
    history = model.fit(dataset, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"])), history.history
