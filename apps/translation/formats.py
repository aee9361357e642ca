"""Which layout a translation corpus is in, decided from its name and first line, and logged.

``--data`` takes each parallel corpus as it is downloaded, with no format flag:

* **Anki / Tatoeba** pairs files, ``Go.<TAB>Ve.[<TAB>attribution]``
  (:mod:`apps.translation.pairs`);
* **Moses / OPUS** line-aligned files, ``corpus.en`` + ``corpus.de``, named by either file
  or by their prefix (:mod:`apps.translation.parallel`);
* **TMX** translation memories, ``<tu><tuv xml:lang="en"><seg>...`` (:mod:`apps.translation.tmx`).

:func:`read_source` reads one of them and logs ``PATH: read as LAYOUT, en -> de``.
"""

from dataclasses import dataclass
from pathlib import Path

from apps.translation.pairs import read_pairs_file
from apps.translation.parallel import (DEFAULT_SOURCE_LANGUAGE, choose_languages, find_side, is_language_code,
                                       parallel_label, read_parallel, side_candidates, side_of, sides_present)
from apps.translation.tmx import looks_like_tmx, read_tmx
from shared.errors import DataError, SeqappsError
from shared.formats import announce, first_content_line, strip_gz

# Every manythings.org file has English first and is named by the other language's
# ISO 639-3 code; the app reports the 2-letter codes everyone else uses.
ANKI_LANGUAGES = {"spa": "es", "deu": "de", "fra": "fr", "ita": "it", "por": "pt",
                  "rus": "ru", "jpn": "ja", "cmn": "zh", "tur": "tr", "nld": "nl"}
STRIPPED_SUFFIXES = (".gz", ".txt", ".tsv")

PAIRS_LAYOUT = "a tab-separated pairs file (Anki/Tatoeba layout; columns after the second ignored)"
PARALLEL_LAYOUT = "line-aligned parallel files (Moses/OPUS layout)"
TMX_LAYOUT = "a TMX translation memory"


@dataclass
class Source:
    """Pairs read from one place, with the name the log uses and the path to blame."""

    pairs: list
    dropped: dict
    label: str
    path: Path
    languages: tuple


def guess_language(path):
    """``spa.txt.gz`` -> ``es``: manythings.org names files by the 3-letter code."""
    stem = path.name
    for suffix in STRIPPED_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return ANKI_LANGUAGES.get(stem.lower(), stem)


def read_source(data, source=None, target=None, reverse=False, encoding="utf-8", log=None):
    """A :class:`Source` from a pairs file, a TMX file, one side of parallel files or their prefix.

    ``source`` and ``target`` are the languages as the data holds them (None: inferred);
    ``reverse`` swaps the direction. The chosen layout goes to ``log``.
    """
    path = Path(data)
    if path.is_file():
        number, first = first_content_line(path, encoding)
        if looks_like_tmx(strip_gz(path.name), first):
            return _tmx(path, source, target, reverse, encoding, log)
        if first is not None and "\t" not in first:
            return _one_side(path, source, target, reverse, encoding, log, number, first)
        return _pairs_file(path, source, target, reverse, encoding, log)
    if (source and find_side(path, source)) or (target and find_side(path, target)) or \
            (not source and not target and len(sides_present(path)) >= 2):
        return _parallel(path, source, target, reverse, encoding, log)
    raise _not_found(path, source)


def _one_side(path, source, target, reverse, encoding, log, number, first):
    """A file with no tab on its first line: one side of line-aligned files, or a broken pairs file."""
    side = side_of(path)
    if side is not None:
        prefix, language = side
        if not source and not target:
            source = language
        return _parallel(prefix, source, target, reverse, encoding, log)
    prefix_name, _, suffix = strip_gz(path.name).rpartition(".")
    if prefix_name and is_language_code(suffix):
        raise DataError(path, f"one sentence a line and no tab: the other side of this line-aligned corpus "
                        f"must sit beside it as {prefix_name}.<language> (e.g. {prefix_name}.de), and none "
                        "does", line=number, content=first)
    return _pairs_file(path, source, target, reverse, encoding, log)


def _directed(languages, reverse):
    return tuple(languages[::-1]) if reverse else tuple(languages)


def _pairs_file(path, source, target, reverse, encoding, log):
    announce(log, path, PAIRS_LAYOUT)
    pairs, dropped = read_pairs_file(path, reverse=reverse, encoding=encoding)
    languages = (source or DEFAULT_SOURCE_LANGUAGE, target or guess_language(path))
    return Source(pairs, dropped, path.name, path, _directed(languages, reverse))


def _parallel(prefix, source, target, reverse, encoding, log):
    languages = _directed(choose_languages(prefix, source, target), reverse)
    both = all(find_side(prefix, language) for language in languages)
    label = parallel_label(prefix, languages) if both else None
    if label:  # announced before reading, so the log names the layout a length error comes from
        announce(log, prefix.parent / label, f"{PARALLEL_LAYOUT}, {languages[0]} -> {languages[1]}")
    pairs, dropped = read_parallel(prefix, *languages, encoding=encoding)  # names a missing side
    return Source(pairs, dropped, label, prefix, languages)


def _tmx(path, source, target, reverse, encoding, log):
    pairs, dropped, languages = read_tmx(path, source, target, reverse=reverse, encoding=encoding)
    announce(log, path, f"{TMX_LAYOUT}, {languages[0]} -> {languages[1]}")
    return Source(pairs, dropped, path.name, path, languages)


def _not_found(path, source):
    if path.is_dir():
        return DataError(path, "is a folder: expected a pairs file, a TMX file, or parallel files "
                         "(e.g. multi30k/train for train.en and train.de)")
    sides = sides_present(path)
    if len(sides) == 1 and not source:
        return SeqappsError(f"{path}: only one side of a parallel corpus is there ({find_side(path, sides[0])}); "
                            f"the other must sit beside it as {path}.<language>")
    tried = [str(path)] + ([str(candidate) for candidate in side_candidates(path, source)]
                           if source else [])
    hint = "" if source else " (for parallel files, pass one of them or their common prefix)"
    return SeqappsError(f"no translation data at {path}: tried {', '.join(tried)}{hint}")
