"""Train the recurrent language model, compare it with a Kneser-Ney trigram, export it.

With no flags it trains on a small news corpus that gensim ships (demo data), so the whole
path runs offline; point ``--data`` at any plain text (files or folders, one document a
line, gzipped or not) for a real model:

    python -m apps.textgen.train
    python -m apps.textgen.train --data reviews.txt.gz --time-budget 45
    python -m apps.textgen.train --data books/ --level char --cell gru --layers 3 --units 512

Validation and test perplexity per token (and bits per character at ``--level char``) are
printed beside an interpolated Kneser-Ney trigram's on the same splits and vocabulary.
"""

import argparse
import math

import keras
import numpy as np
import tensorflow as tf

from apps.textgen.baseline import KneserNeyTrigram, describe
from apps.textgen.data import (LEVELS, build_tokenizer, encode_documents, is_char_level, join_tokens, load_corpus,
                               pad_ids, token_stream, window_dataset)
from apps.textgen.export import make_bundle
from apps.textgen.inference import generate_tf, score_ids_tf
from apps.textgen.model import CELLS, LanguageModel
from shared.embeddings import add_embedding_arguments, embedding_matrix, vectors_from_arguments
from shared.errors import SeqappsError, run_cli
from shared.export import add_output_arguments, export_app
from shared.text import EOS_ID
from shared.training import add_training_arguments, fit, make_optimizer, prepare_run_dir, start_run, write_metrics


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.textgen.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", nargs="+", default=None, metavar="PATH", help="text files or folders, one document per line (default: the demo corpus)")
    data.add_argument("--encoding", default="utf-8", help="text encoding of --data files (default: %(default)s)")
    data.add_argument("--level", choices=LEVELS, default="word", help="model words (the shared tokenizer) or characters (default: %(default)s)")
    data.add_argument("--validation-fraction", type=float, default=0.1, help="share of documents held out for validation (default: %(default)s)")
    data.add_argument("--test-fraction", type=float, default=0.1, help="share of documents held out for test (default: %(default)s)")
    data.add_argument("--limit", type=int, default=None, metavar="N", help="train on the first N training documents only (a quick slice)")
    data.add_argument("--vocab-size", type=int, default=20000, help="largest vocabulary, special tokens included (default: %(default)s)")
    data.add_argument("--min-count", type=int, default=2, help="tokens seen fewer times in training become [UNK] (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", choices=sorted(CELLS), default="lstm", help="recurrent cell (default: %(default)s)")
    model.add_argument("--layers", type=int, default=2, help="stacked recurrent layers (default: %(default)s)")
    model.add_argument("--units", type=int, default=256, help="units per recurrent layer (default: %(default)s)")
    model.add_argument("--dropout", type=float, default=0.2, help="dropout on embeddings, between layers and before the head (default: %(default)s)")
    model.add_argument("--window", type=int, default=64, help="truncated BPTT: tokens per training window of the stream (default: %(default)s)")
    report = parser.add_argument_group("evaluation and samples")
    report.add_argument("--eval-batch-size", type=int, default=32, help="documents per scoring batch (default: %(default)s)")
    report.add_argument("--sample-length", type=int, default=30, help="tokens of the greedy sample printed after training and checked at export (default: %(default)s)")
    add_embedding_arguments(parser, algorithm="cbow", epochs=5,
                            freeze_help="keep the pretrained word vectors fixed (default: trained; --level word only)")
    add_output_arguments(parser)
    add_training_arguments(parser, epochs=10, batch_size=32, learning_rate=2e-3, patience=2)
    return parser


# ------------------------------------------------------------------ data


def read_corpus(args):
    corpus = load_corpus(args.data, encoding=args.encoding, validation_fraction=args.validation_fraction,
                         test_fraction=args.test_fraction, seed=args.seed)
    banner = "DEMO DATA, for a quick end-to-end run; pass --data for a real model" if corpus.is_demo else "data"
    print(f"{banner}: {corpus.description}")
    if args.limit:
        corpus.train = corpus.train[: args.limit]
    print(f"documents: {len(corpus.train):,} train, {len(corpus.validation):,} validation, {len(corpus.test):,} test "
          "(split by a seeded hash of each line)")
    if not corpus.train or not corpus.validation or not corpus.test:
        raise SeqappsError("the language model needs documents (non-blank lines) in the train, validation and "
                           "test splits: pass more text or change --validation-fraction/--test-fraction")
    return corpus


