"""Train the sentiment classifier, evaluate it, and export it (SavedModel + ONNX).

With no flags it trains on the offline demo data (200 review sentences that gensim ships)
so the whole path runs anywhere; point ``--data`` at real data for a real model:

    python -m apps.sentiment.train
    python -m apps.sentiment.train --data ../shared/data/sentiment --epochs 3 --time-budget 30
    python -m apps.sentiment.train --data aclImdb/ --cell gru --layers 2
    python -m apps.sentiment.train --data imdb          # download the official archive

``--data`` takes a corpus as it is downloaded, gzipped or not; each file's layout is
detected from its first line and logged (apps/sentiment/formats.py). Labels are kept as
the file writes them:

  aclImdb folder        train/pos/12_8.txt, train/neg/7_2.txt, test/... (official split kept)
  GLUE SST-2 TSV        header sentence<TAB>label, then: a warm , funny film <TAB>1
  Yelp/Amazon polarity  "2","Great tacos, friendly staff." or "1","Title","Text" (1 neg, 2 pos)
  fastText              __label__2 Great tacos, friendly staff.
  CSV/TSV with header   review,sentiment / text,label (any order, extra columns ignored)
  TSV without header    pos<TAB>Great tacos, friendly staff.

A folder holding *train* / *test* (and *dev*) files in any of these layouts keeps that split.
"""

import argparse

import numpy as np
import tensorflow as tf

from apps.sentiment.data import load_splits
from apps.sentiment.export import make_bundle
from apps.sentiment.model import CELLS, build_model
from shared.embeddings import add_embedding_arguments, embedding_matrix, vectors_from_arguments
from shared.errors import SeqappsError, run_cli
from shared.export import add_output_arguments, export_app
from shared.pipeline import sequence_dataset
from shared.text import Tokenizer, Vocabulary, length_note, tokenize
from shared.training import (add_training_arguments, fit, make_optimizer, prepare_run_dir, start_run,
                             write_metrics)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.sentiment.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", default=None, help="training data (see above), or 'imdb' to download it; default: the offline demo data")
    data.add_argument("--test-data", default=None, help="a separate test set in any supported format")
    data.add_argument("--encoding", default="utf-8", help="text encoding of --data files (default: %(default)s)")
    data.add_argument("--limit", type=int, default=None, metavar="N", help="train on at most N examples (a quick slice)")
    data.add_argument("--vocab-size", type=int, default=20000, help="largest vocabulary, special tokens included (default: %(default)s)")
    data.add_argument("--max-length", type=int, default=400, help="tokens kept per text (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", choices=sorted(CELLS), default="lstm", help="recurrent cell (default: %(default)s)")
    model.add_argument("--units", type=int, default=64, help="units per recurrent layer and direction (default: %(default)s)")
    model.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default: %(default)s)")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True, help="read texts in both directions (default: on)")
    model.add_argument("--dropout", type=float, default=0.2, help="dropout on recurrent inputs and before the head (default: %(default)s)")
    model.add_argument("--pooling", choices=("last", "mean"), default="mean", help="summarise a text by the final state or the mean over tokens (default: %(default)s)")
    add_embedding_arguments(parser, algorithm="cbow", epochs=5,
                            freeze_help="keep the pretrained vectors fixed: better on large corpora (full IMDB: 0.8987 "
                                        "frozen vs 0.8914 trained; 0.9032 frozen with --max-length 600, see "
                                        "benchmarks/), worse on small ones (default: trained)")
    add_output_arguments(parser)
    add_training_arguments(parser, epochs=5, batch_size=32, learning_rate=2e-3, patience=2)
    return parser


def word_vectors(args, splits, log=print):
    """The pretrained vectors for ``--embeddings``, or None for random initialisation."""
    return vectors_from_arguments(args, () if splits.is_demo else [e.text for e in splits.train], log=log)


def encode(tokenizer, examples, label_ids):
    return [tokenizer.encode(e.text) for e in examples], [label_ids[e.label] for e in examples]


def evaluate(model, dataset, targets, labels):
    """Accuracy, loss, majority-class baseline and confusion matrix on one split.

    Runs the model in a plain ``tf.function`` rather than ``model.predict`` so that a model
    built under a distribution strategy is also evaluated on every example.
    """
    forward = tf.function(lambda ids: model(ids, training=False)["probabilities"], reduce_retracing=True)
    pairs = [(forward(ids).numpy(), y.numpy()) for ids, y in dataset]
    probabilities = np.concatenate([p for p, _ in pairs])
    truth = np.concatenate([y for _, y in pairs])
    predicted = probabilities.argmax(axis=-1)
    majority = np.bincount(np.asarray(targets), minlength=len(labels)).argmax()
    loss = -np.mean(np.log(np.clip(probabilities[np.arange(len(truth)), truth], 1e-7, 1.0)))
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    return {
        "examples": int(len(truth)),
        "accuracy": float(np.mean(predicted == truth)),
        "loss": float(loss),
        "majority_baseline_accuracy": float(np.mean(truth == majority)),
        "confusion_matrix": {"labels": labels, "rows_true_columns_predicted": confusion.tolist()},
    }


