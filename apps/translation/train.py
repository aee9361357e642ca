"""Train an encoder-decoder translator, score it with BLEU and chrF, export it.

With no flags it trains on a small generated English-Spanish corpus (demo data, written
for seqapps), so the whole path runs anywhere; point ``--data`` at real sentence pairs:

    python -m apps.translation.train
    python -m apps.translation.train --data ../shared/data/translation/spa-eng/spa.txt.gz --time-budget 60
    python -m apps.translation.train --data multi30k/train --source en --target de \\
        --validation multi30k/val --test multi30k/test_2016_flickr
    python -m apps.translation.train --data spa.txt --reverse --attention bahdanau --beam 5

``--data`` takes a parallel corpus as it is downloaded, gzipped or not; its layout is
detected from the name and first line and logged (apps/translation/formats.py):

  Anki/Tatoeba pairs    Go.<TAB>Ve.<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org #...  (3rd column ignored)
  Moses/OPUS files      --data europarl.de-en.en, with europarl.de-en.de beside it (or --data europarl.de-en)
  TMX memory            <tu><tuv xml:lang="en"><seg>Good morning.</seg></tuv><tuv xml:lang="de">...</tu>

Languages come from the data: a named Moses file is the source, a prefix or a TMX file is
read English first (--source/--target/--reverse choose otherwise). Single-file corpora are
split deterministically, by source sentence, into train/validation/test.
"""

import argparse
import functools

import keras
import numpy as np
import tensorflow as tf

from apps.translation.data import load_corpus
from apps.translation.evaluate import evaluate_split
from apps.translation.export import make_bundle
from apps.translation.model import ATTENTIONS, CELLS, Translator
from apps.translation.report import plot_attention, write_translations
from shared.decoding import beam_for_vocabulary
from shared.embeddings import add_embedding_arguments, embedding_matrix, vectors_from_arguments
from shared.errors import SeqappsError, run_cli
from shared.export import add_output_arguments, export_app
from shared.pipeline import bucket_boundaries, dense_ids, ragged_ids
from shared.text import BOS_ID, EOS_ID, TextConfig, Tokenizer, Vocabulary, tokenize
from shared.training import add_training_arguments, fit, make_optimizer, prepare_run_dir, start_run, write_metrics

# One normalisation for both languages, in training and in the exported graph: NFC keeps
# accented letters composed ("é" is one character, as people type it). The source is
# lowercased (the shared word2vec vectors are); the target keeps its case, so the model
# writes "Tom" and sentence-initial capitals itself and BLEU can be scored cased.
SOURCE_TEXT = TextConfig(unicode_form="NFC", lowercase=True)
TARGET_TEXT = TextConfig(unicode_form="NFC", lowercase=False)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.translation.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", default=None, help="pairs file, TMX file, one of two parallel files or their prefix, see above (default: generated demo pairs)")
    data.add_argument("--source", default=None, help="source language code: the suffix of a parallel file (PREFIX.SRC), a TMX xml:lang, a label for a pairs file (default: inferred)")
    data.add_argument("--target", default=None, help="target language code (PREFIX.TGT; default: inferred)")
    data.add_argument("--reverse", action="store_true", help="translate the other way: swap the columns of a pairs file (or --source/--target)")
    data.add_argument("--validation", default=None, help="validation pairs file or prefix (default: split from --data)")
    data.add_argument("--test", default=None, help="test pairs file or prefix (default: split from --data)")
    data.add_argument("--validation-fraction", type=float, default=0.05, help="share of source sentences held out for validation when splitting (default: %(default)s)")
    data.add_argument("--test-fraction", type=float, default=0.05, help="share of source sentences held out for test when splitting (default: %(default)s)")
    data.add_argument("--encoding", default="utf-8", help="text encoding of the input files (default: %(default)s)")
    data.add_argument("--limit", type=int, default=None, metavar="N", help="train on the first N training pairs only (a quick slice)")
    data.add_argument("--max-length", type=int, default=50, help="longest sentence in tokens; longer training pairs are skipped (and counted), longer sources are cut at inference (default: %(default)s)")
    data.add_argument("--source-vocab", type=int, default=20000, help="largest source vocabulary (default: %(default)s)")
    data.add_argument("--target-vocab", type=int, default=16000, help="largest target vocabulary (default: %(default)s)")
    data.add_argument("--min-count", type=int, default=2, help="tokens seen fewer times in training become [UNK] (default: %(default)s)")
    data.add_argument("--demo-size", type=int, default=4000, help="pairs in the generated demo corpus (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--attention", choices=ATTENTIONS, default="luong", help="luong: global attention with the general score; bahdanau: additive attention; none: the classic thought-vector model (default: %(default)s)")
    model.add_argument("--cell", choices=sorted(CELLS), default="lstm", help="encoder cell; the decoder is an LSTM (default: %(default)s)")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True, help="bidirectional encoder (default: on)")
    model.add_argument("--layers", type=int, default=1, help="stacked encoder layers (default: %(default)s)")
    model.add_argument("--units", type=int, default=256, help="decoder units, and encoder units per direction (default: %(default)s)")
    model.add_argument("--attention-dim", type=int, default=256, help="hidden size of Bahdanau's additive score (default: %(default)s)")
    model.add_argument("--target-embedding-dim", type=int, default=None, help="target word vector size (default: the source's)")
    model.add_argument("--dropout", type=float, default=0.2, help="dropout on word inputs, encoder outputs and before the output layer (default: %(default)s)")
    decoding = parser.add_argument_group("decoding")
    decoding.add_argument("--beam", type=int, default=5, help="beam width for evaluation and the exported SavedModel; 1 is greedy (default: %(default)s)")
    decoding.add_argument("--length-penalty", type=float, default=1.0, help="rank finished beams by score / length**P; 0 favours short translations (default: %(default)s)")
    decoding.add_argument("--validation-sentences", type=int, default=1000, metavar="N", help="score greedy and beam search on the first N validation pairs (default: %(default)s; the test split is always scored whole)")
    decoding.add_argument("--attention-examples", type=int, default=4, help="test sentences drawn in attention.png (default: %(default)s)")
    add_embedding_arguments(parser, algorithm="cbow", epochs=5,
                            freeze_help="keep the pretrained source vectors fixed (default: trained)")
    add_output_arguments(parser)
    training = add_training_arguments(parser, epochs=20, batch_size=64, learning_rate=2e-3, patience=3)
    training.add_argument("--warmup-steps", type=int, default=1000, help="raise the learning rate linearly over this many steps, at most one epoch; 0 turns warmup off (default: %(default)s)")
    return parser


