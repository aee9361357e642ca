"""One-word sentences translated by one word, through training, decoding and scoring.

Every batch then has a one-token source and a two-step decoder input ([BOS] word). With
the default ``--min-count 2`` no target word of this tiny corpus is frequent enough, so the
target vocabulary is the four special tokens, narrower than the default beam of 5.
"""

import math

import pytest

from apps.translation.train import main
from tests.datafiles import write
from tests.short_runs import all_finite, history_losses, train

PAIRS = [("cat", "gato"), ("dog", "perro"), ("house", "casa"), ("tree", "árbol"), ("car", "coche"),
         ("book", "libro"), ("sun", "sol"), ("moon", "luna"), ("fish", "pez"), ("bird", "pájaro"),
         ("bread", "pan"), ("water", "agua")]


@pytest.mark.slow
def test_one_token_pairs_train_and_decode_with_a_beam_wider_than_the_vocabulary(tmp_path, isolated_dirs, capsys):
    path = write(tmp_path / "spa.txt", "".join(f"{english}\t{spanish}\n" for english, spanish in PAIRS))
    metrics = train(main, path, tmp_path / "run", "--attention-dim", "4", "--validation-fraction", "0.2",
                    "--test-fraction", "0.2", "--attention-examples", "0")
    assert all_finite(history_losses(tmp_path / "run"))
    assert metrics["vocabulary_size"]["target"] == 4 and metrics["beam"] == 4
    assert "--beam 5 is wider than the vocabulary (4 tokens): beam search uses 4" in capsys.readouterr().out
    assert math.isfinite(metrics["test"]["greedy"]["chrf"]) and math.isfinite(metrics["test"]["beam_4"]["chrf"])
