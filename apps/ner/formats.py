"""Named-entity files as their corpora distribute them: the layouts and the encodings.

Every standard corpus comes in its own layout, and each is read here as it is downloaded,
without conversion (:data:`FORMATS`):

- the *column* layout, one token per line, the token first and the NER tag last, blank
  lines between sentences, ``-DOCSTART-`` lines skipped: CoNLL-2003 (``token POS chunk
  tag``), CoNLL-2002 Spanish and Dutch (``token POS tag``), WNUT-16/17 (``token<TAB>tag``)
  and any other ``token ... tag`` file;
- the *indexed* layout of GermEval-2014: ``#`` source lines before each sentence, then
  ``index<TAB>token<TAB>outer tag<TAB>nested tag``; the nested tag is ignored.

The layout is told from the first sentence (:func:`_sniff`): tab-separated lines whose
first column counts 1, 2... are indexed, anything else is columns. A ``#`` line is a
comment in the indexed layout only: in a column file it is a token (WNUT has hashtags).
CoNLL-U is recognised and refused: it has no NER column, and corpora that add one each
name and fill it their own way.

Encodings: ``auto`` reads UTF-8 and falls back to latin-1 (CoNLL-2002's encoding) when a
file's bytes are not valid UTF-8, with a note naming the first line that is not.
"""

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from apps.ner.schemes import TAG_FORM, check_scheme, detect_scheme, fits, scheme_form, split_tag
from shared.datasets import iter_lines, read_bytes
from shared.errors import DataError, SeqappsError

DOCSTART = "-DOCSTART-"
FALLBACK_ENCODING = "latin-1"


@dataclass(frozen=True)
class Format:
    """One standard corpus layout, for ``--help`` and the README."""

    name: str
    example: str
    description: str


FORMATS = (
    Format("CoNLL-2003", "EU NNP B-NP B-ORG", "token POS chunk tag; '-DOCSTART- -X- -X- O' lines skipped"),
    Format("CoNLL-2002", "Melbourne NP B-LOC",
           "token POS tag: Spanish esp.*, Dutch ned.* (latin-1; -DOCSTART- lines skipped)"),
    Format("WNUT-16/17", "Pokemon<TAB>B-creative-work",
           "token<TAB>tag, like any file with the token first, the tag last"),
    Format("GermEval-2014", "7<TAB>Stuttgart<TAB>B-LOC<TAB>O",
           "'#' line, then index<TAB>token<TAB>tag<TAB>nested tag (ignored)"),
)


def format_catalogue():
    """The formats as help text: each with what its lines hold and one example line."""
    width = max(len(f.name) for f in FORMATS) + 2
    return "\n".join(f"  {f.name:<{width}}{f.description}\n  {'':<{width}}e.g. {f.example}" for f in FORMATS)


@dataclass(frozen=True)
class Sentence:
    """One tagged sentence. ``line`` locates it in its file for error messages only.

    ``line`` is left out of equality, so a sentence read back from a file written elsewhere
    still equals the original.
    """

    tokens: tuple
    tags: tuple
    line: int = field(default=0, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "tokens", tuple(self.tokens))
        object.__setattr__(self, "tags", tuple(self.tags))
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"a sentence needs one tag per token, got {len(self.tokens)} "
                             f"token(s) and {len(self.tags)} tag(s)")


@dataclass
class TaggedFile:
    """A file's sentences (tags as written), its layout and encoding, and what to tell the user."""

    path: Path
    sentences: list
    layout: str
    encoding: str
    note: str = ""


# ---------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------