# ------------------------------------------------------------------ data


def read_corpus(args):
    corpus = load_corpus(args.data, source=args.source, target=args.target, reverse=args.reverse,
                         validation=args.validation, test=args.test, validation_fraction=args.validation_fraction,
                         test_fraction=args.test_fraction, seed=args.seed, encoding=args.encoding,
                         demo_size=args.demo_size)
    print(corpus.description)
    for reason, count in corpus.dropped.items():
        print(f"skipped {count:,} lines: {reason}")
    if args.limit:
        corpus.train = corpus.train[: args.limit]
    print(f"pairs: {len(corpus.train):,} train, {len(corpus.validation):,} validation, {len(corpus.test):,} test "
          f"({corpus.source_language} -> {corpus.target_language}). {corpus.split_note}")
    if not corpus.train or not corpus.validation or not corpus.test:
        raise SeqappsError("translation needs sentence pairs in the train, validation and test splits")
    return corpus


def build_tokenizers(pairs, args):
    """Source and target vocabularies of the training pairs, most frequent tokens first."""
    source_tokens = [tokenize(pair.source, config=SOURCE_TEXT) for pair in pairs]
    target_tokens = [tokenize(pair.target, config=TARGET_TEXT) for pair in pairs]
    source = Tokenizer(Vocabulary.build(source_tokens, max_size=args.source_vocab, min_count=args.min_count),
                       SOURCE_TEXT, max_length=args.max_length)
    target = Tokenizer(Vocabulary.build(target_tokens, max_size=args.target_vocab, min_count=args.min_count),
                       TARGET_TEXT, max_length=args.max_length + 2)
    return source, target, source_tokens, target_tokens


def encode_pairs(source_tokenizer, target_tokenizer, source_tokens, target_tokens):
    """Id lists (target as [BOS] ... [EOS]) and how many pairs were skipped, by reason.

    A pair too long for ``--max-length`` is skipped, not cut: a cut target would teach the
    model to drop the end of sentences. A side with no tokens at all (only invisible
    characters) has nothing to learn from.
    """
    sources, targets = [], []
    skipped = {"long": 0, "empty": 0}
    limit = source_tokenizer.max_length
    for source, target in zip(source_tokens, target_tokens):
        if not source or not target:
            skipped["empty"] += 1
        elif len(source) > limit or len(target) > limit:
            skipped["long"] += 1
        else:
            sources.append(source_tokenizer.vocabulary.ids(source))
            targets.append([BOS_ID] + target_tokenizer.vocabulary.ids(target) + [EOS_ID])
    return sources, targets, skipped


