"""Tag schemes: how a tag sequence spells its entities, and which spelling a file uses.

The same entities can be written five ways, and real corpora use all of them:

- ``iob2`` (BIO): every entity starts with ``B-X``, ``I-X`` continues it. CoNLL-2002,
  WNUT-16/17, GermEval-2014 and most re-releases of CoNLL-2003.
- ``iob1``: an entity starts with ``I-X``; ``B-X`` only marks an entity that directly
  follows another ``X`` entity. The original CoNLL-2003 ``eng.*`` files.
- ``iobes``: ``B-`` begins, ``I-`` continues, ``E-`` ends a multi-token entity, ``S-`` is a
  single-token one. Common in papers and their released data.
- ``bilou``: IOBES with ``L-`` (last) for ``E-`` and ``U-`` (unit) for ``S-``.
- ``plain``: bare types (``PER``, ``LOC``) and ``O``, no prefix (the IO reading): each
  maximal run of one type is one entity, so two adjacent entities of one type merge.

Reading is the same for all of them (:func:`read_spans`), and lenient the way conlleval is:
a ``B-``/``S-``/``U-`` tag starts an entity, an ``I-``/``E-``/``L-`` or bare tag continues an
open entity of its type or else starts one, and ``E-``/``S-``/``L-``/``U-`` close it. Every
well-formed sequence reads as its scheme means. Which scheme a file is written in therefore
matters only to tell correct sequences from broken ones: :func:`scheme_evidence` counts, for
each scheme, the sentences whose tags differ from that scheme's spelling of what they say.
"""

import re

OUTSIDE = "O"
# The schemes a model can learn (``--tag-scheme``): each spells every set of entities.
SCHEMES = ("iob1", "iob2", "iobes")
# The schemes a file may be written in, most common first: the order that breaks ties.
READ_SCHEMES = ("iob2", "iob1", "iobes", "bilou", "plain")
PREFIXES = {"iob1": ("B", "I"), "iob2": ("B", "I"), "iobes": ("B", "I", "E", "S"),
            "bilou": ("B", "I", "L", "U"), "plain": ("",)}
STARTS = ("B", "S", "U")  # always start an entity
ENDS = ("E", "S", "L", "U")  # always end one
# A type is one annotation: no spaces, and no ',', ';' or '|' that would list several (the
# WNUT-17 file emerging.test.conll lists several per token, comma-separated).
TYPE = r"[^\s,;|]+"
PREFIXED = re.compile(rf"([BIESLU])-({TYPE})")
# A bare type must not look like a mistyped prefix: one letter alone, or one letter and '-'/'_'.
BARE = re.compile(rf"(?![A-Za-z](?:[-_]|$)){TYPE}")
TAG_FORM = ("'O' or PREFIX-TYPE with PREFIX one of B, I, E, S, L, U (e.g. 'B-PER', 'I-ORG'), "
            "or else a bare TYPE (e.g. 'PER')")


def split_tag(tag):
    """``("B", "PER")`` for ``B-PER``, ``("", "PER")`` for a bare ``PER``, ``("O", None)``
    for ``O``; None when the tag is malformed."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    if not isinstance(tag, str):
        return None
    match = PREFIXED.fullmatch(tag)
    if match:
        return match.groups()
    return ("", tag) if BARE.fullmatch(tag) else None


def check_scheme(scheme, error=ValueError, schemes=READ_SCHEMES):
    if scheme not in schemes:
        raise error(f"unknown tag scheme {scheme!r}: expected one of {', '.join(schemes)}")


def fits(prefix, scheme):
    """Whether a tag with ``prefix`` (``"O"`` for O) may appear in ``scheme`` at all."""
    return prefix == OUTSIDE or prefix in PREFIXES[scheme]


def scheme_form(scheme):
    """How ``scheme``'s tags look, for messages: ``'O' and B/I-TYPE``."""
    return "'O' and bare TYPE" if scheme == "plain" else f"'O' and {'/'.join(PREFIXES[scheme])}-TYPE"


def _parsed(tags, scheme=None):
    """Each tag split into ``(prefix, type)``; a ValueError for a malformed tag, or one that
    ``scheme`` (when given) does not use."""
    parsed = []
    for tag in tags:
        found = split_tag(tag)
        if found is None or (scheme is not None and not fits(found[0], scheme)):
            where = "" if found is None or scheme is None else f" in the {scheme} scheme"
            raise ValueError(f"tag {tag!r} is not valid{where}: expected "
                             f"{TAG_FORM if scheme is None else scheme_form(scheme)}")
        parsed.append(found)
    return parsed


def read_spans(parsed):
    """Entities ``(type, start, end)`` of ``(prefix, type)`` pairs, read the lenient way."""
    spans, open_type, open_start = [], None, 0
    for position, (prefix, kind) in enumerate(parsed):
        continues = kind is not None and kind == open_type and prefix not in STARTS
        if not continues:
            if open_type is not None:
                spans.append((open_type, open_start, position))
            open_type, open_start = kind, position
        if prefix in ENDS:
            spans.append((open_type, open_start, position + 1))
            open_type = None
    if open_type is not None:
        spans.append((open_type, open_start, len(parsed)))
    return spans


