"""Entity-level scores for tagged sentences, computed the way CoNLL's ``conlleval`` does.

Token accuracy flatters a tagger (most tokens are ``O``), so NER is judged on whole
entities: a predicted entity counts only when a gold entity has the same type, the same
first token and the same last token. Half an entity is worth nothing.

Which tokens form an entity is decided by conlleval's chunk rules, not by a strict reading
of one tagging scheme. That makes the scores comparable with published CoNLL numbers (and
with seqeval's default mode, which reproduces them), and it keeps the scorer lenient about
the ill-formed sequences an untrained model produces: a stray ``I-ORG`` after ``O`` starts
an ORG entity instead of being dropped or raising. IOB1, IOB2 and IOBES input all work,
even mixed, because the rules look only at each tag and the one before it. (The perl
script predates ``S-`` tags and would merge ``S-PER S-PER`` or ``E-PER B-PER`` into one
entity; like seqeval, ``E-`` and ``S-`` here always close their entity. For IOB1/IOB2 input
the two agree.)

Pure Python on purpose: the scorer is used on predictions that have already left the
model, and tests can check it without TensorFlow.
"""

from collections import Counter

OUTSIDE = "O"
PREFIXES = ("B", "I", "E", "S")

# conlleval treats the gap between two sentences as an ``O`` tag, so an entity can never
# run from one sentence into the next.
_BOUNDARY = (OUTSIDE, "")


def split_tag(tag):
    """Split ``B-PER`` into ``("B", "PER")``; ``O`` gives ``("O", "")``.

    conlleval splits at the first hyphen, so a type may itself contain hyphens
    (``B-MISC-X`` has type ``MISC-X``). Anything that is neither ``O`` nor a known prefix
    followed by a non-empty type is refused: silently scoring a label file in the wrong
    format would produce believable but meaningless numbers.
    """
    if not isinstance(tag, str):
        raise ValueError(f"tag {tag!r} is not a string")
    if tag == OUTSIDE:
        return _BOUNDARY
    prefix, hyphen, type_ = tag.partition("-")
    if prefix not in PREFIXES or not hyphen or not type_:
        raise ValueError(f"tag {tag!r} is neither 'O' nor PREFIX-TYPE with PREFIX one of {', '.join(PREFIXES)}")
    return prefix, type_


def _chunk_ends(prev_prefix, prev_type, prefix, type_):
    """conlleval's endOfChunk: did the previous tag close an entity?"""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", OUTSIDE):
        return True
    return prev_prefix != OUTSIDE and prev_type != type_


def _chunk_starts(prev_prefix, prev_type, prefix, type_):
    """conlleval's startOfChunk: does the current tag open an entity?

    ``I``/``E`` after ``O``, ``E`` or ``S`` opens one (the lenient stray-``I`` rule), and so
    does any change of type, which is also how IOB1's ``I-PER I-LOC`` becomes two entities.
    """
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and prev_prefix in ("E", "S", OUTSIDE):
        return True
    return prefix != OUTSIDE and prev_type != type_


def _chunks(tags, sentence=None):
    parsed = []
    for position, tag in enumerate(tags):
        try:
            parsed.append(split_tag(tag))
        except ValueError as error:
            where = f"position {position}" if sentence is None else f"sentence {sentence}, position {position}"
            raise ValueError(f"{where}: {error}") from None
    chunks = []
    prev_prefix, prev_type = _BOUNDARY
    begin = 0
    # The trailing boundary closes an entity that runs to the last token.
    for i, (prefix, type_) in enumerate(parsed + [_BOUNDARY]):
        if _chunk_ends(prev_prefix, prev_type, prefix, type_):
            chunks.append((prev_type, begin, i))
        if _chunk_starts(prev_prefix, prev_type, prefix, type_):
            begin = i
        prev_prefix, prev_type = prefix, type_
    return chunks