def read_data(args):
    splits = load_splits(args.data, test_data=args.test_data, seed=args.seed, encoding=args.encoding, limit=args.limit)
    banner = "DEMO DATA, for a quick end-to-end run; pass --data for a real model" if splits.is_demo else "data"
    print(f"{banner}: {splits.source}")
    print(f"examples: {len(splits.train)} train, {len(splits.validation)} validation, {len(splits.test)} test; "
          f"labels: {', '.join(splits.labels)}")
    return splits


def build_tokenizer(args, splits):
    token_lists = [tokenize(e.text) for e in splits.train]
    note = length_note(map(len, token_lists), args.max_length, what="training texts", flag="--max-length")
    if note:
        print(f"WARNING: {note}")
    return Tokenizer(Vocabulary.build(token_lists, max_size=args.vocab_size), max_length=args.max_length)


def make_datasets(args, splits, tokenizer, replicas):
    """Train, validation (for ``fit``), full validation and test pipelines.

    Several replicas cannot split a short batch evenly, so under a distribution strategy
    training and in-training validation use full batches only; the final metrics are
    computed on the full validation and test sets.
    """
    label_ids = {label: index for index, label in enumerate(splits.labels)}
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (
        encode(tokenizer, part, label_ids) for part in (splits.train, splits.validation, splits.test))
    full_batches = replicas > 1
    if full_batches and len(val_x) < args.batch_size:
        raise SeqappsError(f"--strategy {args.strategy} needs at least one full validation batch: "
                           f"{len(val_x)} validation examples < --batch-size {args.batch_size}")
    if full_batches:
        print(f"--strategy {args.strategy}: validation during training uses full batches of {args.batch_size}; "
              f"final metrics use every example")
    batch = args.batch_size
    return {
        "train": sequence_dataset(train_x, train_y, batch_size=batch, shuffle=True, seed=args.seed,
                                  drop_remainder=full_batches),
        "fit_validation": sequence_dataset(val_x, val_y, batch_size=batch, drop_remainder=full_batches,
                                           buckets=not full_batches),
        "validation": sequence_dataset(val_x, val_y, batch_size=batch),
        "test": sequence_dataset(test_x, test_y, batch_size=batch),
        "train_targets": train_y,
    }


def model_options(args, tokenizer, splits, embedding_dim):
    return dict(vocab_size=len(tokenizer.vocabulary), num_classes=len(splits.labels), embedding_dim=embedding_dim,
                cell=args.cell, units=args.units, layers=args.layers, bidirectional=args.bidirectional,
                dropout=args.dropout, pooling=args.pooling)


def main(argv=None):
    args = build_parser().parse_args(argv)
    strategy = start_run(args)
    splits = read_data(args)
    tokenizer = build_tokenizer(args, splits)
    vectors = word_vectors(args, splits)
    matrix, coverage = embedding_matrix(vectors, tokenizer.vocabulary.tokens, token_counts=tokenizer.vocabulary.counts,
                                        dim=args.embedding_dim if vectors is None else None, seed=args.seed)
    print(f"vocabulary: {len(tokenizer.vocabulary):,} tokens; {coverage}; "
          f"embedding {'frozen' if args.freeze_embeddings else 'trained'}")
    data = make_datasets(args, splits, tokenizer, strategy.num_replicas_in_sync)

    options = model_options(args, tokenizer, splits, matrix.shape[1])
    with strategy.scope():
        model = build_model(embedding_matrix=matrix, trainable_embedding=not args.freeze_embeddings, **options)
        model.compile(optimizer=make_optimizer(args), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        model.summary(line_length=100)

    run_dir, _ = prepare_run_dir("sentiment", args.run_dir, vars(args), fresh=args.fresh)
    tokenizer.save(run_dir / "tokenizer.json")
    training = fit(model, data["train"], data["fit_validation"], args=args, run_dir=run_dir)
    test = evaluate(model, data["test"], data["train_targets"], splits.labels)
    print(f"test accuracy {test['accuracy']:.4f} on {test['examples']} examples "
          f"(majority-class baseline {test['majority_baseline_accuracy']:.4f})")
    write_metrics(run_dir, {
        "app": "sentiment", "data": splits.source, "demo_data": splits.is_demo, "labels": splits.labels,
        "test": test, "validation": evaluate(model, data["validation"], data["train_targets"], splits.labels),
        "training": training, "embedding_coverage": vars(coverage),
        "sizes": {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test)},
    })

    if not args.no_export:
        parity_texts = [e.text for e in splits.test[:32]] + ["", "   ", "¡Increíble! 😀", "long " * 5000]
        bundle = make_bundle(model, lambda: build_model(use_cudnn=False, **options), tokenizer, splits.labels,
                             parity_texts=parity_texts,
                             metrics={"test_accuracy": test["accuracy"], "demo_data": splits.is_demo})
        export_app(bundle, args.export_dir)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
