"""Named-entity training data: which files make the splits, and in which tag scheme.

:func:`load_splits` takes a folder, up to three files or nothing (the demo data of
:mod:`apps.ner.demo`), reads each file as distributed (:mod:`apps.ner.formats`), decides
which tag scheme the file is written in by the evidence of its own tags, and converts
everything to the one scheme the model trains on (:mod:`apps.ner.schemes`), so a model
never sees two spellings of the same entity.

A file's scheme is the one its sentences break least. The sentences that break it anyway
are repaired the way conlleval reads them when they are few, at most 0.1% of the file and
at least one (:mod:`apps.ner.tolerance`), with a warning naming each ``file:line``; more
stop the run with an error naming the first of them, unless ``repair_tags``
(``--repair-tags``) forces the repair.

CoNLL-2003 itself is not downloaded: its text is the Reuters RCV1 corpus, which is licensed
separately.
"""

import dataclasses
import functools
import os
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from apps.ner.demo import DEMO_SOURCE, demo_sentences
from apps.ner.formats import Sentence, read_tagged
from apps.ner.schemes import OUTSIDE, SCHEMES, canonical, check_scheme
from apps.ner.tolerance import file_scheme
from shared.errors import DataError, SeqappsError

VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1

NOT_FOUND_HINT = ("CoNLL-2003 is not downloaded automatically (its text is the Reuters RCV1 "
                  "corpus, licensed separately): obtain it yourself and pass its folder or "
                  "files with --data")


@dataclass
class Splits:
    """The three splits in one tag scheme, plus what the model and the report need.

    ``tags`` is ``"O"`` followed by every other tag of train, validation and test, sorted:
    a tag that only occurs outside train still gets an id (the model will just never
    predict it), so encoding validation or test data never fails on an unknown tag.
    """

    train: list
    validation: list
    test: list
    tags: list
    scheme: str
    source: str
    is_demo: bool = False


def _warn(message):
    print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------


@dataclass
class _Part:
    """One split before conversion: its sentences, the file they came from, its scheme."""

    sentences: list
    path: object
    scheme: str = "iob2"
    carved: bool = False
    repaired: tuple = ()  # the lines of the tags repaired
    fallback: str = ""  # the encoding read in when the file was not valid UTF-8


def _read_part(path, encoding, repair_tags, warn):
    """One file read as distributed, in the scheme its tags break least, its breaks checked."""
    tagged = read_tagged(path, encoding=encoding)
    if tagged.note:
        warn(tagged.note)
    scheme, repaired = file_scheme(tagged, repair_tags, warn)
    return _Part(tagged.sentences, tagged.path, scheme, repaired=repaired,
                 fallback=tagged.encoding if tagged.note else "")


# ---------------------------------------------------------------------------------------
# Folders and lists of files
# ---------------------------------------------------------------------------------------

DATA_SUFFIXES = (".txt", ".conll", ".tsv", ".bio", ".iob", ".iob1", ".iob2", ".iobes", ".bioes")
IGNORED_SUFFIXES = (".md", ".py", ".json", ".csv", ".yaml", ".yml", ".sh", ".zip", ".tar",
                    ".tgz", ".pdf", ".html", ".log")
# Exact names rank before looser matches when a folder holds several candidates.
ROLE_NAMES = {
    "train": ("train", "eng.train"),
    "validation": ("valid", "validation", "val", "dev", "eng.testa", "testa"),
    "test": ("test", "eng.testb", "testb"),
}
ACCEPTED_NAMES = ("train: train.txt, train, eng.train or any name containing 'train'; "
                  "validation: valid*, val*, dev*, *.testa, testa; test: test*, *.testb, "
                  f"testb (optionally ending in {', '.join(DATA_SUFFIXES[:5])}, and/or .gz)")