def pair_dataset(sources, targets, *, batch_size, shuffle=False, seed=0, drop_remainder=False):
    """``({"source", "target_in"}, target_out, weights)`` batches of similar-length pairs."""
    dataset = tf.data.Dataset.from_tensor_slices((ragged_ids(sources), ragged_ids(targets)))
    dataset = dataset.map(lambda s, t: (dense_ids(s), dense_ids(t)))
    if shuffle:
        dataset = dataset.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True)
    lengths = [max(len(s), len(t)) for s, t in zip(sources, targets)]
    # Full batches only (several replicas) would drop every bucket's remainder: on a small
    # split that can be every batch, so only large ones are bucketed then.
    enough = len(sources) > (20 * batch_size if drop_remainder else batch_size)
    boundaries = bucket_boundaries(lengths) if enough else []
    if boundaries:
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]),
            bucket_boundaries=boundaries, bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            drop_remainder=drop_remainder)
    else:
        dataset = dataset.padded_batch(batch_size, drop_remainder=drop_remainder)

    def to_example(source, target):
        target_out = target[:, 1:]
        return {"source": source, "target_in": target[:, :-1]}, target_out, tf.cast(target_out != 0, tf.float32)

    return dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def make_datasets(corpus, source_tokenizer, target_tokenizer, train_tokens, args, replicas):
    datasets, skipped = {}, {}
    for name, shuffle in (("train", True), ("validation", False)):
        pairs = getattr(corpus, name)
        tokens = train_tokens if name == "train" else (
            [tokenize(p.source, config=SOURCE_TEXT) for p in pairs], [tokenize(p.target, config=TARGET_TEXT) for p in pairs])
        sources, targets, skipped[name] = encode_pairs(source_tokenizer, target_tokenizer, *tokens)
        if replicas > 1 and len(sources) < args.batch_size:
            raise SeqappsError(f"--strategy {args.strategy} needs at least one full {name} batch: "
                               f"{len(sources)} {name} pairs < --batch-size {args.batch_size}")
        datasets[name] = pair_dataset(sources, targets, batch_size=args.batch_size, shuffle=shuffle, seed=args.seed,
                                      drop_remainder=replicas > 1)
    reasons = {"long": f"longer than --max-length {args.max_length} tokens", "empty": "with a side of no tokens"}
    for name, counts in skipped.items():
        for reason, count in counts.items():
            if count:
                print(f"skipped {count:,} {name} pairs {reasons[reason]}")
    return datasets, skipped


# ------------------------------------------------------------------ model and report


def translator_options(args, source_tokenizer, target_tokenizer, matrix):
    return dict(source_vocab_size=len(source_tokenizer.vocabulary), target_vocab_size=len(target_tokenizer.vocabulary),
                source_matrix=matrix, trainable_embedding=not args.freeze_embeddings,
                target_embedding_dim=args.target_embedding_dim, cell=args.cell, bidirectional=args.bidirectional,
                layers=args.layers, units=args.units, attention=args.attention, attention_dim=args.attention_dim,
                dropout=args.dropout)


def attention_figure(translator, source_tokenizer, target_tokenizer, pairs, translations, path, count):
    """Where the decoder looked for each output token of the first ``count`` test sentences."""
    if translator.attention == "none" or count < 1:
        return None
    chosen = pairs[:count]
    replay = translator.attention_model()
    sources, outputs, weights = [], [], []
    for pair, translation in zip(chosen, translations[:count]):
        source_ids = source_tokenizer.encode(pair.source) or [0]
        output = tokenize(translation, config=TARGET_TEXT) + ["[EOS]"]
        target_ids = [BOS_ID] + target_tokenizer.vocabulary.ids(output[:-1])
        attention = replay({"source": tf.constant([source_ids]), "target_in": tf.constant([target_ids])})["attention"]
        sources.append(source_tokenizer.tokenize(pair.source)[: len(source_ids)] or ["[PAD]"])
        outputs.append(output)
        weights.append(np.asarray(attention)[0])
    return plot_attention(path, sources, outputs, weights)


