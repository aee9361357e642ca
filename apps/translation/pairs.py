"""Sentence pairs, and the Anki / Tatoeba pairs file that manythings.org distributes.

A pairs file has one pair a line, ``source<TAB>target``; newer downloads add a third
column crediting the translators, which is ignored::

    Go.<TAB>Ve.<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #4986655 (cueyayotl)

A malformed line is reported as ``file:line``; a pair with an empty side is skipped and
counted, since public corpora have a few and one should not stop a run.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from shared.datasets import iter_lines
from shared.errors import DataError

PAIR_FORM = "expected 'source<TAB>target'"
EMPTY_SIDE = "empty side"


@dataclass(frozen=True)
class Pair:
    """One sentence and its translation; ``origin`` is ``file:line``, for messages."""

    source: str
    target: str
    origin: str


def check_file(path, expected):
    if path.is_dir():
        raise DataError(path, f"is a folder: expected {expected}")
    if not path.is_file():
        raise DataError(path, "file not found")


def no_pairs(path, dropped, expected):
    """The error for a source that held no usable pair, with how many were skipped."""
    skipped = sum(dropped.values())
    detail = f"; {skipped:,} skipped for an empty side" if skipped else ""
    return DataError(path, f"no sentence pairs found ({expected}){detail}")


def read_pairs_file(path, *, reverse=False, encoding="utf-8"):
    """``(pairs, dropped)`` from a ``source<TAB>target`` file, plain or gzipped.

    Blank lines are skipped; a line whose source or target is empty is skipped and counted
    in ``dropped["empty side"]``; a line without a tab is a DataError at its line.
    ``reverse`` swaps the columns, so ``spa.txt`` can train Spanish to English.
    """
    path = Path(path)
    check_file(path, "a pairs file")
    pairs, dropped = [], Counter()
    for number, line in iter_lines(path, encoding):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise DataError(path, f"{PAIR_FORM}, found no tab", line=number, content=line)
        source, target = columns[0].strip(), columns[1].strip()
        if not source or not target:
            dropped[EMPTY_SIDE] += 1
            continue
        if reverse:
            source, target = target, source
        pairs.append(Pair(source, target, f"{path.name}:{number}"))
    if not pairs:
        raise no_pairs(path, dropped, PAIR_FORM)
    return pairs, dict(dropped)