def _stem(name):
    """The lowercase name without ``.gz`` and one data suffix: ``eng.train.gz`` -> ``eng.train``."""
    name = name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    for suffix in DATA_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _role(name):
    """``train``, ``validation``, ``test`` or None for a file name (testa is validation)."""
    stem = _stem(name)
    if stem.endswith(IGNORED_SUFFIXES):
        return None
    words = set(re.findall(r"[a-z]+", stem))
    if "train" in stem:
        return "train"
    if stem.startswith(("valid", "val", "dev")) or words & {"valid", "validation", "val",
                                                            "dev", "testa"}:
        return "validation"
    if stem.startswith("test") or words & {"test", "testb"}:
        return "test"
    return None


def _folder_files(folder):
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and not path.name.startswith("."))


def _role_files(folder):
    """``{role: [candidates, best first]}`` for the data files in ``folder``."""
    found = {}
    for path in _folder_files(folder):
        role = _role(path.name)
        if role is not None:
            found.setdefault(role, []).append(path)
    for role, paths in found.items():
        paths.sort(key=lambda path: (_stem(path.name) not in ROLE_NAMES[role], path.name))
    return found


def _missing_train(folder):
    names = [path.name for path in _folder_files(folder)]
    listing = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "none"
    return DataError(folder, f"no training file found (files here: {listing}); accepted "
                     f"names: {ACCEPTED_NAMES}")


def _resolve_folder(folder, read):
    found = _role_files(folder)
    if "train" not in found:
        raise _missing_train(folder)
    parts = {role: read(found[role][0]) if role in found else None for role in ROLE_NAMES}
    ignored = [path.name for paths in found.values() for path in paths[1:]]
    note = f"; ignored {', '.join(ignored)}" if ignored else ""
    return parts, f"{folder}{os.sep}", note


def _not_found(path):
    return DataError(path, f"not found: no such file or folder. {NOT_FOUND_HINT}")


def _as_paths(data):
    """The paths in ``data``: a list/tuple, a comma-separated string, or one path."""
    if isinstance(data, (list, tuple)):
        paths = list(data)
    elif isinstance(data, str) and "," in data and not Path(data).exists():
        paths = [part.strip() for part in data.split(",")]
    else:
        paths = [data]
    if not 1 <= len(paths) <= 3 or not all(str(path).strip() for path in paths):
        raise SeqappsError(f"expected 1 to 3 paths (train, validation, test), got {data!r}")
    return [Path(path) for path in paths]


def _resolve_files(paths, read):
    for path in paths:
        if not path.exists():
            raise _not_found(path)
        if len(paths) > 1 and path.is_dir():
            raise DataError(path, "is a folder: when several paths are given, each must be "
                            "a file of tagged sentences (train, validation, test in that order)")
    parts = dict(zip(ROLE_NAMES, [read(path) for path in paths]))
    return {role: parts.get(role) for role in ROLE_NAMES}, "", ""


def _resolve(data, read):
    """``(parts, prefix, note)``: the parts by role (None where no file gives one), each
    file read with ``read``."""
    if data is None:
        return {"train": _Part(demo_sentences(), DEMO_SOURCE), "validation": None,
                "test": None}, "", ""
    paths = _as_paths(data)
    if len(paths) == 1 and paths[0].is_dir():
        return _resolve_folder(paths[0], read)
    return _resolve_files(paths, read)


def _carve_size(total):
    return max(1, round(total * VALIDATION_FRACTION))


def _carve(parts, seed):
    """Fill the missing validation/test parts with sentences picked from train.

    The pick is ``random.Random(seed)``; every part keeps the file order of its sentences,
    so a limit on train takes the first sentences of the file.
    """
    missing = [role for role in ("validation", "test") if parts[role] is None]
    if not missing:
        return parts
    train = parts["train"]
    total, size = len(train.sentences), _carve_size(len(train.sentences))
    if total - size * len(missing) < 1:
        raise DataError(train.path, f"too few sentences ({total}) to carve "
                        f"{' and '.join(missing)} split(s) from and keep some for training")
    order = list(range(total))
    random.Random(seed).shuffle(order)
    for index, role in enumerate(missing):
        chosen = sorted(order[index * size:(index + 1) * size])
        parts[role] = _Part([train.sentences[i] for i in chosen], train.path, train.scheme, True)
    kept = sorted(order[len(missing) * size:])
    parts["train"] = dataclasses.replace(train, sentences=[train.sentences[i] for i in kept])
    return parts