def tags_to_spans(tags, scheme):
    """Entities as ``(type, start, end)`` with ``end`` exclusive, in order.

    Tags whose prefix ``scheme`` does not use are refused; sequences are read leniently
    (see the module docstring), because model predictions are often ill formed.
    """
    check_scheme(scheme)
    return read_spans(_parsed(tags, scheme))


def _entity_tags(kind, size, scheme, follows_same_type):
    if scheme == "plain":
        return [kind] * size
    if scheme in ("iobes", "bilou"):
        single, last = ("S", "E") if scheme == "iobes" else ("U", "L")
        return [f"{single}-{kind}"] if size == 1 else (
            [f"B-{kind}"] + [f"I-{kind}"] * (size - 2) + [f"{last}-{kind}"])
    first = "B" if scheme == "iob2" or follows_same_type else "I"
    return [f"{first}-{kind}"] + [f"I-{kind}"] * (size - 1)


def _written(spans, length, scheme):
    """The tags of well-formed, ordered, non-overlapping ``spans`` (no checks: internal)."""
    tags, previous = [OUTSIDE] * length, None
    for kind, start, end in spans:
        follows = previous is not None and previous[2] == start and previous[0] == kind
        tags[start:end] = _entity_tags(kind, end - start, scheme, follows)
        previous = (kind, start, end)
    return tuple(tags)


def spans_to_tags(spans, length, scheme):
    """The tag sequence of ``length`` tokens holding ``spans`` (``(type, start, end)``).

    IOB1 writes ``B-X`` only where it is needed: on the first token of an entity that
    directly follows another ``X`` entity. ``plain`` cannot separate two adjacent entities
    of one type: they are written as one run. Overlapping or out-of-range spans are refused.
    """
    check_scheme(scheme)
    spans = sorted(spans, key=lambda span: (span[1], span[2]))
    for index, (kind, start, end) in enumerate(spans):
        if not (isinstance(kind, str) and re.fullmatch(r"\S+", kind)):
            raise ValueError(f"entity type {kind!r} must be a non-empty string without spaces")
        if not 0 <= start < end <= length:
            raise ValueError(f"span ({kind!r}, {start}, {end}) is not inside 0..{length}")
        if index and start < spans[index - 1][2]:
            raise ValueError(f"spans {spans[index - 1]} and {(kind, start, end)} overlap")
    return _written(spans, length, scheme)


def convert_tags(tags, source, target):
    """Re-tag a sequence from scheme ``source`` into ``target``, keeping its entities.

    Going through the spans also repairs ill-formed input (a stray ``I-X`` becomes the
    entity start that the lenient reading saw), so the output is always well formed.
    """
    tags = tuple(tags)
    return _written(tags_to_spans(tags, source), len(tags), target)


def canonical(tags, scheme):
    """``scheme``'s well-formed spelling of what ``tags`` say, whatever prefixes they use:
    how a file's sentences are converted, and repaired where they break its scheme."""
    tags = tuple(tags)
    return _written(read_spans(_parsed(tags)), len(tags), scheme)


def _first_difference(tags, expected):
    for position, (tag, wanted) in enumerate(zip(tags, expected)):
        if tag != wanted:
            return position, wanted
    return None


def scheme_break(tags, scheme):
    """``(position, expected tag)`` of the first tag that breaks ``scheme``, or None.

    A tag breaks the scheme when the scheme's spelling of the entities the lenient reading
    sees differs from it: ``B-PER O`` in IOBES (a ``B-`` that never ends), an IOB1 ``B-PER``
    that follows no ``PER`` entity, an IOB2 ``I-LOC`` right after ``O``, or a prefix the
    scheme does not use.
    """
    return _first_difference(tuple(tags), canonical(tags, scheme))


def scheme_evidence(tag_sequences):
    """``{scheme: [(sequence index, position, expected tag), ...]}``: for each scheme in
    :data:`READ_SCHEMES`, the sequences that break it, each at its first breaking tag.

    Each sequence is read once and spelled in every scheme, so this costs five re-spellings
    of the file, not five readings.
    """
    evidence = {scheme: [] for scheme in READ_SCHEMES}
    for index, tags in enumerate(tag_sequences):
        tags = tuple(tags)
        if all(tag == OUTSIDE for tag in tags):
            continue  # spelled alike in every scheme
        spans = read_spans(_parsed(tags))
        for scheme in READ_SCHEMES:
            found = _first_difference(tags, _written(spans, len(tags), scheme))
            if found is not None:
                evidence[scheme].append((index, *found))
    return evidence


def least_broken(evidence):
    """The scheme with the fewest breaking sequences; ties go to the more common scheme
    (the order of :data:`READ_SCHEMES`), so a file without entities counts as IOB2."""
    return min(READ_SCHEMES, key=lambda scheme: (len(evidence[scheme]), READ_SCHEMES.index(scheme)))


def detect_scheme(tag_sequences):
    """The scheme the tag sequences contradict least (:func:`least_broken`).

    Deciding on evidence rather than on the first telling tag keeps one stray ``I-LOC``
    after ``O`` in an IOB2 file from turning the whole file into IOB1.
    """
    return least_broken(scheme_evidence(tag_sequences))
