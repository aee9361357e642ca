"""One-word documents in windows of one token, through training, scoring and sampling.

Every training window is one step long, and every document scored is [BOS] word [EOS].
"""

import math

import pytest

from apps.textgen.train import main
from tests.datafiles import write
from tests.short_runs import all_finite, history_losses, train

WORDS = ["apple", "pear", "plum", "fig", "kiwi", "lime", "date", "lemon"]


@pytest.mark.slow
def test_one_word_documents_in_one_token_windows_train_to_a_finite_loss(tmp_path, isolated_dirs):
    path = write(tmp_path / "fruit.txt", "".join(f"{word}\n" for word in WORDS * 4))
    metrics = train(main, path, tmp_path / "run", "--window", "1", "--layers", "1", "--sample-length", "3",
                    "--validation-fraction", "0.25", "--test-fraction", "0.25", "--min-count", "1")
    assert all_finite(history_losses(tmp_path / "run"))
    assert math.isfinite(metrics["test"]["model"]["perplexity"])
