"""Labelled texts in the layouts sentiment corpora are distributed in, detected without flags.

Each file is recognised from its first line (and a ``.csv`` name), never from a flag, and
the log says which layout was chosen (:func:`read_examples`):

* fastText lines, ``__label__2 Great food and friendly staff``;
* GLUE SST-2, a TSV with the header ``sentence<TAB>label`` (any TSV or CSV whose header
  names a text column and a label column, in any order, is read the same way);
* Yelp / Amazon polarity (Zhang et al., 2015), a headerless CSV ``"2","text"`` or
  ``"2","title","text"`` whose labels are 1 (negative) and 2 (positive), with
  RFC-4180 quoting and line breaks written as a literal ``\\n``;
* ``label<TAB>text`` lines without a header;
* aclImdb, a folder with one subfolder of ``<id>_<rating>.txt`` files per label
  (``pos/``, ``neg/``; ``unsup/`` is skipped).

Labels are kept as the file writes them ("1"/"2", "0"/"1", "pos"/"neg"): the model and its
export report the corpus's own labels. A malformed line is a DataError at ``file:line``.
"""

import csv
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from shared.datasets import csv_rows, decode_error, iter_lines, open_text, read_text
from shared.errors import DataError
from shared.formats import announce, first_content_line, strip_gz

TEXT_COLUMNS = ("review", "text", "sentence")
LABEL_COLUMNS = ("sentiment", "label", "polarity")
FASTTEXT_PREFIX = "__label__"
FASTTEXT_LABELS = re.compile(r"(?:__label__\S*\s*)+")
IGNORED_FOLDERS = ("unsup",)
POLARITY_WIDTHS = (2, 3)  # label,text or label,title,text

ACCEPTED_FORMATS = (
    "expected one of: fastText lines '__label__pos some text', TSV lines 'label<TAB>text', "
    f"a CSV or TSV with a header naming a text column ({', '.join(TEXT_COLUMNS)}) and a label "
    f"column ({', '.join(LABEL_COLUMNS)}), a headerless CSV '\"label\",\"text\"' (Yelp/Amazon "
    "polarity), or a folder with one subfolder of .txt files per label"
)


class UnlabelledError(DataError):
    """A file of texts without labels (GLUE's test.tsv): no use for training or testing."""


@dataclass(frozen=True)
class Example:
    """One labelled text; ``line`` (where its file has lines) is for error messages only."""

    text: str
    label: str
    line: int = field(default=None, compare=False)


@dataclass(frozen=True)
class Format:
    """A layout: the name the log shows and the function that reads it."""

    name: str
    read: object


def read_examples(path, encoding="utf-8", log=None):
    """Labelled examples from a file or a label-folder tree, its layout detected and logged."""
    path = Path(path)
    if path.is_dir():
        layout = LABEL_FOLDERS
    elif path.is_file():
        layout = detect_format(path, encoding)
    else:
        raise DataError(path, "no such file or folder")
    examples = []
    if layout is not None:
        announce(log, path, layout.name)
        examples = layout.read(path, encoding)
    if not examples:
        raise DataError(path, f"no examples found ({ACCEPTED_FORMATS})")
    return examples


def detect_format(path, encoding="utf-8"):
    """The :class:`Format` of a file from its first line; None for a file with no text."""
    number, first = first_content_line(path, encoding)
    if first is None:
        return None
    if first.lstrip().startswith(FASTTEXT_PREFIX):
        return FASTTEXT
    named_csv = strip_gz(path.name).lower().endswith(".csv")
    if "\t" in first and not named_csv:
        return _tsv_format(path, number, first)
    row = next(csv.reader([first]))
    if _header_columns(row) is not None:
        return HEADER_CSV
    if _is_polarity_row(row):
        return POLARITY_CSV
    if named_csv:
        raise _header_error(path, number, row, ",")
    raise DataError(path, f"unknown format: {ACCEPTED_FORMATS}", line=number, content=first)


def _tsv_format(path, number, first):
    """SST-2 style when the first line is a header, plain ``label<TAB>text`` otherwise."""
    names = first.split("\t")
    if _header_columns(names) is not None:
        return HEADER_TSV
    if _names_text_only(names):
        raise UnlabelledError(path, "the header names a text column but no label column: unlabelled "
                        "texts (such as GLUE's SST-2 test.tsv) can neither train nor test a "
                        "classifier", line=number, content=first)
    return LABEL_TSV


def _header_columns(header):
    """``(text_index, label_index)`` for a header row, or None when it does not name both."""
    names = [name.strip().lower() for name in header]
    text = next((names.index(name) for name in TEXT_COLUMNS if name in names), None)
    label = next((names.index(name) for name in LABEL_COLUMNS if name in names), None)
    return None if text is None or label is None else (text, label)


def _names_text_only(header):
    names = {name.strip().lower() for name in header}
    return bool(names & set(TEXT_COLUMNS)) and not names & set(LABEL_COLUMNS)


def _header_error(path, line, header, delimiter):
    return DataError(path, f"the header must name a text column (one of {', '.join(TEXT_COLUMNS)}) "
                     f"and a label column (one of {', '.join(LABEL_COLUMNS)})", line=line,
                     content=delimiter.join(header))


# ---------------------------------------------------------------------------------------
# Line formats
# ---------------------------------------------------------------------------------------


def _content_lines(path, encoding):
    """``(number, line)`` for every line that is not blank."""
    return ((number, line) for number, line in iter_lines(path, encoding) if line.strip())


