"""Translate with a trained :class:`~apps.translation.model.Translator` and score it with sacrebleu.

Scores are computed on detokenised output against the raw reference sentences, exactly as
sacrebleu expects (its own ``13a`` tokenisation, cased): corpus BLEU and chrF, one
reference per pair. A source sentence with several reference translations (the Anki file
has many) counts once per pair, so the model is scored against each translation a human
gave. The lowercased BLEU is reported beside it, since the source side is lowercased.
"""

import numpy as np
import sacrebleu
import tensorflow as tf

from shared.decoding import decode_tf, step_function
from shared.text import detokenize, words_until_eos


def max_decode_steps(target_tokenizer):
    """Longest translation in tokens, [EOS] included: the target length limit minus [BOS]."""
    return target_tokenizer.max_length - 1


def translate_function(translator, *, beam_size=1, max_length=50, length_penalty=0.0):
    """A ``tf.function``: source ids ``[batch, time]`` -> ``(token ids, scores)``."""
    encoder = translator.encoder_model()
    step = step_function(translator.step_model())

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def run(source_ids):
        return decode_tf(step, encoder({"source": source_ids}), beam_size=beam_size, max_length=max_length,
                         length_penalty=length_penalty)

    return run


def translate_ids(run, source_ids, *, batch_size=64):
    """Token ids and scores for every row of ``source_ids`` (lists), batched by length."""
    order = np.argsort([len(ids) for ids in source_ids], kind="stable")
    tokens, scores = [None] * len(source_ids), np.zeros(len(source_ids), np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max([len(source_ids[i]) for i in chunk] + [1])
        batch = np.zeros((len(chunk), width), np.int32)
        for row, index in enumerate(chunk):
            batch[row, :len(source_ids[index])] = source_ids[index]
        ids, chunk_scores = run(tf.constant(batch))
        ids = ids.numpy()
        for row, index in enumerate(chunk):
            tokens[index] = ids[row]
        scores[chunk] = chunk_scores.numpy()
    return tokens, scores


def translate_texts(translator, source_tokenizer, target_tokenizer, texts, *, beam_size=1, length_penalty=0.0,
                    batch_size=64):
    """Detokenised translations of raw source texts (each distinct text decoded once)."""
    distinct = list(dict.fromkeys(texts))
    run = translate_function(translator, beam_size=beam_size, max_length=max_decode_steps(target_tokenizer),
                             length_penalty=length_penalty)
    ids, _ = translate_ids(run, [source_tokenizer.encode(text) for text in distinct], batch_size=batch_size)
    translated = {text: detokenize(words_until_eos(target_tokenizer, row)) for text, row in zip(distinct, ids)}
    return [translated[text] for text in texts]


def score(hypotheses, references):
    """Corpus BLEU (cased and lowercased) and chrF from sacrebleu, on 0..100 as sacrebleu reports."""
    metrics = {"bleu": sacrebleu.BLEU(), "bleu_lowercase": sacrebleu.BLEU(lowercase=True), "chrf": sacrebleu.CHRF()}
    scores = {name: metric.corpus_score(hypotheses, [references]) for name, metric in metrics.items()}
    return {**{name: round(result.score, 2) for name, result in scores.items()},
            "bleu_precisions": [round(p, 2) for p in scores["bleu"].precisions],
            "brevity_penalty": round(scores["bleu"].bp, 4), "sentences": len(hypotheses),
            "exact_match": round(float(np.mean([h == r for h, r in zip(hypotheses, references)])) if hypotheses else 0.0, 4),
            "signature": {name: str(metric.get_signature()) for name, metric in metrics.items()}}


def evaluate_split(translator, source_tokenizer, target_tokenizer, pairs, *, beam_size, length_penalty):
    """Greedy and beam scores on one split, and the translations for the report."""
    sources, references = [pair.source for pair in pairs], [pair.target for pair in pairs]
    greedy = translate_texts(translator, source_tokenizer, target_tokenizer, sources)
    results = {"pairs": len(pairs), "distinct_sources": len(set(sources)), "greedy": score(greedy, references)}
    translations = {"greedy": greedy}
    if beam_size > 1:
        beam = translate_texts(translator, source_tokenizer, target_tokenizer, sources, beam_size=beam_size,
                               length_penalty=length_penalty)
        results[f"beam_{beam_size}"] = score(beam, references)
        translations["beam"] = beam
    return results, translations
