"""One-word reviews, and reviews with no token at all, through training and evaluation.

Length bucketing puts them in batches whose longest sequence is one step (an empty text is
one [PAD] step, fully masked): the loss, the metrics and the report must stay finite.
"""

import math

import pytest

from apps.sentiment.train import main
from tests.datafiles import write
from tests.short_runs import all_finite, history_losses, train

WORDS = {"pos": ["great", "superb", "lovely", "brilliant", "charming", "moving"],
         "neg": ["awful", "dull", "boring", "tedious", "clumsy", "bland"]}


@pytest.mark.slow
def test_one_word_and_empty_reviews_train_to_a_finite_loss(tmp_path, isolated_dirs):
    rows = [f"{label}\t{word}\n" for label, words in WORDS.items() for word in words]
    rows += ["pos\t\u200b\n", "neg\t\u200b\u200b\n"] * 2  # zero-width spaces only: no token at all
    metrics = train(main, write(tmp_path / "reviews.tsv", "".join(rows)), tmp_path / "run")
    assert all_finite(history_losses(tmp_path / "run"))
    assert math.isfinite(metrics["test"]["loss"]) and math.isfinite(metrics["validation"]["loss"])
