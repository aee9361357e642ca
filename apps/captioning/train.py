"""Train an image captioner (CNN encoder + LSTM decoder), evaluate it with BLEU, export it.

With no flags it trains on generated demo scenes (coloured shapes with captions that
describe them), so the whole path runs anywhere; point ``--data`` at Flickr8k for a real
model:

    python -m apps.captioning.train
    python -m apps.captioning.train --data ../shared/data/captioning \\
        --captions ../shared/data/captioning/images_captions.token.txt --epochs 15
    python -m apps.captioning.train --data Flickr8k/ --decoder show-tell --beam 5

``--data`` is the folder (or the captions file) of a corpus as it is downloaded; the
captions layout is detected and logged (apps/captioning/formats.py), and the image folder
is found by name or by where the listed images are:

  Flickr8k/30k token    photo_01.jpg#0<TAB>A dog runs along a beach .
  Kaggle captions.txt   header image,caption, then: photo_01.jpg,"A dog runs along a beach, fast ."
  Flickr30k results     header image_name| comment_number| comment, then: photo_01.jpg| 0| A dog runs .
  COCO captions JSON    {"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}
  Karpathy split JSON   {"images": [{"filepath", "filename", "split", "sentences": [{"raw"}]}]}

The official split lists (``Flickr_8k.trainImages.txt`` ...) are used when present. With
ImageNet weights (found in ../shared/data/pretrained, Keras' cache, ``--cnn-weights`` or
downloaded) the CNN is frozen and its features are computed once and cached; without them
a small CNN is trained from scratch, and the log says so.
"""

import argparse
import functools
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from apps.captioning.data import load_captions, make_splits
from apps.captioning.encoder import (CNN_CHOICES, build_cnn, choose_encoder, encoder_inputs, forward_function,
                                     report_failures)
from apps.captioning.evaluate import generate, nearest_neighbour_captions, references_of, score
from apps.captioning.export import make_bundle
from apps.captioning.model import DECODERS, Captioner
from apps.captioning.report import plot_attention, write_captions
from apps.captioning.vocab import build_tokenizer, caption_words, encode_captions
from shared.bleu import format_bleu, paired_bootstrap
from shared.decoding import beam_for_vocabulary
from shared.embeddings import add_embedding_arguments, embedding_matrix, vectors_from_arguments
from shared.errors import SeqappsError, run_cli
from shared.export import add_output_arguments, export_app
from shared.text import BOS_ID, length_note
from shared.training import (add_training_arguments, fit, make_optimizer, prepare_run_dir, start_run,
                             write_metrics)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.captioning.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, default=None, help="folder with captions and images, or the captions file, see above (default: generated demo scenes)")
    data.add_argument("--captions", type=Path, default=None, help="the captions file, if not the one found in --data")
    data.add_argument("--images", type=Path, default=None, help="the image folder, if not the one found in --data")
    data.add_argument("--strict-images", action="store_true", help="stop on any listed image that is missing or unreadable (default: report and skip)")
    data.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N training images (a quick slice)")
    data.add_argument("--min-count", type=int, default=2, help="words seen fewer times in training captions become [UNK] (default: %(default)s)")
    data.add_argument("--max-words", type=int, default=20, help="longest caption in words; longer ones are cut (default: %(default)s)")
    data.add_argument("--demo-images", type=int, default=3000, help="size of the generated demo data set (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--cnn", choices=CNN_CHOICES, default="auto", help="image encoder; auto: the small CNN on demo data, else MobileNetV2 when its ImageNet weights can be had (default: %(default)s)")
    model.add_argument("--cnn-weights", type=Path, default=None, help="no-top ImageNet weights (.h5) for --cnn")
    model.add_argument("--image-size", type=int, default=None, help="square input size (default: 224 pretrained, 64 small CNN)")
    model.add_argument("--decoder", choices=DECODERS, default="attention", help="soft attention over the CNN grid (Show, Attend and Tell) or the image as initial state only (Show and Tell) (default: %(default)s)")
    model.add_argument("--units", type=int, default=256, help="LSTM units (default: %(default)s)")
    model.add_argument("--feature-dim", type=int, default=256, help="size the CNN features are projected to (default: %(default)s)")
    model.add_argument("--attention-dim", type=int, default=256, help="attention hidden size (default: %(default)s)")
    model.add_argument("--dropout", type=float, default=0.3, help="dropout on word inputs and before the output layer (default: %(default)s)")
    decoding = parser.add_argument_group("decoding")
    decoding.add_argument("--beam", type=int, default=5, help="beam width for evaluation and the exported SavedModel; 1 is greedy (default: %(default)s)")
    decoding.add_argument("--length-penalty", type=float, default=0.7, help="rank finished beams by score / length**P; 0 favours short captions (default: %(default)s)")
    add_embedding_arguments(parser, algorithm="cbow", epochs=5)
    add_output_arguments(parser)
    add_training_arguments(parser, epochs=30, batch_size=64, learning_rate=2e-3, patience=4)
    return parser


