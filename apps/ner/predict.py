"""Tag sentences with an exported NER model (SavedModel or ONNX): tokens, tags, entities.

    python -m apps.ner.predict "Angela Merkel visited Paris with Siemens executives."
    cat sentences.txt | python -m apps.ner.predict --runtime onnx --json
    echo "U.S. officials met in New York" | python -m apps.ner.predict --pretokenized

Raw sentences are split with the suite's tokenizer (punctuation becomes its own token:
"U.S." is four tokens). With ``--pretokenized`` each input is split on whitespace only,
so tags line up one to one with tokens you already have (CoNLL-style tokenisation).
"""

import argparse
import json

import numpy as np

from apps.ner.schemes import tags_to_spans
from apps.ner.encoding import NerEncoder
from shared.errors import run_cli
from shared.predict import add_predict_arguments, batches, emit, read_inputs
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m apps.ner.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_predict_arguments(parser, input_help="sentences to tag")
    parser.add_argument("--pretokenized", action="store_true",
                        help="inputs are tokens separated by spaces: split on whitespace only, one tag per token")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def _rows_from_matrix(tokens, tags, lengths):
    return [([str(t) for t in row_tokens[:n]], [str(t) for t in row_tags[:n]])
            for row_tokens, row_tags, n in zip(tokens, tags, lengths)]


def savedmodel_tagger(manifest, pretokenized):
    path = artifact_path(manifest, manifest["savedmodel"]["path"])
    if not pretokenized:
        runner = SavedModelRunner(path)

        def tag(texts):
            out = runner(text=np.array(texts, dtype=object))
            return _rows_from_matrix(out["tokens"], out["tags"], out["lengths"])
        return tag

    runner = SavedModelRunner(path, signature="tag_tokens")

    def tag_tokens(texts):
        token_lists = [text.split() for text in texts]
        width = max([len(tokens) for tokens in token_lists] + [1])
        matrix = np.array([tokens + [""] * (width - len(tokens)) for tokens in token_lists], dtype=object)
        out = runner(tokens=matrix)
        return _rows_from_matrix(out["tokens"], out["tags"], out["lengths"])
    return tag_tokens


def onnx_tagger(manifest, pretokenized, tags):
    encoder = NerEncoder.load(artifact_path(manifest, manifest["files"]["inputs.json"]))
    runner = OnnxRunner(artifact_path(manifest, manifest["onnx"]["path"]))

    def tag(texts):
        token_lists = [text.split() if pretokenized else encoder.tokenize(text) for text in texts]
        tag_ids = runner(**encoder.encode_batch(token_lists))["tag_ids"]
        return [(tokens, [tags[i] for i in row[: len(tokens)]]) for tokens, row in zip(token_lists, tag_ids)]
    return tag


def entities(tokens, tags, scheme):
    return [{"type": kind, "start": start, "end": end, "text": " ".join(tokens[start:end])}
            for kind, start, end in tags_to_spans(tags, scheme)]


def tag_sentences(texts, *, runtime="savedmodel", export_dir=None, pretokenized=False, batch_size=64):
    """One row per input: its tokens, their tags, and the entities they spell."""
    manifest = load_manifest("ner", export_dir)
    labels = json.loads(artifact_path(manifest, manifest["files"]["labels.json"]).read_text(encoding="utf-8"))
    if runtime == "savedmodel":
        tagger = savedmodel_tagger(manifest, pretokenized)
    else:
        tagger = onnx_tagger(manifest, pretokenized, labels["labels"])
    rows = []
    for chunk in batches(texts, batch_size):
        for text, (tokens, tags) in zip(chunk, tagger(chunk)):
            rows.append({"text": text, "tokens": tokens, "tags": tags,
                         "entities": entities(tokens, tags, labels["scheme"])})
    return rows


def format_row(row):
    tagged = " ".join(token if tag == "O" else f"{token}/{tag}" for token, tag in zip(row["tokens"], row["tags"]))
    found = "; ".join(f"{e['type']}: {e['text']}" for e in row["entities"]) or "no entities"
    return f"{tagged}\n    {found}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    texts = read_inputs(args)
    rows = tag_sentences(texts, runtime=args.runtime, export_dir=args.export_dir, pretokenized=args.pretokenized,
                         batch_size=args.batch_size)
    emit(rows, as_json=args.json, format_row=format_row)
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    cli()
