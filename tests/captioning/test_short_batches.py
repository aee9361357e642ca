"""One-word captions, cut to ``--max-words 1``, through training, decoding and scoring.

The decoder then reads two steps ([BOS] word) and predicts two (word [EOS]). Each image has
a word of its own, so with the default ``--min-count 2`` the vocabulary is the four special
tokens, narrower than the default beam of 5.
"""

import math

import pytest

from apps.captioning.demo import write_demo_dataset
from apps.captioning.train import main
from tests.short_runs import all_finite, history_losses, train


@pytest.mark.slow
def test_one_word_captions_train_and_decode_with_a_beam_wider_than_the_vocabulary(tmp_path, isolated_dirs, capsys):
    folder = write_demo_dataset(tmp_path / "scenes", count=12, size=32)
    token_file = folder / "Flickr8k.token.txt"
    names = [line.split("#")[0] for line in token_file.read_text().splitlines()]
    token_file.write_text("".join(f"{name}#0\tword{n}\n" for n, name in enumerate(names)))
    metrics = train(main, folder, tmp_path / "run", "--cnn", "small", "--max-words", "1", "--feature-dim", "4",
                    "--attention-dim", "4")
    assert all_finite(history_losses(tmp_path / "run"))
    assert metrics["vocabulary_size"] == 4 and metrics["beam"] == 4
    assert "--beam 5 is wider than the vocabulary (4 tokens): beam search uses 4" in capsys.readouterr().out
    assert math.isfinite(metrics["test"]["model"]["bleu_1"])
