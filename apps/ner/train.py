"""Train the named-entity tagger, score it with conlleval's entity F1, and export it.

With no flags it trains on a small demo corpus written for seqapps, so the whole path runs
anywhere; point ``--data`` at CoNLL files for a real model:

    python -m apps.ner.train
    python -m apps.ner.train --data ../shared/data/ner/conll2003 --epochs 30 --time-budget 40
    python -m apps.ner.train --data train.txt,dev.txt,test.txt --no-crf --no-char-features

``--data`` takes a folder holding train / valid (dev, testa) / test (testb) files, a
comma-separated list of files (train first), or one file that is split 80/10/10. Files are
read as their corpora distribute them (the formats are listed at the end), UTF-8 or else
latin-1. Each file's tag scheme (IOB1, IOB2, IOBES, BILOU, or bare types such as PER) is
the one its tags break least; the few sentences that break it anyway (up to 0.1% of the
file, and at least one) are repaired as conlleval reads them, with a warning naming each
file:line, and more stop the run unless --repair-tags. Entity precision, recall and F1 are
computed as conlleval computes them, per type and overall, and written to ``metrics.json``.
"""

import argparse
import collections
import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from apps.ner.data import load_splits
from apps.ner.encoding import NerEncoder, word_key
from apps.ner.export import make_bundle
from apps.ner.formats import format_catalogue
from apps.ner.metrics import entity_scores, format_report
from apps.ner.model import build_model, char_classes, tagging_loss
from apps.ner.schemes import SCHEMES, convert_tags, tags_to_spans
from apps.ner.writing import write_conll
from shared.embeddings import add_embedding_arguments, embedding_matrix, vectors_from_arguments
from shared.errors import SeqappsError, run_cli
from shared.export import add_output_arguments, export_app
from shared.pipeline import bucket_boundaries
from shared.training import (add_training_arguments, fit, make_optimizer, prepare_run_dir, start_run,
                             write_metrics)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.ner.train", description=__doc__,
                                     epilog="formats of --data files (told apart by their lines), with an example "
                                            "line:\n" + format_catalogue(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", default=None, help="CoNLL data (see above); default: the offline demo data")
    data.add_argument("--encoding", default="auto",
                      help="text encoding of the files: auto (UTF-8, or latin-1 with a warning when a file is not "
                           "valid UTF-8), or a codec name such as utf-8, latin-1, cp1252 (default: %(default)s)")
    data.add_argument("--repair-tags", action="store_true",
                      help="repair every tag sequence that breaks its file's scheme, as conlleval reads it, and "
                           "count them (default: up to 0.1%% of a file's sentences, at least one, are repaired "
                           "with a warning; more are an error naming the lines)")
    data.add_argument("--limit", type=int, default=None, metavar="N", help="train on at most N sentences (a quick slice)")
    data.add_argument("--tag-scheme", choices=SCHEMES, default="iobes",
                      help="scheme the model learns; files in any scheme are converted (default: %(default)s)")
    data.add_argument("--vocab-size", type=int, default=50000,
                      help="largest word vocabulary: every training word plus the most frequent words that have "
                           "vectors (default: %(default)s)")
    data.add_argument("--max-chars", type=int, default=20, help="characters kept per word (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--units", type=int, default=100, help="LSTM units per direction (default: %(default)s)")
    model.add_argument("--layers", type=int, default=1, help="stacked bidirectional LSTM layers (default: %(default)s)")
    model.add_argument("--dropout", type=float, default=0.5, help="dropout on token features and LSTM outputs (default: %(default)s)")
    model.add_argument("--word-dropout", type=float, default=0.1,
                       help="share of training words replaced by [UNK], so unseen test words have a trained "
                            "vector (default: %(default)s)")
    model.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True,
                       help="CRF output with Viterbi decoding; --no-crf: an independent softmax per token (default: on)")
    model.add_argument("--char-features", action=argparse.BooleanOptionalAction, default=True,
                       help="character CNN per word (default: on)")
    model.add_argument("--char-dim", type=int, default=30, help="character embedding size (default: %(default)s)")
    model.add_argument("--char-filters", type=int, default=50, help="character CNN filters (default: %(default)s)")
    add_embedding_arguments(parser, algorithm="skipgram", epochs=10,
                            freeze_help="keep the pretrained word vectors fixed (default: trained)")
    add_output_arguments(parser)
    add_training_arguments(parser, epochs=40, batch_size=32, learning_rate=1e-3, patience=5)
    return parser


def read_data(args):
    splits = load_splits(args.data, scheme=args.tag_scheme, seed=args.seed, encoding=args.encoding, limit=args.limit,
                         repair_tags=args.repair_tags)
    banner = "DEMO DATA, for a quick end-to-end run; pass --data for a real model" if splits.is_demo else "data"
    print(f"{banner}: {splits.source}")
    print(f"sentences: {len(splits.train):,} train, {len(splits.validation):,} validation, {len(splits.test):,} test; "
          f"tags ({splits.scheme}): {' '.join(splits.tags)}")
    return splits