def tag_chunks(tags):
    """The entities of one sentence as ``(type, start, end)`` with ``end`` exclusive.

    ``["B-PER", "I-PER", "O", "I-LOC"]`` gives ``[("PER", 0, 2), ("LOC", 3, 4)]``.
    """
    return _chunks(list(tags))


def _prf(correct, gold, predicted):
    """Precision, recall and F1 as conlleval reports them: 0.0 wherever it would divide by 0."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "gold_entities": gold,
        "predicted_entities": predicted,
        "correct_entities": correct,
    }


def _check_sentences(name, sentences):
    if isinstance(sentences, str) or not hasattr(sentences, "__len__"):
        raise ValueError(f"{name} must be a list of sentences, each a list of tags")
    for index, sentence in enumerate(sentences):
        # A sentence given as one string would otherwise be scored character by character.
        if isinstance(sentence, str) or not hasattr(sentence, "__len__"):
            raise ValueError(f"{name} sentence {index} must be a list of tags, got {sentence!r:.60}")


def entity_scores(gold, predicted):
    """Score predicted tag sequences against gold ones, conlleval style.

    ``gold`` and ``predicted`` are lists of sentences, each a list of tag strings, aligned
    token for token. Returns a JSON-ready dict: ``overall`` and ``per_type`` (every type seen
    in either side) each hold precision, recall, f1 and the three entity counts; plus
    ``token_accuracy`` (all tokens, ``O`` included), ``sentences`` and ``tokens``.
    """
    _check_sentences("gold", gold)
    _check_sentences("predicted", predicted)
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} sentences but predicted has {len(predicted)}")

    gold_entities, predicted_entities = set(), set()
    tokens = matching_tags = 0
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        gold_tags, predicted_tags = list(gold_tags), list(predicted_tags)
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(
                f"sentence {index}: gold has {len(gold_tags)} tags but predicted has {len(predicted_tags)}"
            )
        # The sentence index keeps equal spans in different sentences apart.
        gold_entities.update((index,) + c for c in _chunks(gold_tags, index))
        predicted_entities.update((index,) + c for c in _chunks(predicted_tags, index))
        tokens += len(gold_tags)
        matching_tags += sum(g == p for g, p in zip(gold_tags, predicted_tags))

    correct_entities = gold_entities & predicted_entities
    by_type = [Counter(entity[1] for entity in entities)
               for entities in (correct_entities, gold_entities, predicted_entities)]
    correct_by_type, gold_by_type, predicted_by_type = by_type
    types = sorted(set(gold_by_type) | set(predicted_by_type))
    return {
        "overall": _prf(len(correct_entities), len(gold_entities), len(predicted_entities)),
        "per_type": {t: _prf(correct_by_type[t], gold_by_type[t], predicted_by_type[t]) for t in types},
        "token_accuracy": matching_tags / tokens if tokens else 0.0,
        "sentences": len(gold),
        "tokens": tokens,
    }


def format_report(scores):
    """A readable summary of :func:`entity_scores`, laid out after conlleval's printout.

    Percentages carry two decimals, as in conlleval, so the numbers can be compared with
    published tables at a glance.
    """
    overall = scores["overall"]
    lines = [
        f"processed {scores['tokens']} tokens in {scores['sentences']} sentences "
        f"with {overall['gold_entities']} gold entities; "
        f"found {overall['predicted_entities']}, of which {overall['correct_entities']} correct.",
        f"token accuracy: {100 * scores['token_accuracy']:6.2f}%",
    ]
    width = max([len("overall")] + [len(t) for t in scores["per_type"]])
    lines.append(f"{'':<{width}}  precision    recall       FB1   gold  found  correct")

    def row(name, s):
        return (f"{name:<{width}}  {100 * s['precision']:8.2f}%  {100 * s['recall']:7.2f}%  "
                f"{100 * s['f1']:8.2f}  {s['gold_entities']:5d}  {s['predicted_entities']:5d}  "
                f"{s['correct_entities']:7d}")

    lines.append(row("overall", overall))
    for type_, s in scores["per_type"].items():
        lines.append(row(type_, s))
    return "\n".join(lines)