def report(results):
    for name in ("validation", "test"):
        split = results[name]
        line = ", ".join(f"{key.replace('_', ' ')}: BLEU {value['bleu']:.2f} chrF {value['chrf']:.2f}"
                         for key, value in split.items() if isinstance(value, dict))
        print(f"{name} ({split['pairs']:,} pairs): {line}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    strategy = start_run(args)
    corpus = read_corpus(args)
    run_dir, _ = prepare_run_dir("translation", args.run_dir, vars(args), fresh=args.fresh,
                                 outputs=("attention.png", "test_translations.tsv"))

    source_tokenizer, target_tokenizer, *train_tokens = build_tokenizers(corpus.train, args)
    vectors = vectors_from_arguments(args, [] if corpus.is_demo else [pair.source for pair in corpus.train])
    matrix, coverage = embedding_matrix(vectors, source_tokenizer.vocabulary.tokens,
                                        token_counts=source_tokenizer.vocabulary.counts,
                                        dim=args.embedding_dim if vectors is None else None, seed=args.seed)
    print(f"vocabulary: {len(source_tokenizer.vocabulary):,} source, {len(target_tokenizer.vocabulary):,} target "
          f"tokens (min count {args.min_count}); source {coverage}")
    args.beam = beam_for_vocabulary(args.beam, len(target_tokenizer.vocabulary))
    source_tokenizer.save(run_dir / "source_tokenizer.json")
    target_tokenizer.save(run_dir / "target_tokenizer.json")

    options = translator_options(args, source_tokenizer, target_tokenizer, matrix)
    # Without warmup, Adam's first steps saturated the attentional layer on a 15,000-word
    # vocabulary and the model never left the word frequencies (see LinearWarmup).
    warmup = min(args.warmup_steps, -(-len(corpus.train) // args.batch_size))
    with strategy.scope():
        translator = Translator(**options)
        translator.training_model.compile(optimizer=make_optimizer(args, warmup), weighted_metrics=[],
                                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    if args.verbose:
        translator.training_model.summary(line_length=100)
    datasets, skipped = make_datasets(corpus, source_tokenizer, target_tokenizer, train_tokens, args,
                                      strategy.num_replicas_in_sync)
    training = fit(translator.training_model, datasets["train"], datasets["validation"], args=args, run_dir=run_dir)

    results, translations = {}, {}
    for name, pairs in (("validation", corpus.validation[: args.validation_sentences]), ("test", corpus.test)):
        results[name], translations[name] = evaluate_split(translator, source_tokenizer, target_tokenizer, pairs,
                                                           beam_size=args.beam, length_penalty=args.length_penalty)
    report(results)
    write_translations(run_dir / "test_translations.tsv", corpus.test, translations["test"])
    best = translations["test"].get("beam", translations["test"]["greedy"])
    figure = attention_figure(translator, source_tokenizer, target_tokenizer, corpus.test, best,
                              run_dir / "attention.png", args.attention_examples)
    if figure:
        print(f"attention heatmaps: {figure}")
    write_metrics(run_dir, {
        "app": "translation", "data": corpus.description, "demo_data": corpus.is_demo,
        "languages": {"source": corpus.source_language, "target": corpus.target_language},
        "split": corpus.split_note, "dropped_lines": corpus.dropped, "skipped_pairs": skipped,
        "sizes": {name: len(getattr(corpus, name)) for name in ("train", "validation", "test")},
        "attention": args.attention, "beam": args.beam, "length_penalty": args.length_penalty,
        "vocabulary_size": {"source": len(source_tokenizer.vocabulary), "target": len(target_tokenizer.vocabulary)},
        "embedding_coverage": vars(coverage), "training": training,
        "metric_note": "sacrebleu corpus BLEU (13a, cased) and chrF on detokenised output, one reference per pair",
        **results,
    })
    if not args.no_export:
        rebuild = functools.partial(Translator, **{**options, "source_matrix": None,
                                                   "embedding_dim": matrix.shape[1], "use_cudnn": False})
        test_key = f"beam_{args.beam}" if args.beam > 1 else "greedy"
        bundle = make_bundle(translator, rebuild, source_tokenizer, target_tokenizer,
                             parity_texts=[pair.source for pair in corpus.test[:16]] + ["", "   "],
                             beam_size=args.beam, length_penalty=args.length_penalty,
                             metrics={"test_bleu": results["test"][test_key]["bleu"],
                                      "test_chrf": results["test"][test_key]["chrf"], "demo_data": corpus.is_demo})
        export_app(bundle, args.export_dir)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
