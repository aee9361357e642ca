"""What the sentiment app hands to the shared exporter.

The SavedModel's ``serving_default`` takes a batch of raw review strings (``text``) and
returns ``label`` (string), ``label_id`` and ``probabilities``; the ONNX model takes
``token_ids`` from the tokenizer spec that ships beside it.
"""

import numpy as np
import tensorflow as tf

from shared.export import ExportBundle
from shared.text_tf import TokenIds


def serving_function(model, tokenizer, labels):
    token_ids = TokenIds(tokenizer)
    label_names = tf.constant(labels)

    def serve(text):
        probabilities = model(token_ids(text), training=False)["probabilities"]
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(label_names, label_id), "label_id": label_id, "probabilities": probabilities}

    return serve, [tf.TensorSpec([None], tf.string, name="text")], [token_ids]


def make_bundle(model, build_float32, tokenizer, labels, parity_texts, metrics):
    return ExportBundle(
        app="sentiment",
        model=model,
        build_float32=build_float32,
        serving_fn=lambda float_model: serving_function(float_model, tokenizer, labels),
        onnx_inputs=lambda raw: {"token_ids": np.array(tokenizer.encode_batch(raw["text"]), np.int32)},
        parity_inputs={"text": list(parity_texts)},
        parity_outputs=("probabilities",),
        files={"tokenizer.json": tokenizer.to_dict(), "labels.json": {"labels": list(labels)}},
        metrics=metrics,
    )