def _converted(part, scheme):
    """The part's sentences spelled in ``scheme``: each file's own scheme converted, and
    the tags that broke it (repaired above) read as conlleval reads them."""
    return [Sentence(s.tokens, canonical(s.tags, scheme), s.line) for s in part.sentences]


def _tag_list(*splits):
    seen = {tag for split in splits for sentence in split for tag in sentence.tags}
    return [OUTSIDE] + sorted(seen - {OUTSIDE})


def _describe(parts, prefix, note, scheme, seed):
    """One line saying where each split came from and which schemes were converted."""
    pieces = []
    for role, part in parts.items():
        if part.carved:
            pieces.append(f"{role} carved from train ({VALIDATION_FRACTION:.0%}, seed {seed})")
        else:
            name = part.path.name if prefix else str(part.path)
            pieces.append(f"{role} {name} ({len(part.sentences)} sentences)")
    for part in (part for part in parts.values() if not part.carved):
        if part.fallback:
            note += f"; {part.path.name} read as {part.fallback}"
        if part.repaired:
            note += (f"; repaired the tags of {len(part.repaired):,} sentence(s) that broke {part.scheme.upper()} "
                     f"in {part.path.name} (first at line {part.repaired[0]})")
    converted = sorted({part.scheme for part in parts.values()
                        if not part.carved and part.scheme != scheme})
    if converted:
        note += f"; tags converted from {', '.join(converted)} to {scheme}"
    return f"{prefix}{', '.join(pieces)}{note}"


def load_splits(data=None, *, scheme="iob2", seed=1337, encoding="auto", limit=None, repair_tags=False, warn=None):
    """Train/validation/test sentences of ``data`` with tags in ``scheme``.

    ``data`` is None (the demo data), a folder holding train / valid / test files
    (:data:`ACCEPTED_NAMES`, e.g. ``train.txt`` or CoNLL-2003's ``eng.train``,
    ``eng.testa``, ``eng.testb``), one file, or up to three files (a list or a
    comma-separated string: train, then validation, then test). A split that no file gives
    is carved from train: 10% each, at least one sentence, picked with ``seed``, so one
    file splits 80/10/10. Files may be in any format of :data:`FORMATS`, in ``encoding``
    (``auto``: UTF-8, else latin-1 with a warning). Each file's scheme is detected on its own
    and converted. ``limit`` keeps the first ``limit`` training sentences (validation and
    test stay whole). Sentences that break their file's scheme are repaired when at most
    0.1% (and at least one) of the file's sentences do, or always with ``repair_tags``,
    each named by ``file:line`` in a warning (``warn``, default: standard error) and counted
    in ``source``; more are an error naming the first of them.
    """
    check_scheme(scheme, SeqappsError, SCHEMES)
    if limit is not None and limit < 1:
        raise SeqappsError(f"limit must be at least 1, got {limit}")
    read = functools.partial(_read_part, encoding=encoding, repair_tags=repair_tags, warn=warn or _warn)
    parts, prefix, note = _resolve(data, read)
    parts = _carve(parts, seed)
    splits = {role: _converted(part, scheme) for role, part in parts.items()}
    if data is None:
        source = f"{DEMO_SOURCE}; split 80/10/10 with seed {seed}"
    else:
        source = _describe(parts, prefix, note, scheme, seed)
    if limit is not None and limit < len(splits["train"]):
        splits["train"] = splits["train"][:limit]
        source += f"; limited to the first {limit} training sentences"
    return Splits(splits["train"], splits["validation"], splits["test"],
                  _tag_list(*splits.values()), scheme, source, is_demo=data is None)