def word_vectors(args, splits, log=print):
    """The pretrained vectors for ``--embeddings``, or None for random initialisation."""
    return vectors_from_arguments(args, () if splits.is_demo else [" ".join(s.tokens) for s in splits.train], log=log)


def build_encoder(args, splits, vectors):
    extra = vectors.index_to_key if vectors is not None else ()
    return NerEncoder.build((s.tokens for s in splits.train), extra_words=extra, max_words=args.vocab_size,
                            max_chars=args.max_chars)


def encode(encoder, sentences, tag_ids):
    """Ragged word ids, char ids and tag ids for a list of sentences."""
    words, chars, word_lengths, tags = [], [], [], []
    for sentence in sentences:
        words.extend(encoder.word_ids(sentence.tokens))
        for token in sentence.tokens:
            ids = encoder.char_ids(token)
            chars.extend(ids)
            word_lengths.append(len(ids))
        tags.extend(tag_ids[tag] for tag in sentence.tags)
    lengths = np.array([len(s.tokens) for s in sentences], np.int64)
    return {
        "word_ids": tf.RaggedTensor.from_row_lengths(np.array(words, np.int32), lengths),
        "char_ids": tf.RaggedTensor.from_nested_row_lengths(np.array(chars, np.int32),
                                                            [lengths, np.array(word_lengths, np.int64)]),
        "tags": tf.RaggedTensor.from_row_lengths(np.array(tags, np.int32), lengths),
        "lengths": lengths,
    }


def tagging_dataset(encoded, *, batch_size, shuffle=False, seed=1337, buckets=True, drop_remainder=False):
    """``({"word_ids", "char_ids"}, {"emissions": tags})`` batches; tags are -1 on padding.

    Training batches group sentences of similar length; evaluation batches keep the input
    order so predictions line up with their sentences.
    """
    dataset = tf.data.Dataset.from_tensor_slices(
        ({"word_ids": encoded["word_ids"], "char_ids": encoded["char_ids"]}, {"emissions": encoded["tags"]}))
    dataset = dataset.map(lambda x, y: ({k: v.to_tensor() if isinstance(v, tf.RaggedTensor) else v
                                         for k, v in x.items()}, y), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.cache()  # the conversion once, not every epoch (a few MB for CoNLL-2003)
    if shuffle:
        dataset = dataset.shuffle(len(encoded["lengths"]), seed=seed, reshuffle_each_iteration=True)
    padding = ({"word_ids": 0, "char_ids": 0}, {"emissions": -1})
    boundaries = bucket_boundaries(encoded["lengths"]) if buckets and len(encoded["lengths"]) > batch_size else []
    if boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda x, y: tf.shape(x["word_ids"])[0], bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1), padding_values=padding,
            drop_remainder=drop_remainder)
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=padding, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


class Tagger:
    """Runs a model over an evaluation dataset and scores it the conlleval way."""

    def __init__(self, model, tags, scheme):
        self.model, self.tags, self.scheme = model, tags, scheme
        self.forward = tf.function(lambda x: model(x, training=False)["tag_ids"], reduce_retracing=True)

    def predict(self, dataset, sentences):
        rows = [row for x, _ in dataset for row in self.forward(x).numpy()]
        return [[self.tags[i] for i in row[: len(s.tokens)]] for row, s in zip(rows, sentences)]

    def score(self, dataset, sentences):
        """Entity scores on IOB2 tags (lossless from any scheme), plus the predictions."""
        predicted = self.predict(dataset, sentences)
        gold = [convert_tags(s.tags, self.scheme, "iob2") for s in sentences]
        predicted_iob2 = [convert_tags(p, self.scheme, "iob2") for p in predicted]
        return entity_scores(gold, predicted_iob2), predicted_iob2


class ValidationF1(keras.callbacks.Callback):
    """Adds ``val_f1`` (conlleval entity F1 on the validation set) to each epoch's logs."""

    def __init__(self, tagger, dataset, sentences):
        super().__init__()
        self.tagger, self.dataset, self.sentences = tagger, dataset, sentences

    def on_epoch_end(self, epoch, logs=None):
        scores, _ = self.tagger.score(self.dataset, self.sentences)
        if logs is not None:
            logs["val_f1"] = scores["overall"]["f1"]


