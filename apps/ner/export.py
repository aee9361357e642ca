"""What the NER app hands to the shared exporter.

SavedModel signatures (strings in, strings out; padding is the empty string):

* ``serving_default``: ``text`` ``[batch]`` raw sentences, split with the suite's tokenizer;
* ``tag_tokens``: ``tokens`` ``[batch, time]`` already-split tokens, ``""`` as padding;

both return ``tokens`` and ``tags`` ``[batch, time]`` padded to the batch's longest
sentence, plus ``lengths``, ``tag_ids`` and the ``emissions`` the CRF decoded.

The ONNX model takes ``word_ids`` and ``char_ids`` (see ``inputs.json``, read by
:class:`apps.ner.encoding.NerEncoder`) and returns ``tag_ids`` decoded by the CRF's Viterbi
inside the graph, plus ``emissions``; ``labels.json`` names the tags, and ``crf.json``
holds the transition scores for runtimes that would rather run Viterbi themselves
(:func:`apps.ner.crf.viterbi_decode` is the reference, tested equal to the graph's).
"""

import tensorflow as tf

from apps.ner.crf import CRF
from apps.ner.encoding_tf import NerInputs
from shared.export import ExportBundle


def serving_functions(model, encoder, tags):
    inputs = NerInputs(encoder)
    tag_names = tf.constant(tags)

    def tag(tokens):
        features = inputs(tokens)
        outputs = model(features, training=False)
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        mask = tf.sequence_mask(lengths, tf.shape(outputs["tag_ids"])[1])
        tag_strings = tf.where(mask, tf.gather(tag_names, outputs["tag_ids"]), "")
        return {"tokens": tokens.to_tensor(default_value="", shape=tf.shape(tag_strings)), "tags": tag_strings,
                "lengths": lengths, "tag_ids": outputs["tag_ids"], "emissions": outputs["emissions"]}

    def serve(text):
        return tag(inputs.tokenize(text))

    def tag_tokens(tokens):
        ragged = tf.RaggedTensor.from_tensor(tokens, padding="")
        return tag(ragged)

    endpoints = {"tag_tokens": (tag_tokens, [tf.TensorSpec([None, None], tf.string, name="tokens")])}
    return serve, [tf.TensorSpec([None], tf.string, name="text")], [inputs], endpoints


def crf_file(model, tags):
    """``crf.json``: the learned transition scores, for runtimes that decode emissions themselves."""
    crf = next((layer for layer in model.layers if isinstance(layer, CRF)), None)
    if crf is None:
        return {}
    return {"crf.json": {"tags": list(tags), "transitions_from_row_to_column": crf.transitions.numpy().tolist(),
                         "start": crf.start.numpy().tolist(), "end": crf.end.numpy().tolist()}}


def make_bundle(model, build_float32, encoder, tags, scheme, parity_sentences, metrics):
    return ExportBundle(
        app="ner",
        model=model,
        build_float32=build_float32,
        serving_fn=lambda float_model: serving_functions(float_model, encoder, tags),
        onnx_inputs=lambda raw: encoder.encode_batch([encoder.tokenize(text) for text in raw["text"]]),
        parity_inputs={"text": list(parity_sentences)},
        parity_outputs=("emissions", "tag_ids"),
        files={"inputs.json": encoder.to_dict(), "labels.json": {"labels": list(tags), "scheme": scheme},
               **crf_file(model, tags)},
        metrics=metrics,
    )