def read_data(args):
    data = load_captions(args.data, captions=args.captions, images=args.images, strict=args.strict_images,
                         demo_images=args.demo_images, seed=args.seed)
    print(data.source)
    if data.missing:
        print(f"WARNING: {len(data.missing)} images listed in {data.caption_file.name} are not in {data.image_dir}: "
              f"skipped (first: {', '.join(data.missing[:3])})")
    splits = make_splits(data, seed=args.seed)
    if args.limit:
        splits.train = splits.train[: args.limit]
    print(f"images: {len(splits.train)} train, {len(splits.validation)} validation, {len(splits.test)} test. "
          f"{splits.note}")
    if not splits.train or not splits.validation or not splits.test:
        raise SeqappsError("captioning needs images in the train, validation and test splits")
    return data, splits


def read_images(splits, choice, cnn, run_dir, strict):
    """Image inputs of every split (cached), with unreadable images reported and dropped."""
    everything = splits.train + splits.validation + splits.test
    array, kept, failures = encoder_inputs([image.path for image in everything], choice, cnn)
    if failures and strict:
        raise SeqappsError(f"{failures[0][0]}: cannot read image ({failures[0][1]}); "
                           f"{len(failures)} unreadable in all (--strict-images)")
    report_failures(failures, len(everything), run_dir)
    row_of = {position: row for row, position in enumerate(kept)}
    parts, offset = {}, 0
    for name in ("train", "validation", "test"):
        images = getattr(splits, name)
        pairs = [(image, row_of[offset + i]) for i, image in enumerate(images) if offset + i in row_of]
        offset += len(images)
        parts[name] = ([image for image, _ in pairs], np.array([row for _, row in pairs], dtype=np.int64))
    return array, parts


def caption_pairs(tokenizer, images, rows):
    """One (image row, encoded caption) pair per reference caption."""
    image_rows = np.array([row for image, row in zip(images, rows) for _ in image.captions], dtype=np.int64)
    texts = [text for image in images for text in image.captions]
    return image_rows, encode_captions(tokenizer, texts)