def _read_fasttext(path, encoding):
    examples = []
    for number, line in _content_lines(path, encoding):
        line = line.strip()
        match = FASTTEXT_LABELS.match(line)
        if match is None:
            raise DataError(path, "expected a fastText line '__label__LABEL text' like the "
                            "first line of this file", line=number, content=line)
        label = match.group(0).split()[0][len(FASTTEXT_PREFIX):]
        text = line[match.end():].strip()
        if not label:
            raise DataError(path, "empty fastText label: expected '__label__LABEL text'",
                            line=number, content=line)
        if not text:
            raise DataError(path, "fastText line has a label but no text: expected "
                            "'__label__LABEL text'", line=number, content=line)
        examples.append(Example(text, label, number))
    return examples


def _read_tsv(path, encoding):
    examples = []
    for number, line in _content_lines(path, encoding):
        label, tab, text = line.partition("\t")
        label, text = label.strip(), text.strip()
        if not tab or not label or not text:
            raise DataError(path, "expected a TSV line 'label<TAB>text' like the first line "
                            "of this file", line=number, content=line)
        examples.append(Example(text, label, number))
    return examples


# ---------------------------------------------------------------------------------------
# Delimited formats
# ---------------------------------------------------------------------------------------


def _rows(path, encoding, rows_to_examples, delimiter=",", strict=False):
    """Every example of a delimited file; the csv module needs ``newline=""``.

    ``strict`` quoting refuses a stray quote instead of reading on to the next quote, which
    would silently merge the following rows into one text.
    """
    # A TSV's quotes are part of the text (SST-2 style); only CSV uses RFC-4180 quoting.
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    try:
        with open_text(path, encoding, newline="") as file:
            reader = csv.reader(file, delimiter=delimiter, quoting=quoting, strict=strict)
            return list(rows_to_examples(path, csv_rows(path, reader), delimiter))
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None


def _header_examples(path, rows, delimiter):
    header_line, header = next(rows, (None, None))
    if header is None:
        return
    columns = _header_columns(header)
    if columns is None:
        raise _header_error(path, header_line, header, delimiter)
    text_index, label_index = columns
    for line, row in rows:
        if len(row) != len(header):
            hint = " (an unquoted comma inside the text?)" if len(row) > len(header) and delimiter == "," else ""
            raise DataError(path, f"row has {len(row)} field(s), the header has {len(header)}{hint}",
                            line=line, content=delimiter.join(row))
        text, label = row[text_index].strip(), row[label_index].strip()
        if not label:
            raise DataError(path, f"empty label in column {header[label_index]!r}", line=line,
                            content=delimiter.join(row))
        if not text:
            raise DataError(path, f"empty text in column {header[text_index]!r}", line=line,
                            content=delimiter.join(row))
        yield Example(text, label, line)


def _is_polarity_row(row):
    return len(row) in POLARITY_WIDTHS and row[0].strip().isdigit()


def _unescape(text):
    """Zhang et al.'s CSVs write a line break inside a review as backslash + n."""
    return text.replace("\\n", "\n").strip()


def _polarity_examples(path, rows, delimiter):
    for line, row in rows:
        if not _is_polarity_row(row):
            raise DataError(path, "expected a row '\"label\",\"text\"' or '\"label\",\"title\",\"text\"' "
                            f"with a numeric label, like the first row; got {len(row)} field(s)",
                            line=line, content=delimiter.join(row))
        text = "\n".join(part for part in map(_unescape, row[1:]) if part)
        if not text:
            raise DataError(path, "empty title and text", line=line, content=delimiter.join(row))
        yield Example(text, row[0].strip(), line)


# ---------------------------------------------------------------------------------------
# Label folders (aclImdb)
# ---------------------------------------------------------------------------------------


def label_folders(folder):
    """Subfolders holding ``*.txt`` files, one per label; ``unsup`` and hidden ones skipped."""
    return [sub for sub in sorted(folder.iterdir())
            if sub.is_dir() and sub.name not in IGNORED_FOLDERS
            and not sub.name.startswith(".") and any(sub.glob("*.txt"))]


def is_split_root(folder):
    """Whether ``folder`` is an aclImdb root: ``train/`` and ``test/``, each with label folders."""
    return all((folder / name).is_dir() and label_folders(folder / name)
               for name in ("train", "test"))


def _read_label_folders(folder, encoding):
    if is_split_root(folder):
        raise DataError(folder, "this folder holds train/ and test/ splits; pass it to the "
                        "app as --data (official split) or pick one split folder")
    examples = []
    for label_folder in label_folders(folder):
        for text_file in sorted(label_folder.glob("*.txt")):
            text = read_text(text_file, encoding).strip()
            if not text:
                raise DataError(text_file, "empty file: expected the text of one example",
                                line=1)
            examples.append(Example(text, label_folder.name))
    return examples


FASTTEXT = Format("fastText lines '__label__LABEL text'", _read_fasttext)
LABEL_TSV = Format("TSV lines 'label<TAB>text' (no header)", _read_tsv)
HEADER_TSV = Format("a TSV with a header naming the text and label columns (GLUE SST-2 layout)",
                    partial(_rows, rows_to_examples=_header_examples, delimiter="\t"))
HEADER_CSV = Format("a CSV with a header naming the text and label columns",
                    partial(_rows, rows_to_examples=_header_examples))
POLARITY_CSV = Format("a headerless CSV 'label,[title,]text' (Yelp/Amazon polarity layout: label 1 = "
                      "negative, 2 = positive)", partial(_rows, rows_to_examples=_polarity_examples, strict=True))
LABEL_FOLDERS = Format("label folders (aclImdb layout: one subfolder of .txt files per label)",
                       _read_label_folders)
