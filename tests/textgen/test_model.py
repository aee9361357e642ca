"""The language model's pieces in process: perplexity arithmetic, learning a pattern, windows, tokenizers."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.textgen.data import CharTokenizer, build_tokenizer, pad_ids, split_documents, stream_windows, token_stream
from apps.textgen.export import CharIds
from apps.textgen.host_loop import generate_np, score_ids_np
from apps.textgen.inference import generate_tf, keras_step, score_ids_tf
from apps.textgen.model import LanguageModel
from shared.paths import REPO_ROOT
from shared.text import BOS_ID, EOS_ID, PAD_ID


def test_a_uniform_model_has_the_vocabulary_size_as_perplexity():
    lm = LanguageModel(vocab_size=37, embedding_dim=8, layers=2, units=8, cell="gru")
    kernel, bias = lm.logits.get_weights()
    lm.logits.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])
    ids = pad_ids([[5, 6, 7, 8, 9], [10], []])
    _, perplexity, tokens = (t.numpy() for t in score_ids_tf(lm.training_model, tf.constant(ids)))
    assert tokens.tolist() == [6, 2, 1]
    np.testing.assert_allclose(perplexity, 37.0, rtol=1e-5)
    _, step_perplexity, _ = score_ids_np(keras_step(lm.step_model()), lm.state_names, lm.units, ids)
    np.testing.assert_allclose(step_perplexity, 37.0, rtol=1e-5)


def test_sequence_and_step_models_score_alike():
    lm = LanguageModel(vocab_size=20, embedding_dim=8, layers=2, units=8, cell="lstm")
    ids = pad_ids([[5, 6, 7, 8, 9, 4], [10, 11], [12]])
    log_prob, _, _ = score_ids_tf(lm.training_model, tf.constant(ids))
    step_log_prob, _, _ = score_ids_np(keras_step(lm.step_model()), lm.state_names, lm.units, ids)
    np.testing.assert_allclose(log_prob.numpy(), step_log_prob, rtol=1e-5)


@pytest.mark.slow
def test_a_model_trained_on_a_repeated_pattern_generates_it():
    keras.utils.set_random_seed(3)
    pattern = [4, 5, 6, 7, 8, 9]
    stream = token_stream([pattern * 40])
    inputs, targets, weights = stream_windows(stream, 12)
    lm = LanguageModel(vocab_size=10, embedding_dim=8, layers=1, units=32, dropout=0.0)
    lm.training_model.compile(optimizer=keras.optimizers.Adam(0.02), weighted_metrics=[],
                              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    lm.training_model.fit({"tokens": inputs}, targets, sample_weight=weights, batch_size=10, epochs=40, verbose=0)
    tokens, _ = generate_tf(lm.step_model(), lm.state_names, lm.units, tf.constant([4, 5]), tf.constant(10),
                            tf.constant(0.0), tf.constant(0), tf.constant(0))
    expected = [6, 7, 8, 9, 4, 5, 6, 7, 8, 9]
    assert tokens.numpy().tolist() == expected
    host, _ = generate_np(keras_step(lm.step_model()), lm.state_names, lm.units, [4, 5], 10)
    assert host.tolist() == expected


def test_windows_cover_the_stream_and_never_target_bos():
    stream = token_stream([[4, 5, 6], [7]])
    assert stream.tolist() == [BOS_ID, 4, 5, 6, EOS_ID, BOS_ID, 7, EOS_ID]
    inputs, targets, weights = stream_windows(stream, 3)
    assert inputs.shape == targets.shape == weights.shape == (3, 3)
    assert inputs.ravel()[:7].tolist() == stream[:-1].tolist()
    assert targets.ravel()[:7].tolist() == stream[1:].tolist()
    assert weights.ravel().tolist() == [1, 1, 1, 1, 0, 1, 1, 0, 0]  # [BOS] and padding weigh nothing
    assert targets.ravel()[7:].tolist() == [PAD_ID, PAD_ID]


def test_split_is_seeded_deterministic_and_order_free():
    documents = [f"document number {i}" for i in range(200)]
    first = split_documents(documents, seed=5)
    again = split_documents(list(reversed(documents)), seed=5)
    assert [sorted(part) for part in first] == [sorted(part) for part in again]
    assert 0 < len(first[1]) < 40 and 0 < len(first[2]) < 40 and sum(map(len, first)) == 200
    assert split_documents(documents, seed=6) != first


def test_character_ids_in_the_graph_match_the_reference():
    texts = ["Café déjà vu", "e\u0301te\u0301", "tabs\tand  spaces", "", "日本語 😀 z"]
    tokenizer = build_tokenizer("char", texts[:3] + ["日本"], min_count=1)
    assert isinstance(tokenizer, CharTokenizer)
    graph = CharIds(tokenizer)(tf.constant(texts)).numpy()
    assert graph.tolist() == pad_ids([tokenizer.encode(text) for text in texts])[:, :graph.shape[1]].tolist()
    assert tokenizer.encode("e\u0301") == tokenizer.encode("é")


@pytest.mark.parametrize("temperature,top_k", [(0.0, 0), (1.0, 1)])
def test_greedy_settings_agree_between_graph_and_host(temperature, top_k):
    lm = LanguageModel(vocab_size=15, embedding_dim=4, layers=2, units=6)
    graph, _ = generate_tf(lm.step_model(), lm.state_names, lm.units, tf.constant([7, 8, 9]), tf.constant(6),
                           tf.constant(temperature), tf.constant(top_k), tf.constant(1))
    host, _ = generate_np(keras_step(lm.step_model()), lm.state_names, lm.units, [7, 8, 9], 6, temperature, top_k, 1)
    assert graph.numpy().tolist() == host.tolist()


def test_sampling_is_repeatable_per_seed_and_never_emits_special_tokens():
    lm = LanguageModel(vocab_size=15, embedding_dim=4, layers=1, units=6)
    step = lm.step_model()
    run = lambda seed: generate_tf(step, lm.state_names, lm.units, tf.constant([5]), tf.constant(20),  # noqa: E731
                                   tf.constant(1.5), tf.constant(0), tf.constant(seed))[0].numpy().tolist()
    assert run(4) == run(4)
    assert run(4) != run(5)
    produced = [t for t in run(4) + run(5) if t != PAD_ID]
    assert produced and not {0, 1, BOS_ID} & set(produced)


def test_the_onnx_route_imports_no_tensorflow():
    """``score`` and ``generate --runtime onnx`` run where only onnxruntime is installed."""
    code = ("import sys, apps.textgen.runtime, apps.textgen.host_loop, apps.textgen.score, apps.textgen.generate; "
            "sys.exit('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0