def caption_dataset(inputs, image_rows, tokens, *, input_name, batch_size, shuffle=False, seed=0,
                    drop_remainder=False):
    """``({input_name: images, "tokens": caption[:-1]}, caption[1:], weights)`` batches.

    The images stay in one NumPy array (maybe memory-mapped from the cache) and are
    gathered per batch, so no image is copied once per caption.
    """
    dataset = tf.data.Dataset.from_tensor_slices((image_rows, tokens))
    if shuffle:
        dataset = dataset.shuffle(len(image_rows), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dtype = tf.as_dtype(inputs.dtype)

    def gather(rows):
        return np.ascontiguousarray(inputs[np.sort(rows)][np.argsort(np.argsort(rows))])

    def to_example(rows, caption):
        images = tf.numpy_function(gather, [rows], dtype, stateful=False)
        images.set_shape((None, *inputs.shape[1:]))
        targets = caption[:, 1:]
        return {input_name: images, "tokens": caption[:, :-1]}, targets, tf.cast(targets != 0, tf.float32)

    return dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def vocabulary_and_vectors(args, data, train_images):
    """The caption vocabulary of the training images and its word2vec embedding matrix."""
    texts = [text for image in train_images for text in image.captions]
    tokenizer = build_tokenizer(texts, min_count=args.min_count, max_words=args.max_words)
    note = length_note((len(caption_words(text)) for text in texts), args.max_words, what="training captions",
                       flag="--max-words")
    if note:
        print(f"WARNING: {note}")
    vectors = vectors_from_arguments(args, [] if data.is_demo else texts)
    matrix, coverage = embedding_matrix(vectors, tokenizer.vocabulary.tokens, token_counts=tokenizer.vocabulary.counts,
                                        dim=args.embedding_dim if vectors is None else None, seed=args.seed)
    print(f"vocabulary: {len(tokenizer.vocabulary):,} words (min count {args.min_count}); {coverage}")
    return tokenizer, matrix, coverage


def make_datasets(inputs, parts, tokenizer, input_name, args, replicas):
    """Training and validation pipelines; several replicas need full batches only."""
    datasets = {}
    for name, shuffle in (("train", True), ("validation", False)):
        images, rows = parts[name]
        image_rows, tokens = caption_pairs(tokenizer, images, rows)
        if replicas > 1 and len(image_rows) < args.batch_size:
            raise SeqappsError(f"--strategy {args.strategy} needs at least one full {name} batch: "
                               f"{len(image_rows)} {name} captions < --batch-size {args.batch_size}")
        datasets[name] = caption_dataset(inputs, image_rows, tokens, input_name=input_name,
                                         batch_size=args.batch_size, shuffle=shuffle, seed=args.seed,
                                         drop_remainder=replicas > 1)
    return datasets


def captioner_options(args, tokenizer, matrix, choice):
    return dict(vocab_size=len(tokenizer.vocabulary), embedding_matrix=matrix,
                trainable_embedding=not args.freeze_embeddings, decoder=args.decoder, units=args.units,
                feature_dim=args.feature_dim, attention_dim=args.attention_dim, dropout=args.dropout,
                train_cnn=not choice.pretrained)


def evaluate(captioner, inputs, parts, tokenizer, args):
    """Scores on the validation and test images, and the test captions (model and baseline)."""
    train_images, train_rows = parts["train"]
    train_references = references_of(train_images)
    train_vectors = grid_vectors(captioner, inputs, train_rows)
    results, captions = {}, {}
    for name in ("validation", "test"):
        images, rows = parts[name]
        generated = generate(captioner, inputs, rows, tokenizer, beam_size=args.beam,
                             length_penalty=args.length_penalty)
        baseline, _ = nearest_neighbour_captions(train_vectors, train_references, grid_vectors(captioner, inputs, rows))
        references = references_of(images)
        results[name] = {"images": len(images), "model": score(generated, references),
                         "nearest_neighbour": score(baseline, references),
                         "model_vs_nearest_neighbour": paired_bootstrap(generated, baseline, references,
                                                                        seed=args.seed)}
        captions[name] = (generated, baseline)
    return results, captions["test"]


def grid_vectors(captioner, inputs, rows, batch_size=64):
    """The CNN grid per image: the cached features, or the trained small CNN run on pixels."""
    if not captioner.train_cnn:
        return np.asarray(inputs[rows])
    forward = forward_function(captioner.cnn)
    return np.concatenate([forward(tf.constant(np.asarray(inputs[rows[i:i + batch_size]]))).numpy()
                           for i in range(0, len(rows), batch_size)])


def attention_figure(captioner, inputs, images, rows, generated, tokenizer, path, count=4):
    """Where the decoder looked for each word of a few test captions (attention decoder only)."""
    from apps.captioning.encoder import read_pixels

    if not captioner.attention:
        return None
    chosen = list(range(min(count, len(images))))
    grids = grid_vectors(captioner, inputs, rows[chosen])
    replay = captioner.attention_model()
    weights = []
    for index, grid in zip(chosen, grids):
        ids = [BOS_ID] + tokenizer.vocabulary.ids(generated[index])
        out = replay({"image_features": tf.constant(grid[None]), "tokens": tf.constant([ids], tf.int32)})
        weights.append(np.asarray(out["attention"])[0])
    pictures = [read_pixels(images[i].path, 224 if captioner.image_size < 224 else captioner.image_size)
                for i in chosen]
    return plot_attention(path, pictures, [generated[i] for i in chosen], weights)


def main(argv=None):
    args = build_parser().parse_args(argv)
    strategy = start_run(args)
    data, splits = read_data(args)
    run_dir, _ = prepare_run_dir("captioning", args.run_dir, vars(args), fresh=args.fresh,
                                 outputs=("attention.png", "test_captions.tsv", "skipped_images.txt"))

    choice = choose_encoder(args.cnn, weights=args.cnn_weights, image_size=args.image_size, is_demo=data.is_demo)
    with strategy.scope():
        cnn = build_cnn(choice)
    inputs, parts = read_images(splits, choice, cnn, run_dir, args.strict_images)
    train_images, _ = parts["train"]
    tokenizer, matrix, coverage = vocabulary_and_vectors(args, data, train_images)
    args.beam = beam_for_vocabulary(args.beam, len(tokenizer.vocabulary))
    tokenizer.save(run_dir / "vocabulary.json")

    options = captioner_options(args, tokenizer, matrix, choice)
    with strategy.scope():
        captioner = Captioner(cnn, **options)
        captioner.training_model.compile(optimizer=make_optimizer(args), weighted_metrics=[],
                                         loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    if args.verbose:
        captioner.training_model.summary(line_length=100)

    datasets = make_datasets(inputs, parts, tokenizer, captioner.image_input, args, strategy.num_replicas_in_sync)
    training = fit(captioner.training_model, datasets["train"], datasets["validation"], args=args, run_dir=run_dir)

    results, (generated, baseline) = evaluate(captioner, inputs, parts, tokenizer, args)
    report(results, args)
    test_images, test_rows = parts["test"]
    write_captions(run_dir / "test_captions.tsv", test_images, generated, baseline)
    figure = attention_figure(captioner, inputs, test_images, test_rows, generated, tokenizer,
                              run_dir / "attention.png")
    if figure:
        print(f"attention maps: {figure}")
    write_metrics(run_dir, {
        "app": "captioning", "data": data.source, "demo_data": data.is_demo,
        "encoder": {**vars(choice), "pretrained": choice.pretrained}, "decoder": args.decoder, "beam": args.beam,
        "length_penalty": args.length_penalty, "splits": splits.note,
        "sizes": {name: len(parts[name][0]) for name in parts}, "missing_images": len(data.missing),
        "vocabulary_size": len(tokenizer.vocabulary), "embedding_coverage": vars(coverage), "training": training,
        **results,
    })
    if not args.no_export:
        rebuild = functools.partial(Captioner, **{**options, "embedding_matrix": None, "embedding_dim": matrix.shape[1]})
        bundle = make_bundle(captioner, lambda: rebuild(build_cnn(choice)), tokenizer,
                             parity_images=[image.path for image in test_images[:16]], beam_size=args.beam,
                             length_penalty=args.length_penalty,
                             metrics={"test_bleu_4": results["test"]["model"]["bleu_4"],
                                      "test_exact_match": results["test"]["model"]["exact_match"],
                                      "demo_data": data.is_demo})
        export_app(bundle, args.export_dir)
    return 0


def report(results, args):
    test = results["test"]
    for name in ("model", "nearest_neighbour"):
        label = (f"model (beam {args.beam})" if name == "model" else "nearest-neighbour baseline")
        print(f"test, {test['images']} images, {label}: {format_bleu(test[name])}  "
              f"exact match {test[name]['exact_match']:.3f}")
    versus = test["model_vs_nearest_neighbour"]
    print(f"BLEU-4 model - baseline: {versus['difference']:+.4f} (95% bootstrap interval {versus['ci95'][0]:+.4f} .. "
          f"{versus['ci95'][1]:+.4f}; the model wins {versus['a_wins']:.0%} of {versus['samples']} resampled test sets)")


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