def choose_encoding(path, encoding="auto"):
    """``(encoding, note)``: ``encoding`` itself unless it is ``auto``, which is UTF-8 when
    the bytes are valid UTF-8 and latin-1 (with a note naming the first other line) if not."""
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SeqappsError(f"unknown text encoding {encoding!r}: use auto, utf-8, latin-1, "
                               "cp1252 or another Python codec name") from None
        return encoding, ""
    data = read_bytes(path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return FALLBACK_ENCODING, (f"{path}:{line}: not valid UTF-8, so the file was read as "
                                   f"{FALLBACK_ENCODING} (pass --encoding to choose another)")
    return "utf-8", ""


# ---------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------


def _columns(line):
    """The line's columns: tab-separated when it has a tab (tokens may hold spaces), else
    split on runs of whitespace. Empty for a blank or whitespace-only line."""
    if not line.strip():
        return []
    if "\t" in line:
        return [column.strip() for column in line.split("\t")]
    return line.split()


class ColumnLines:
    """``token ... tag`` lines; every token line has as many columns as the first one."""

    layout = "columns"

    def __init__(self, path):
        self.path, self.first = path, None

    def row(self, number, line, pending):
        """``(token, tag)``, or None for a line that ends a sentence (blank, ``-DOCSTART-``)."""
        columns = _columns(line)
        if not columns or columns[0] == DOCSTART:
            return None
        if self.first is None:
            if len(columns) < 2:
                raise DataError(self.path, "expected at least 2 columns, the token first and the NER tag last "
                                "(e.g. 'EU NNP B-NP B-ORG' or 'EU<TAB>B-ORG'), got 1", line=number, content=line)
            self.first = (len(columns), number, "tab" if "\t" in line else "whitespace")
        count, first_line, separator = self.first
        if len(columns) != count:
            raise DataError(self.path, f"expected {count} {separator}-separated columns (token ... tag) like "
                            f"line {first_line}, got {len(columns)}", line=number, content=line)
        if not columns[0]:
            raise DataError(self.path, "empty token in the first column", line=number, content=line)
        return columns[0], columns[-1]


class IndexedLines:
    """GermEval-2014: ``#`` lines before a sentence, then ``index<TAB>token<TAB>tag<TAB>nested``.

    Every token line starts with its number, so a line starting with ``#`` is always a
    comment here, and ends the sentence before it.
    """

    layout = "germeval"

    def __init__(self, path, count):
        self.path, self.count = path, count

    def row(self, number, line, pending):
        if not line.strip() or line.startswith("#"):
            return None
        columns = line.split("\t")
        if len(columns) != self.count:
            raise DataError(self.path, f"expected {self.count} tab-separated columns (GermEval-2014: index, token, "
                            f"outer tag, nested tag), got {len(columns)}", line=number, content=line)
        if columns[0].strip() != str(pending + 1):
            raise DataError(self.path, f"expected token number {pending + 1} in the first column (GermEval-2014 "
                            "numbers the tokens of each sentence from 1)", line=number, content=line)
        token = columns[1].strip()
        if not token:
            raise DataError(self.path, "empty token in the second column", line=number, content=line)
        return token, columns[2].strip()


CONLLU_ID = re.compile(r"\d+(?:[-.]\d+)?")


def _first_rows(lines):
    """The first two token lines, tab-split, the first one's number, and whether a ``#``
    line came before them."""
    rows, start, commented = [], None, False
    for number, line in lines:
        if not line.strip() or (line.startswith("#") and not rows):
            if rows:
                break
            commented = commented or line.startswith("#")
            continue
        rows.append(line.split("\t"))
        start = start or number
        if len(rows) == 2:
            break
    return rows, start, commented


def _sniff(path, encoding):
    """The line reader for the file's layout, told from its first sentence.

    Indexed (GermEval-2014) when its first line has 3 or 4 tab-separated columns, the first
    being ``1``, after a ``#`` line or before a line numbered ``2``: a column file whose
    first sentence is the one token ``1`` stays a column file. Later lines are checked as
    they are read, so a wrong number is named at its own line.
    """
    rows, start, commented = _first_rows(iter_lines(path, encoding))
    if rows and len(rows[0]) == 10 and CONLLU_ID.fullmatch(rows[0][0]):
        raise DataError(path, "looks like CoNLL-U (10 tab-separated columns, ID first), which has no NER column: "
                        "write 'token<TAB>tag' lines instead", line=start, content="\t".join(rows[0]))
    numbered = rows and len(rows[0]) in (3, 4) and rows[0][0].strip() == "1"
    if numbered and (commented or (len(rows) == 2 and rows[1][0].strip() == "2")):
        return IndexedLines(path, len(rows[0]))
    return ColumnLines(path)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def _check_tag(path, number, line, tag, scheme):
    parsed = split_tag(tag)
    if parsed is None:
        raise DataError(path, f"bad NER tag {tag!r}: expected {TAG_FORM}", line=number, content=line)
    if scheme != "auto" and not fits(parsed[0], scheme):
        raise DataError(path, f"tag {tag!r} does not fit the {scheme} scheme, which uses {scheme_form(scheme)} "
                        "(read the file with scheme 'auto' to detect its scheme)", line=number, content=line)
    return tag


def _sentences(path, lines, reader, scheme):
    """Yield the sentences of ``lines``; the reader says which lines end one."""
    tokens, tags, first = [], [], 0
    for number, line in lines:
        row = reader.row(number, line, len(tokens))
        if row is None:
            if tokens:
                yield Sentence(tokens, tags, first)
                tokens, tags = [], []
            continue
        if not tokens:
            first = number
        tags.append(_check_tag(path, number, line, row[1], scheme))
        tokens.append(row[0])
    if tokens:  # a file may end without a newline after its last sentence
        yield Sentence(tokens, tags, first)


def read_tagged(path, *, scheme="auto", encoding="auto"):
    """A :class:`TaggedFile` with the sentences of any format in :data:`FORMATS`.

    Tags are kept as written. An explicit ``scheme`` refuses tags whose prefix it does not
    use; sequences are not checked here (the caller decides what a broken one means).
    Every malformed line is a DataError naming the file and the line.
    """
    path = Path(path)
    if scheme != "auto":
        check_scheme(scheme, SeqappsError)
    if path.is_dir():
        raise DataError(path, "is a folder: expected a file of tagged sentences")
    try:
        encoding, note = choose_encoding(path, encoding)
        reader = _sniff(path, encoding)
        sentences = list(_sentences(path, iter_lines(path, encoding), reader, scheme))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    if not sentences:
        raise DataError(path, "no sentences found: expected one 'token ... tag' line per token and a blank "
                        "line after each sentence")
    return TaggedFile(path, sentences, reader.layout, encoding, note)


def read_conll(path, *, scheme="auto", encoding="auto"):
    """``(sentences, scheme)`` from a file in any format of :data:`FORMATS`, tags as written.

    ``scheme="auto"`` detects the scheme (:func:`apps.ner.schemes.detect_scheme`); an
    explicit scheme refuses tags whose prefix it does not use. Sequences that break the
    scheme are left as they are: :func:`apps.ner.data.load_splits` decides about them.
    """
    tagged = read_tagged(path, scheme=scheme, encoding=encoding)
    found = detect_scheme(s.tags for s in tagged.sentences) if scheme == "auto" else scheme
    return tagged.sentences, found
