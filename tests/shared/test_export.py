"""Export: SavedModel + ONNX, parity in a fresh process, manifest, atomic versions."""

import json

import keras
import numpy as np
import onnx
import pytest

from apps.sentiment.export import make_bundle
from apps.sentiment.model import build_model
from shared.export import ExportError, export_app
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest
from shared.text import Tokenizer, Vocabulary, tokenize

TEXTS = ["a wonderful film", "boring and far too long", "", "   ", "Ça alors, 10/10 !", "日本語 テキスト", "x " * 600]
OPTIONS = dict(vocab_size=None, num_classes=2, embedding_dim=8, units=6)


def tiny_export(export_dir, *, tolerance=1e-4, policy="float32"):
    tokenizer = Tokenizer(Vocabulary.build(tokenize(t) for t in TEXTS), max_length=64)
    options = {**OPTIONS, "vocab_size": len(tokenizer.vocabulary)}
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(3)
        model = build_model(**options)
    finally:
        keras.config.set_dtype_policy("float32")
    bundle = make_bundle(model, lambda: build_model(use_cudnn=False, **options), tokenizer, ["neg", "pos"],
                         parity_texts=TEXTS, metrics={"test_accuracy": 0.5})
    return export_app(bundle, export_dir, tolerance=tolerance, log=lambda *_: None), model, tokenizer


def test_export_writes_serving_layout_manifest_and_passes_parity(tmp_path):
    manifest, model, tokenizer = tiny_export(tmp_path)
    root = tmp_path / "sentiment"
    assert manifest["model_version"] == 1
    assert (root / "1" / "saved_model.pb").exists() and (root / "onnx" / "1" / "model.onnx").exists()
    assert manifest["savedmodel"]["inputs"] == {"text": {"dtype": "string", "shape": [None]}}
    assert set(manifest["savedmodel"]["outputs"]) == {"label", "label_id", "probabilities"}
    assert manifest["onnx"]["inputs"] == {"token_ids": {"dtype": "int32", "shape": [None, None]}}
    assert manifest["onnx"]["outputs"]["probabilities"] == {"dtype": "float32", "shape": [None, 2]}
    parity = manifest["parity"]["probabilities"]
    assert parity["keras_vs_savedmodel"] <= 1e-4 and parity["keras_vs_onnx"] <= 1e-4
    assert manifest["versions"]["tensorflow"] and manifest["versions"]["tf2onnx"]
    assert json.loads((root / "manifest.json").read_text()) == manifest
    assert 'name: "sentiment"' in (tmp_path / "models.config").read_text()

    # The published artifacts, loaded the way users load them, agree with Keras.
    loaded = load_manifest("sentiment", tmp_path)
    expected = model.predict(np.array(tokenizer.encode_batch(TEXTS), np.int32), verbose=0)["probabilities"]
    saved = SavedModelRunner(artifact_path(loaded, loaded["savedmodel"]["path"]))(text=np.array(TEXTS, dtype=object))
    np.testing.assert_allclose(saved["probabilities"], expected, atol=1e-5)
    assert list(saved["label"]) == [["neg", "pos"][i] for i in expected.argmax(-1)]
    spec = Tokenizer.load(artifact_path(loaded, loaded["files"]["tokenizer.json"]))
    onnx_out = OnnxRunner(artifact_path(loaded, loaded["onnx"]["path"]))(
        token_ids=np.array(spec.encode_batch(TEXTS), np.int32))
    np.testing.assert_allclose(onnx_out["probabilities"], expected, atol=1e-5)
    assert not np.isnan(expected).any(), "empty inputs must not produce NaN"


def test_failed_export_keeps_the_previous_one(tmp_path):
    first, _, _ = tiny_export(tmp_path)
    before = (tmp_path / "sentiment" / "manifest.json").read_text()
    with pytest.raises(ExportError, match="parity check failed"):
        tiny_export(tmp_path, tolerance=-1.0)  # no difference is below a negative tolerance
    root = tmp_path / "sentiment"
    assert (root / "manifest.json").read_text() == before
    assert sorted(p.name for p in root.iterdir()) == ["1", "manifest.json", "onnx"]
    assert sorted(p.name for p in (root / "onnx").iterdir()) == ["1"]
    second, _, _ = tiny_export(tmp_path)
    assert second["model_version"] == 2 and (root / "1" / "saved_model.pb").exists()


def test_mixed_precision_model_exports_a_float32_onnx_graph(tmp_path):
    manifest, _, _ = tiny_export(tmp_path, policy="mixed_float16")
    graph = onnx.load(str(tmp_path / "sentiment" / manifest["onnx"]["path"])).graph
    float16 = onnx.TensorProto.FLOAT16
    assert not [t.name for t in graph.initializer if t.data_type == float16]
    assert not [n.name for n in graph.node if n.op_type == "Cast" and any(a.i == float16 for a in n.attribute)]
    assert manifest["parity"]["probabilities"]["trained_vs_float32_rebuild"] < 5e-3


def test_a_captured_constant_that_becomes_an_onnx_input_is_refused(tmp_path):
    """tf2onnx turns a tensor made outside the model into a graph input nobody would feed."""
    import tensorflow as tf

    from shared.export import ExportBundle

    outside = keras.ops.convert_to_tensor(np.arange(4, dtype=np.float32))

    def build():
        features = keras.Input((4,), name="features")
        return keras.Model(features, {"scores": keras.layers.Dense(2)(features + outside)})

    model = build()
    bundle = ExportBundle(app="toy", model=model, build_float32=build,
                          serving_fn=lambda m: (lambda features: m(features),
                                                [tf.TensorSpec([None, 4], tf.float32, name="features")], []),
                          onnx_inputs=lambda raw: raw, parity_inputs={"features": np.ones((1, 4), np.float32)})
    with pytest.raises(ExportError, match="became a graph input"):
        export_app(bundle, tmp_path, log=lambda *_: None)
    assert not (tmp_path / "toy" / "manifest.json").exists()
