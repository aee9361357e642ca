"""A file's tag scheme, and what happens to the sentences that break it.

A file is read in the scheme its sentences break least (:func:`apps.ner.schemes.
scheme_evidence`). Hand-annotated corpora as distributed still hold a few sentences that
break it: CoNLL-2002 Spanish is IOB2 with one ``I-LOC`` right after ``O`` among some 18,800
entities. The rule (:func:`tolerated_breaks`):

- up to 0.1% of the file's sentences, and always at least one, are repaired the way
  conlleval reads them (a stray ``I-X`` starts an entity, a ``B-X`` that never ends in
  IOBES is a one-token entity), counted, and named ``file:line`` by line in a warning;
- more stop the run with one error naming the first of them, ``file:line``, the tag and
  what the scheme expected there, unless ``--repair-tags`` forces the repair.

One break is a slip in a file of any size; more than 0.1% means the file is not written in
the scheme, or its tags are damaged, and a silent guess would hide that.
"""

from dataclasses import dataclass

from apps.ner.formats import Sentence
from apps.ner.schemes import OUTSIDE, least_broken, scheme_evidence
from shared.errors import DataError

TOLERATED_SHARE = 0.001
TOLERATED_MINIMUM = 1
SHOWN_BREAKS = 5  # breaking tags named in a warning or an error


def tolerated_breaks(sentences):
    """How many breaking sentences a file of ``sentences`` may hold and still be repaired
    without ``--repair-tags``: 0.1% of them, and at least one."""
    return max(TOLERATED_MINIMUM, int(sentences * TOLERATED_SHARE))


@dataclass(frozen=True)
class Break:
    """A sentence that breaks its file's scheme, at its first breaking tag."""

    sentence: Sentence
    position: int
    expected: str

    @property
    def line(self):
        return self.sentence.line + self.position

    def describe(self):
        tags = self.sentence.tags
        previous = repr(tags[self.position - 1]) if self.position else "the sentence start"
        return f"tag {tags[self.position]!r} after {previous}"


def _listed(path, breaks):
    shown = ", ".join(f"{path}:{b.line} {b.describe()} (expected {b.expected!r})" for b in breaks[:SHOWN_BREAKS])
    return shown + (", ..." if len(breaks) > SHOWN_BREAKS else "")


def _too_many(path, scheme, breaks, total, limit):
    first = breaks[0]
    later = f"; next at {_listed(path, breaks[1:])}" if len(breaks) > 1 else ""
    return DataError(path, f"{first.describe()} breaks the {scheme.upper()} scheme, the one the file's tags break "
                     f"least: expected {first.expected!r} ({len(breaks):,} of {total:,} sentences break it, more than "
                     f"the {limit:,} tolerated (0.1%, at least 1){later}; fix them, or pass --repair-tags to repair "
                     "them as conlleval reads them)", line=first.line,
                     content=f"{first.sentence.tokens[first.position]} {first.sentence.tags[first.position]}")


def _check_breaks(path, sentences, scheme, breaks, repair, warn):
    """The lines of the tags repaired, each :class:`Break` named in one warning; a
    DataError when more sentences break ``scheme`` than tolerated and ``repair`` is off."""
    if not breaks:
        return ()
    limit = tolerated_breaks(len(sentences))
    if len(breaks) > limit and not repair:
        raise _too_many(path, scheme, breaks, len(sentences), limit)
    reason = "--repair-tags" if len(breaks) > limit else f"up to {limit:,} tolerated, 0.1% and at least 1"
    warn(f"{path}: repaired {len(breaks):,} of {len(sentences):,} sentence(s) that break the {scheme.upper()} "
         f"scheme, the one the file's tags break least, as conlleval reads them ({reason}): {_listed(path, breaks)}")
    return tuple(b.line for b in breaks)


def _check_plain(path, sentences, scheme):
    """Bare tags without a single ``O`` are not NER tags (POS tags, say): an error."""
    if scheme == "plain" and not any(OUTSIDE in s.tags for s in sentences):
        first = sentences[0]
        raise DataError(path, "no tag is 'O' and none has a B-/I- prefix: the last column does not look like "
                        "named-entity tags (POS tags?)", line=first.line, content=f"{first.tokens[0]} {first.tags[0]}")


def file_scheme(tagged, repair, warn):
    """``(scheme, lines of the repaired tags)`` for a :class:`apps.ner.formats.TaggedFile`:
    the scheme its tags break least, and its breaking sentences checked against the rule."""
    sentences = tagged.sentences
    evidence = scheme_evidence(s.tags for s in sentences)
    scheme = least_broken(evidence)
    _check_plain(tagged.path, sentences, scheme)
    breaks = [Break(sentences[index], position, expected) for index, position, expected in evidence[scheme]]
    return scheme, _check_breaks(tagged.path, sentences, scheme, breaks, repair, warn)
