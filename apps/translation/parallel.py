"""Line-aligned parallel files, as Moses, OPUS and Multi30k ship them: ``PREFIX.en`` + ``PREFIX.de``.

Line *i* of one file is the translation of line *i* of the other. The two files are found
from their common prefix (``multi30k/train``) or from either file (``OpenSubtitles.de-en.en``
finds ``OpenSubtitles.de-en.de`` beside it); each may be gzipped. Lines end at ``\\n``
only: a stray carriage return or Unicode line separator inside a sentence, which OPUS
corpora have, must not split a line and shift every later pair against its translation.
"""

import re
from collections import Counter
from pathlib import Path

from apps.translation.pairs import EMPTY_SIDE, Pair, no_pairs
from shared.datasets import decode_error, open_text
from shared.errors import DataError, SeqappsError
from shared.formats import strip_gz

DEFAULT_SOURCE_LANGUAGE = "en"
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,4})?", re.IGNORECASE)
# Suffixes that look like language codes but are not: OPUS ships PREFIX.ids beside the sides.
NOT_LANGUAGES = frozenset({"txt", "tsv", "csv", "tmx", "xml", "ids", "zip", "tar", "tgz", "bz2", "xz", "md",
                           "log", "json", "bin", "vec", "tok", "bpe", "raw", "py", "sh", "pl"})


def is_language_code(text):
    return bool(LANGUAGE_CODE.fullmatch(text)) and text.lower() not in NOT_LANGUAGES


def side_candidates(prefix, language):
    plain = Path(f"{prefix}.{language}")
    return plain, Path(f"{plain}.gz")


def find_side(prefix, language):
    """``prefix.language``, else ``prefix.language.gz``, else None."""
    return next((path for path in side_candidates(prefix, language) if path.is_file()), None)


def sides_present(prefix):
    """Language codes X for which ``prefix.X`` or ``prefix.X.gz`` exists."""
    folder = Path(prefix).parent
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(Path(prefix).name) + r"\.([^.]+)(?:\.gz)?")
    found = {match.group(1) for match in map(pattern.fullmatch, (p.name for p in folder.iterdir())) if match}
    return sorted(code for code in found if is_language_code(code))


def side_of(path):
    """``(prefix, language)`` when ``path`` is ``PREFIX.LANG[.gz]`` with another side beside it."""
    prefix_name, dot, language = strip_gz(Path(path).name).rpartition(".")
    if not dot or not prefix_name or not is_language_code(language):
        return None
    prefix = Path(path).parent / prefix_name
    return (prefix, language) if set(sides_present(prefix)) - {language} else None


def choose_languages(prefix, source=None, target=None):
    """``(source, target)`` codes of ``prefix``'s sides; what is not given is inferred.

    With one code given, the other is the only other side. With none, two sides are read
    English first when one is English (the app's usual direction), else in name order;
    ``--reverse`` turns them round. More sides than that need the codes.
    """
    sides = sides_present(prefix)
    if source and target:
        return source, target
    given = source or target
    if given:
        others = [side for side in sides if side != given]
        if len(others) != 1:
            choices = f" (one of {', '.join(others)})" if others else ""
            raise SeqappsError(f"{prefix}.{given} is one side of a parallel corpus: give the "
                               f"{'target' if source else 'source'} language code too (the other file's "
                               f"suffix{choices})")
        return (given, others[0]) if source else (others[0], given)
    if len(sides) != 2:
        raise SeqappsError(f"{prefix} names parallel files ({', '.join(sides)}): give the source and target "
                           "language codes")
    english = [side for side in sides if re.split("[-_]", side)[0].lower() == DEFAULT_SOURCE_LANGUAGE]
    first = english[0] if len(english) == 1 else sides[0]
    return first, next(side for side in sides if side != first)


def _side_path(prefix, language):
    path = find_side(prefix, language)
    if path is None:
        tried = " and ".join(str(candidate) for candidate in side_candidates(prefix, language))
        raise DataError(prefix, f"no '{language}' file of the parallel corpus: tried {tried}")
    return path


def _check_languages(source, target):
    if not source or not target:
        raise SeqappsError(f"parallel files need a source and a target language code (the "
                           f"file suffixes, e.g. en and de), got {source!r} and {target!r}")


def aligned_lines(path, encoding="utf-8"):
    """Every line of one side, split at ``\\n`` only (a CRLF ending is removed too)."""
    try:
        with open_text(path, encoding, newline="\n") as file:
            return [line.rstrip("\n").removesuffix("\r") for line in file]
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None


def read_parallel(prefix, source, target, *, encoding="utf-8"):
    """``(pairs, dropped)`` from ``prefix.source`` and ``prefix.target`` (each maybe ``.gz``).

    The files must have the same number of lines; the error names both files and both
    counts. A line blank in both files is skipped; a pair with one empty side is skipped
    and counted in ``dropped["empty side"]``. Origins name the source file.
    """
    _check_languages(source, target)
    source_path, target_path = _side_path(prefix, source), _side_path(prefix, target)
    source_lines, target_lines = aligned_lines(source_path, encoding), aligned_lines(target_path, encoding)
    if len(source_lines) != len(target_lines):
        raise DataError(source_path, f"{len(source_lines):,} lines, but the other side {target_path} has "
                        f"{len(target_lines):,}: line i of one file must be the translation of line i of "
                        "the other")
    pairs, dropped = [], Counter()
    for number, (source_line, target_line) in enumerate(zip(source_lines, target_lines), start=1):
        source_text, target_text = source_line.strip(), target_line.strip()
        if not source_text and not target_text:
            continue
        if not source_text or not target_text:
            dropped[EMPTY_SIDE] += 1
            continue
        pairs.append(Pair(source_text, target_text, f"{source_path.name}:{number}"))
    if not pairs:
        raise no_pairs(prefix, dropped, f"in {source_path.name} and {target_path.name}")
    return pairs, dict(dropped)


def parallel_label(prefix, languages):
    """``train.{en,de}.gz`` when both sides are named alike, else both names."""
    paths = [find_side(prefix, language) for language in languages]
    suffixes = {path.name[len(f"{prefix.name}.{language}"):] for path, language in zip(paths, languages)}
    if len(suffixes) == 1:
        return f"{prefix.name}.{{{languages[0]},{languages[1]}}}{suffixes.pop()}"
    return " + ".join(path.name for path in paths)
