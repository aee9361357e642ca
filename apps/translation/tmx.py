"""Translation units from TMX, the exchange format of translation memories.

OPUS offers every corpus as TMX beside the Moses files, and translation-memory tools and
public memories (DGT-TM, ParaCrawl's releases) export it, so it is read as distributed::

    <tmx version="1.4"><header srclang="en" .../><body>
      <tu><tuv xml:lang="en"><seg>Good morning.</seg></tuv>
          <tuv xml:lang="de"><seg>Guten Morgen.</seg></tuv></tu>
    </body></tmx>

A ``<seg>`` keeps its text, including the text inside ``<hi>`` and ``<sub>``; the inline
codes of the original document (``<bpt>``, ``<ept>``, ``<ph>``, ``<it>``, ``<ut>``) are
markup, not text, and are left out. The parser is expat, so a malformed file is reported
at its line.
"""

import re
import xml.parsers.expat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from apps.translation.pairs import EMPTY_SIDE, Pair, no_pairs
from shared.datasets import decode_error, open_text
from shared.errors import DataError, SeqappsError

ENGLISH = "en"

INLINE_CODES = frozenset({"bpt", "ept", "ph", "it", "ut"})
CHUNK_CHARACTERS = 1 << 20


@dataclass
class Unit:
    """One ``<tu>``: its segments by lower-cased language code, and the line it starts on."""

    line: int
    segments: dict = field(default_factory=dict)


class _Collector:
    """expat callbacks that turn ``<tu>`` elements into :class:`Unit` objects."""

    def __init__(self, parser):
        self.parser = parser
        self.units, self.srclang = [], None
        self.unit = self.language = self.text = None
        self.skipped = 0  # depth inside inline codes, whose content is not text

    def start(self, name, attributes):
        if name == "header":
            self.srclang = attributes.get("srclang", "").lower() or None
        elif name == "tu":
            self.unit = Unit(self.parser.CurrentLineNumber)
        elif name == "tuv":
            self.language = (attributes.get("xml:lang") or attributes.get("lang") or "").lower()
        elif name == "seg":
            self.text = []
        elif name in INLINE_CODES and self.text is not None:
            self.skipped += 1

    def end(self, name):
        if name == "seg" and self.unit is not None and self.text is not None:
            self.unit.segments[self.language] = " ".join("".join(self.text).split())
            self.text = None
        elif name in INLINE_CODES and self.skipped:
            self.skipped -= 1
        elif name == "tu" and self.unit is not None:
            self.units.append(self.unit)
            self.unit = None

    def characters(self, data):
        if self.text is not None and not self.skipped:
            self.text.append(data)


def _parser():
    parser = xml.parsers.expat.ParserCreate()
    collector = _Collector(parser)
    parser.StartElementHandler, parser.EndElementHandler = collector.start, collector.end
    parser.CharacterDataHandler = collector.characters
    return parser, collector


def read_units(path, encoding="utf-8"):
    """``(units, header srclang or None)`` of a TMX file, plain or gzipped.

    The text is decoded here (``encoding``, default UTF-8, as OPUS writes it), so a
    gzipped file and a byte order mark behave as in every other reader.
    """
    parser, collector = _parser()
    try:
        with open_text(path, encoding) as file:
            for chunk in iter(lambda: file.read(CHUNK_CHARACTERS), ""):
                parser.Parse(chunk, False)
            parser.Parse("", True)
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None
    except xml.parsers.expat.ExpatError as error:
        raise DataError(path, f"not well-formed TMX (XML): {xml.parsers.expat.ErrorString(error.code)} at "
                        f"column {error.offset + 1}", line=error.lineno) from None
    return collector.units, collector.srclang


def looks_like_tmx(name, first_line):
    """A ``.tmx`` name, or XML whose first line opens the document (``<?xml`` / ``<tmx``)."""
    start = (first_line or "").lstrip()
    return name.lower().endswith(".tmx") or start.startswith(("<?xml", "<tmx"))


def _base(code):
    """``en-GB`` -> ``en``: the language without its region."""
    return re.split("[-_]", code)[0].lower()


def _resolve(path, wanted, present):
    """The code in the file that a requested code means: itself, or its only regional variant."""
    wanted = wanted.lower()
    if wanted in present:
        return wanted
    matches = [code for code in present if _base(code) == _base(wanted)]
    if len(matches) != 1:
        raise SeqappsError(f"{path}: no segments in language {wanted!r} (the file has {', '.join(present)})")
    return matches[0]


def _languages(path, present, srclang, source, target):
    """``(source, target)`` codes as the file writes them; what is not given is inferred.

    Two languages are read English first when one is English (the app's usual direction),
    else from the header's ``srclang``, else in name order.
    """
    chosen = [_resolve(path, code, present) if code else None for code in (source, target)]
    if all(chosen):
        return tuple(chosen)
    known = [code for code in chosen if code]
    others = [code for code in present if code not in known]
    if len(present) != 2 or len(others) != 2 - len(known):
        raise SeqappsError(f"{path} holds segments in {len(present)} language(s) ({', '.join(present) or 'none'}): "
                           "give the source and target language codes")
    if known:
        return (known[0], others[0]) if chosen[0] else (others[0], known[0])
    english = [code for code in present if _base(code) == ENGLISH]
    first = english[0] if len(english) == 1 else srclang if srclang in present else present[0]
    return first, next(code for code in present if code != first)


def read_tmx(path, source=None, target=None, *, reverse=False, encoding="utf-8"):
    """``(pairs, dropped, (source, target))`` from a TMX file, plain or gzipped.

    Languages are matched case-insensitively, and ``en`` also finds ``en-GB`` when that is
    the only English variant. A unit without both languages (or with an empty one) is
    skipped and counted in ``dropped["empty side"]``. Origins are the line of each
    ``<tu>``. ``reverse`` swaps the two languages.
    """
    path = Path(path)
    units, srclang = read_units(path, encoding)
    if not units:
        raise no_pairs(path, {}, "expected <tu> elements with a <tuv xml:lang=...><seg> per language")
    present = sorted(Counter(code for unit in units for code in unit.segments))
    languages = _languages(path, present, srclang, source, target)
    if reverse:
        languages = languages[::-1]
    pairs, dropped = [], Counter()
    for unit in units:
        texts = [unit.segments.get(code, "") for code in languages]
        if not all(texts):
            dropped[EMPTY_SIDE] += 1
            continue
        pairs.append(Pair(*texts, f"{path.name}:{unit.line}"))
    if not pairs:
        raise no_pairs(path, dropped, f"no <tu> has both {languages[0]} and {languages[1]}")
    return pairs, dict(dropped), languages