def input_matrix(args, corpus, tokenizer):
    """The embedding's initial rows: the shared word2vec vectors at word level, random for characters."""
    if is_char_level(tokenizer):
        vectors = None
    else:
        vectors = vectors_from_arguments(args, [] if corpus.is_demo else corpus.train)
    matrix, coverage = embedding_matrix(vectors, tokenizer.vocabulary.tokens, token_counts=tokenizer.vocabulary.counts,
                                        dim=args.embedding_dim if vectors is None else None, seed=args.seed)
    return matrix, coverage


def make_datasets(args, encoded, replicas):
    full = replicas > 1
    streams = {name: token_stream(encoded[name]) for name in ("train", "validation")}
    windows = {name: -(-(len(stream) - 1) // args.window) for name, stream in streams.items()}
    if full and min(windows.values()) < args.batch_size:
        raise SeqappsError(f"--strategy {args.strategy} needs a full batch of windows in train and validation: "
                           f"{windows} windows of {args.window} < --batch-size {args.batch_size}")
    print(f"tokens: {len(streams['train']):,} train, {len(streams['validation']):,} validation "
          f"({windows['train']:,} training windows of {args.window})")
    return {name: window_dataset(stream, args.window, batch_size=args.batch_size, shuffle=name == "train",
                                 seed=args.seed, drop_remainder=full) for name, stream in streams.items()}


# ------------------------------------------------------------------ evaluation


def neural_scores(lm, documents, batch_size):
    """Summed log-probability and target count over documents, each read from a zero state."""
    scorer = tf.function(lambda ids: score_ids_tf(lm.training_model, ids),
                         input_signature=[tf.TensorSpec([None, None], tf.int32)])
    order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
    log_prob, tokens = 0.0, 0
    for start in range(0, len(order), batch_size):
        ids = pad_ids([documents[i] for i in order[start:start + batch_size]])
        document_log_prob, _, count = scorer(tf.constant(ids))
        log_prob += float(np.sum(document_log_prob.numpy(), dtype=np.float64))
        tokens += int(np.sum(count.numpy()))
    return {"log_prob": log_prob, "tokens": tokens, "perplexity": math.exp(-log_prob / tokens)}


def with_bits(result):
    return {**result, "bits_per_token": -result["log_prob"] / result["tokens"] / math.log(2)}


def compare(lm, kn, encoded, args, char_level):
    """Per split: the model's and the trigram's perplexity on the same targets, and their ratio."""
    results = {}
    for name in ("validation", "test"):
        model, baseline = (with_bits(neural_scores(lm, encoded[name], args.eval_batch_size)),
                           with_bits(kn.evaluate(encoded[name])))
        results[name] = {"model": model, "kn_trigram": baseline,
                         "perplexity_ratio": model["perplexity"] / baseline["perplexity"]}
        unit = "bits per character" if char_level else "bits per token"
        print(f"{name} perplexity per token: {args.cell.upper()} {model['perplexity']:.2f} vs KN trigram "
              f"{baseline['perplexity']:.2f} (ratio {results[name]['perplexity_ratio']:.3f}; {model['tokens']:,} "
              f"targets); {unit}: {model['bits_per_token']:.3f} vs {baseline['bits_per_token']:.3f}")
    return results


def greedy_sample(lm, tokenizer, prompt, length):
    """The model's greedy continuation of ``prompt``, as text (printed and stored in metrics)."""
    ids = [i for i in tokenizer.encode(prompt)]
    token_ids, _ = generate_tf(lm.step_model(), lm.state_names, lm.units, tf.constant(ids, tf.int32),
                               tf.constant(length), tf.constant(0.0), tf.constant(0), tf.constant(0))
    tokens = []
    for index in token_ids.numpy():
        if index == EOS_ID:
            break
        tokens.append(tokenizer.vocabulary.token(int(index)))
    return join_tokens(tokenizer, tokens)


def sample_prompts(tokenizer, documents, count=3):
    """The first few tokens of some test documents, and the empty prompt."""
    words = 12 if is_char_level(tokenizer) else 3
    prompts = ["".join(tokenizer.tokenize(d)[:words]) if is_char_level(tokenizer)
               else " ".join(tokenizer.tokenize(d)[:words]) for d in documents[:count]]
    return prompts + [""]


# ------------------------------------------------------------------ main


def model_options(args, tokenizer, matrix):
    return dict(vocab_size=len(tokenizer.vocabulary), embedding_dim=matrix.shape[1], cell=args.cell,
                layers=args.layers, units=args.units, dropout=args.dropout,
                trainable_embedding=args.level == "char" or not args.freeze_embeddings)


def main(argv=None):
    args = build_parser().parse_args(argv)
    strategy = start_run(args)
    corpus = read_corpus(args)
    run_dir, _ = prepare_run_dir("textgen", args.run_dir, vars(args), fresh=args.fresh)
    tokenizer = build_tokenizer(args.level, corpus.train, max_size=args.vocab_size, min_count=args.min_count)
    tokenizer.save(run_dir / ("char_tokenizer.json" if is_char_level(tokenizer) else "tokenizer.json"))
    matrix, coverage = input_matrix(args, corpus, tokenizer)
    embedding = "random character embeddings" if is_char_level(tokenizer) else str(coverage)
    print(f"vocabulary: {len(tokenizer.vocabulary):,} {args.level} tokens (min count {args.min_count}); {embedding}")
    encoded = {name: encode_documents(tokenizer, getattr(corpus, name)) for name in ("train", "validation", "test")}
    datasets = make_datasets(args, encoded, strategy.num_replicas_in_sync)

    options = model_options(args, tokenizer, matrix)
    with strategy.scope():
        lm = LanguageModel(embedding_matrix=matrix, **options)
        lm.training_model.compile(optimizer=make_optimizer(args), weighted_metrics=[],
                                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    if args.verbose:
        lm.training_model.summary(line_length=100)
    training = fit(lm.training_model, datasets["train"], datasets["validation"], args=args, run_dir=run_dir)

    kn = KneserNeyTrigram(len(tokenizer.vocabulary)).fit(encoded["train"])
    print(f"baseline: {describe(kn)}")
    results = compare(lm, kn, encoded, args, is_char_level(tokenizer))
    prompts = sample_prompts(tokenizer, corpus.test)
    samples = {prompt: greedy_sample(lm, tokenizer, prompt, args.sample_length) for prompt in prompts}
    for prompt, text in samples.items():
        print(f"greedy sample: {prompt!r} -> {text!r}")
    write_metrics(run_dir, {
        "app": "textgen", "data": corpus.description, "demo_data": corpus.is_demo, "level": args.level,
        "sizes": {name: len(getattr(corpus, name)) for name in ("train", "validation", "test")},
        "vocabulary_size": len(tokenizer.vocabulary), "embedding_coverage": vars(coverage),
        "model": {key: options[key] for key in ("cell", "layers", "units", "dropout")}, "window": args.window,
        "training": training, "baseline": describe(kn), "greedy_samples": samples,
        "metric_note": "perplexity per token over every token and the final [EOS] of each document, read from a "
                       "zero state after [BOS]; the KN trigram scores the same targets with the same vocabulary",
        **results,
    })
    if not args.no_export:
        rebuild = lambda: LanguageModel(**options, use_cudnn=False)  # noqa: E731
        bundle = make_bundle(lm, rebuild, tokenizer, parity_texts=corpus.test[:16] + ["", "   "],
                             parity_prompts=prompts, parity_length=args.sample_length,
                             metrics={"test_perplexity": results["test"]["model"]["perplexity"],
                                      "test_kn_trigram_perplexity": results["test"]["kn_trigram"]["perplexity"],
                                      "level": args.level, "demo_data": corpus.is_demo})
        export_app(bundle, args.export_dir)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