def make_datasets(args, splits, encoder, replicas):
    tag_ids = {tag: index for index, tag in enumerate(splits.tags)}
    encoded = {name: encode(encoder, getattr(splits, name), tag_ids) for name in ("train", "validation", "test")}
    full_batches = replicas > 1
    if full_batches and len(splits.train) < args.batch_size:
        raise SeqappsError(f"--strategy {args.strategy} needs at least one full batch: "
                           f"{len(splits.train)} training sentences < --batch-size {args.batch_size}")
    batch = args.batch_size
    return {
        "train": tagging_dataset(encoded["train"], batch_size=batch, shuffle=True, seed=args.seed,
                                 drop_remainder=full_batches),
        "fit_validation": tagging_dataset(encoded["validation"], batch_size=batch, drop_remainder=full_batches),
        "validation": tagging_dataset(encoded["validation"], batch_size=batch, buckets=False),
        "test": tagging_dataset(encoded["test"], batch_size=batch, buckets=False),
    }


def model_options(args, encoder, splits, embedding_dim):
    return dict(vocab_size=len(encoder.words), num_chars=len(encoder.chars), num_tags=len(splits.tags),
                embedding_dim=embedding_dim, char_features=args.char_features, char_dim=args.char_dim,
                char_filters=args.char_filters, units=args.units, layers=args.layers, dropout=args.dropout,
                word_dropout=args.word_dropout, crf=args.crf)


def spans_summary(sentences, scheme):
    return sum(len(tags_to_spans(s.tags, scheme)) for s in sentences)


def main(argv=None):
    args = build_parser().parse_args(argv)
    strategy = start_run(args)
    splits = read_data(args)
    vectors = word_vectors(args, splits)
    encoder = build_encoder(args, splits, vectors)
    counts = collections.Counter(word_key(token) for sentence in splits.train for token in sentence.tokens)
    matrix, coverage = embedding_matrix(vectors, encoder.words, token_counts=counts,
                                        dim=args.embedding_dim if vectors is None else None, seed=args.seed)
    known, total = encoder.coverage_counts(s.tokens for s in splits.test)
    print(f"vocabulary: {len(encoder.words):,} words, {len(encoder.chars):,} characters; {coverage}; "
          f"test tokens in vocabulary: {known / max(total, 1):.1%}")
    data = make_datasets(args, splits, encoder, strategy.num_replicas_in_sync)

    options = model_options(args, encoder, splits, matrix.shape[1])
    with strategy.scope():
        model = build_model(embedding_matrix=matrix, trainable_embedding=not args.freeze_embeddings,
                            char_classes_table=char_classes(encoder.chars), **options)
        model.compile(optimizer=make_optimizer(args), loss={"emissions": tagging_loss(model)})
    if args.verbose:
        model.summary(line_length=100)

    run_dir, _ = prepare_run_dir("ner", args.run_dir, vars(args), fresh=args.fresh)
    encoder.save(run_dir / "inputs.json")
    tagger = Tagger(model, splits.tags, splits.scheme)
    validation_f1 = ValidationF1(tagger, data["validation"], splits.validation)
    training = fit(model, data["train"], data["fit_validation"], args=args, run_dir=run_dir,
                   monitor="val_f1", mode="max", callbacks=[validation_f1])

    started = time.monotonic()
    test, predicted = tagger.score(data["test"], splits.test)
    seconds = time.monotonic() - started
    validation, _ = tagger.score(data["validation"], splits.validation)
    print(format_report(test))
    print(f"test entity F1 {test['overall']['f1']:.4f} (conlleval) on {len(splits.test):,} sentences; "
          f"tagged in {seconds:.1f} s")
    gold_iob2 = [dataclasses.replace(s, tags=convert_tags(s.tags, splits.scheme, "iob2")) for s in splits.test]
    write_conll(run_dir / "test_predictions.txt", gold_iob2, predicted=predicted)
    write_metrics(run_dir, {
        "app": "ner", "data": splits.source, "demo_data": splits.is_demo, "tags": splits.tags,
        "scheme": splits.scheme, "scored_as": "iob2, conlleval rules",
        "test": test, "validation": validation, "training": training, "embedding_coverage": vars(coverage),
        "sizes": {name: {"sentences": len(getattr(splits, name)),
                         "entities": spans_summary(getattr(splits, name), splits.scheme)}
                  for name in ("train", "validation", "test")},
        "options": options,
    })

    if not args.no_export:
        parity_sentences = [" ".join(s.tokens) for s in splits.test[:24]] + [
            "", "   ", "Angela Merkel met Emmanuel Macron in Paris on 12 May 2019.", "Ünïcödé Zürich 東京 😀"]
        bundle = make_bundle(model, lambda: build_model(use_cudnn=False, **options), encoder, splits.tags,
                             splits.scheme, parity_sentences=parity_sentences,
                             metrics={"test_entity_f1": test["overall"]["f1"], "demo_data": splits.is_demo})
        export_app(bundle, args.export_dir)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
