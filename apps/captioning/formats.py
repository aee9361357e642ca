"""Caption files in the layouts caption corpora are distributed in, detected without flags.

* the Flickr8k / Flickr30k token file (``Flickr8k.token.txt``, ``results_20130124.token``)::

      1000268201_693b08cb0e.jpg#0<TAB>A child in a pink dress is climbing up a set of stairs .

* the Kaggle Flickr8k ``captions.txt``, a CSV with ``image`` and ``caption`` columns;
* Flickr30k's Kaggle ``results.csv``, pipe-separated with spaces around the pipes::

      image_name| comment_number| comment
      1000092795.jpg| 0| Two young guys with shaggy hair look at their hands .

  One row of the real file lost the pipe before its comment; such rows are skipped, each
  named at ``file:line`` in the log, rather than stopping a run on the corpus as shipped;
* COCO and Karpathy JSON (:mod:`apps.captioning.coco`).

:func:`read_caption_file` picks the layout from the name and the first line, logs it, and
reports any other malformed line at ``file:line``.
"""

import csv
import re
from pathlib import Path

from apps.captioning.coco import read_json_captions
from shared.datasets import csv_rows, decode_error, iter_lines, open_text
from shared.errors import DataError
from shared.formats import announce, first_content_line, strip_gz

# The official split lists of the Flickr8k release, by split.
SPLIT_NAMES = ("train", "dev", "test")
SPLIT_LISTS = {
    "train": "Flickr_8k.trainImages.txt",
    "dev": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}

TOKEN_FORM = "expected '<image>#<n><TAB><caption>'"
# Lazy name: the key ends at the first '#<digits>' followed by a tab or spaces, so a caption
# holding '#1 ' is still caption text. The name never holds a tab.
TOKEN_LINE = re.compile(r"(?P<name>[^\t]+?)#(?P<number>\d+)[ \t]+(?P<caption>.*)")
CSV_COLUMNS = ("image", "caption")
PIPE_HEADER = "'image_name| comment_number| comment'"
PIPE_FORM = f"expected {PIPE_HEADER}"
# Rows without a comment that are skipped (and named) before the file counts as broken.
MAX_SKIPPED_ROWS = 10

TOKEN_LAYOUT = "a Flickr8k/Flickr30k token file (image.jpg#n<TAB>caption)"
CSV_LAYOUT = "a captions CSV with image and caption columns (Kaggle Flickr8k layout)"
PIPE_LAYOUT = "Flickr30k's results.csv (image_name| comment_number| comment)"


def check_file(path):
    if path.is_dir():
        raise DataError(path, "is a folder: expected a captions file")
    if not path.is_file():
        raise DataError(path, "file not found")


def content_lines(path):
    """``(number, line)`` for every line that is not blank."""
    return ((number, line) for number, line in iter_lines(path) if line.strip())


# ---------------------------------------------------------------------------------------
# Flickr token files
# ---------------------------------------------------------------------------------------


def _parse_token_line(path, number, line):
    match = TOKEN_LINE.fullmatch(line)
    name = match and match.group("name").strip()
    if not name:
        raise DataError(path, TOKEN_FORM, line=number, content=line)
    caption = match.group("caption").strip()
    if not caption:
        raise DataError(path, f"empty caption: {TOKEN_FORM}", line=number, content=line)
    return name, caption


def read_flickr_token(path):
    """``{image name: [captions]}`` from a Flickr8k token file, plain or gzipped.

    The caption number after ``#`` only has to be there; captions keep their file order.
    A run of spaces is accepted where the tab belongs, as some copies of the original
    file were hand-edited that way.
    """
    path = Path(path)
    check_file(path)
    captions = {}
    for number, line in content_lines(path):
        name, caption = _parse_token_line(path, number, line)
        captions.setdefault(name, []).append(caption)
    return captions


# ---------------------------------------------------------------------------------------
# CSV with image and caption columns
# ---------------------------------------------------------------------------------------


def _csv_column_indexes(path, line, header):
    names = [name.strip().lower() for name in header]
    missing = [column for column in CSV_COLUMNS if column not in names]
    if missing:
        raise DataError(path, f"the header must name the columns 'image' and 'caption' (any "
                        f"order), missing {', '.join(repr(name) for name in missing)}",
                        line=line, content=",".join(header))
    return [names.index(column) for column in CSV_COLUMNS]


def _csv_captions(path, reader):
    rows = csv_rows(path, reader)
    header_line, header = next(rows, (1, None))
    if header is None:
        raise DataError(path, "empty file: expected a header 'image,caption'", line=1)
    image_index, caption_index = _csv_column_indexes(path, header_line, header)
    captions = {}
    for line, row in rows:
        if len(row) <= max(image_index, caption_index):
            raise DataError(path, f"row has {len(row)} field(s), expected the columns "
                            f"of the header {','.join(header)!r}", line=line,
                            content=",".join(row))
        name, caption = row[image_index].strip(), row[caption_index].strip()
        if not name or not caption:
            empty = "image" if not name else "caption"
            raise DataError(path, f"empty {empty}: expected 'image,caption'", line=line,
                            content=",".join(row))
        captions.setdefault(name, []).append(caption)
    return captions


def read_caption_csv(path):
    """``{image name: [captions]}`` from a CSV with ``image`` and ``caption`` columns.

    Captions often hold commas (wrapped in quotes), so this is a real CSV parser.
    """
    path = Path(path)
    check_file(path)
    try:
        with open_text(path, newline="") as file:
            return _csv_captions(path, csv.reader(file))
    except UnicodeDecodeError:
        raise decode_error(path) from None


# ---------------------------------------------------------------------------------------
# Flickr30k results.csv
# ---------------------------------------------------------------------------------------


def _pipe_names(line):
    return [name.strip().lower() for name in line.split("|")]


def _is_pipe_header(line):
    names = _pipe_names(line)
    return len(names) >= 3 and names[0] == "image_name" and "comment" in names


def _pipe_row(path, number, line):
    """``(name, caption)``, or None for a row whose comment is missing."""
    fields = [field.strip() for field in line.split("|", 2)]
    if len(fields) < 3 or not fields[2]:
        return None
    name, caption_number, caption = fields
    if not name or not caption_number.isdigit():
        raise DataError(path, f"{PIPE_FORM} with an image name and a number", line=number, content=line)
    return name, caption


def read_flickr30k_results(path, log=None):
    """``{image name: [captions]}`` from Flickr30k's pipe-separated ``results.csv``.

    Rows without a comment are skipped and each is logged as ``file:line``; more than
    :data:`MAX_SKIPPED_ROWS` of them means the file is not in this layout, an error.
    """
    path = Path(path)
    check_file(path)
    lines = content_lines(path)
    header_line, header = next(lines, (1, None))
    if header is None or not _is_pipe_header(header):
        raise DataError(path, f"the header must be {PIPE_HEADER}", line=header_line, content=header)
    captions, skipped = {}, []
    for number, line in lines:
        row = _pipe_row(path, number, line)
        if row is None:
            skipped.append(DataError(path, f"skipped, the comment is missing: {PIPE_FORM}", line=number,
                                     content=line))
            if len(skipped) > MAX_SKIPPED_ROWS:
                raise DataError(path, f"more than {MAX_SKIPPED_ROWS} rows have no comment: {PIPE_FORM}",
                                line=number, content=line)
            continue
        captions.setdefault(row[0], []).append(row[1])
    for warning in skipped if log is not None else ():
        log(f"WARNING: {warning}")
    return captions


# ---------------------------------------------------------------------------------------
# Choosing the layout
# ---------------------------------------------------------------------------------------


def _looks_like_csv_header(line):
    if "\t" in line or "," not in line:
        return False
    names = {name.strip().lower() for name in next(csv.reader([line]))}
    return bool(names & set(CSV_COLUMNS))


def caption_layout(path):
    """``"json"``, ``"pipe"``, ``"csv"`` or ``"token"``: the name decides JSON, the first line the rest."""
    name = strip_gz(path.name).lower()
    if name.endswith(".json"):
        return "json"
    _, first = first_content_line(path)
    if first is not None and _is_pipe_header(first):
        return "pipe"
    if name.endswith(".csv") or (first is not None and _looks_like_csv_header(first)):
        return "csv"
    return "token"


def read_caption_file(path, log=None):
    """``(captions, splits or None, layout name)`` of any caption file, its layout logged.

    ``splits`` comes from Karpathy JSON only; the other layouts leave splits to the
    Flickr split lists beside them.
    """
    path = Path(path)
    check_file(path)
    kind = caption_layout(path)
    if kind == "json":
        captions, splits, layout = read_json_captions(path)
        announce(log, path, layout)
        return captions, splits, layout
    layout = {"pipe": PIPE_LAYOUT, "csv": CSV_LAYOUT, "token": TOKEN_LAYOUT}[kind]
    announce(log, path, layout)
    if kind == "pipe":
        return read_flickr30k_results(path, log), None, layout
    return (read_caption_csv if kind == "csv" else read_flickr_token)(path), None, layout


def read_coco_json(path):
    """``({image name: [captions]}, {image name: split or None})`` from COCO-style JSON
    (see :mod:`apps.captioning.coco`)."""
    path = Path(path)
    check_file(path)
    return read_json_captions(path)[:2]


def read_split_list(path):
    """The image names of a Flickr8k split list, one per line, in file order."""
    path = Path(path)
    check_file(path)
    return [line.strip() for _, line in content_lines(path)]
