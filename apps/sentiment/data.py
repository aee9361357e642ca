"""Labelled texts for the sentiment classifier: reading, validation and splitting.

Users bring data in many shapes (the aclImdb folder tree, Kaggle-style CSVs, fastText
``__label__`` files, ``label<TAB>text`` lines), so :func:`read_examples` detects the format
and every malformed line is reported with its file and line number. :func:`load_splits`
turns any of them into train/validation/test splits that are identical on every run and
machine for a given seed.

Without ``--data`` the app runs on the 200 Pang & Lee review sentences that gensim ships,
so that it works offline; it says clearly that this is demo data.
"""

import csv
import importlib.util
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from shared.datasets import (RemoteDataset, check_split_fractions, csv_rows, decode_error, fetch, iter_lines,
                             open_text, read_text)
from shared.errors import DataError, SeqappsError

TEXT_COLUMNS = ("review", "text", "sentence")
LABEL_COLUMNS = ("sentiment", "label", "polarity")
FASTTEXT_PREFIX = "__label__"
IGNORED_FOLDERS = ("unsup",)

ACCEPTED_FORMATS = (
    "expected one of: fastText lines '__label__pos some text', TSV lines 'label<TAB>text', "
    f"a CSV with a header naming a text column ({', '.join(TEXT_COLUMNS)}) and a label column "
    f"({', '.join(LABEL_COLUMNS)}), or a folder with one subfolder of .txt files per label"
)

DEMO_FILENAME = "pang_lee_polarity.cor"
# gensim's test corpora are Windows-1252 ("latin-1" plus curly punctuation): this file
# holds e-acute (0xe9) and em dashes (0x97), which latin-1 would turn into control chars.
DEMO_ENCODING = "cp1252"
DEMO_SOURCE = "demo data: 200 Pang & Lee review sentences shipped with gensim"

IMDB = RemoteDataset(
    name="imdb",
    url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    # The published checksum of the official archive (84,125,825 bytes), the same value
    # pinned by other public loaders of this file.
    sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    filename="aclImdb_v1.tar.gz",
    description="Large Movie Review Dataset v1.0: 25,000 train + 25,000 test IMDB reviews, "
                "labelled pos/neg (official split).",
    citation="Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng, and "
             "Christopher Potts. 2011. Learning Word Vectors for Sentiment Analysis. ACL-HLT.",
    extract=True,
)
DATASETS = {"imdb": IMDB}


@dataclass(frozen=True)
class Example:
    """One labelled text; ``line`` (where its file has lines) is for error messages only."""

    text: str
    label: str
    line: int = field(default=None, compare=False)


@dataclass
class Splits:
    """The three splits plus what the model and the report need to know about them."""

    train: list
    validation: list
    test: list
    labels: list = field(default_factory=list)
    source: str = ""
    is_demo: bool = False


# ---------------------------------------------------------------------------------------
# Reading one source
# ---------------------------------------------------------------------------------------


def read_examples(path, encoding="utf-8"):
    """Read labelled examples from a file or a label-folder tree, detecting the format."""
    path = Path(path)
    if path.is_dir():
        examples = _read_label_folders(path, encoding)
    elif path.is_file():
        examples = _read_file(path, encoding)
    else:
        raise DataError(path, "no such file or folder")
    if not examples:
        raise DataError(path, f"no examples found ({ACCEPTED_FORMATS})")
    return examples


def _strip_gz(name):
    return name[:-3] if name.lower().endswith(".gz") else name


def _read_file(path, encoding):
    if _strip_gz(path.name).lower().endswith(".csv"):
        return _read_csv(path, encoding)
    return _read_plain(path, encoding)


def _first_content_line(path, encoding):
    for number, line in iter_lines(path, encoding):
        if line.strip():
            return number, line
    return None, None


def _read_plain(path, encoding):
    number, first = _first_content_line(path, encoding)
    if first is None:
        return []
    if first.lstrip().startswith(FASTTEXT_PREFIX):
        return _read_fasttext(path, encoding)
    if "\t" in first:
        if _header_columns(first.split("\t")) is not None:
            return _read_csv(path, encoding, delimiter="\t")
        return _read_tsv(path, encoding)
    if _header_columns(next(csv.reader([first]))) is not None:
        return _read_csv(path, encoding)
    raise DataError(path, f"unknown format: {ACCEPTED_FORMATS}", line=number, content=first)


def _content_lines(path, encoding):
    """``(number, line)`` for every line that is not blank."""
    return ((number, line) for number, line in iter_lines(path, encoding) if line.strip())


FASTTEXT_LABELS = re.compile(r"(?:__label__\S*\s*)+")


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


def _header_columns(header):
    """``(text_index, label_index)`` for a header row, or None when it does not name both."""
    names = [name.strip().lower() for name in header]
    text = next((names.index(name) for name in TEXT_COLUMNS if name in names), None)
    label = next((names.index(name) for name in LABEL_COLUMNS if name in names), None)
    return None if text is None or label is None else (text, label)


def _read_csv(path, encoding, delimiter=","):
    # A TSV's quotes are part of the text (SST-2 style); only CSV uses RFC-4180 quoting.
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    try:
        with open_text(path, encoding, newline="") as file:
            reader = csv.reader(file, delimiter=delimiter, quoting=quoting)
            return list(_csv_examples(path, reader))
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None


def _csv_examples(path, reader):
    rows = csv_rows(path, reader)
    header_line, header = next(rows, (None, None))
    if header is None:
        return
    delimiter = reader.dialect.delimiter
    columns = _header_columns(header)
    if columns is None:
        raise DataError(path, f"the header must name a text column (one of "
                        f"{', '.join(TEXT_COLUMNS)}) and a label column (one of "
                        f"{', '.join(LABEL_COLUMNS)})", line=header_line,
                        content=delimiter.join(header))
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


def _label_folders(folder):
    """Subfolders holding ``*.txt`` files, one per label; ``unsup`` and hidden ones skipped."""
    return [sub for sub in sorted(folder.iterdir())
            if sub.is_dir() and sub.name not in IGNORED_FOLDERS
            and not sub.name.startswith(".") and any(sub.glob("*.txt"))]


def _read_label_folders(folder, encoding):
    if _is_split_root(folder):
        raise DataError(folder, "this folder holds train/ and test/ splits; pass it to the "
                        "app as --data (official split) or pick one split folder")
    examples = []
    for label_folder in _label_folders(folder):
        for text_file in sorted(label_folder.glob("*.txt")):
            text = read_text(text_file, encoding).strip()
            if not text:
                raise DataError(text_file, "empty file: expected the text of one example",
                                line=1)
            examples.append(Example(text, label_folder.name))
    return examples


def _is_split_root(folder):
    return all((folder / name).is_dir() and _label_folders(folder / name)
               for name in ("train", "test"))


# ---------------------------------------------------------------------------------------
# Demo data and splitting
# ---------------------------------------------------------------------------------------


def demo_path():
    """gensim's copy of the Pang & Lee sentences, found without importing gensim (1 s)."""
    spec = importlib.util.find_spec("gensim")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "test" / "test_data" / DEMO_FILENAME
            if candidate.is_file():
                return candidate
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise SeqappsError("the demo data comes with gensim, which is not installed; "
                           "install gensim or pass your data with --data PATH") from None
    return Path(datapath(DEMO_FILENAME))


def demo_examples():
    return read_examples(demo_path(), encoding=DEMO_ENCODING)


def embedding_corpus():
    """All 200 demo sentences: the offline corpus for the shared word2vec vectors."""
    return [example.text for example in demo_examples()]


def _shuffled(examples, rng):
    examples = list(examples)
    rng.shuffle(examples)
    return examples


def _count(total, fraction):
    """``round(total * fraction)``, but at least 1 when the fraction asks for any."""
    return max(1, round(total * fraction)) if fraction > 0 and total > 0 else 0


def _split_off(examples, size, path, name):
    """``(rest, part)`` with the first ``size`` of the (already shuffled) examples in ``part``."""
    if size >= len(examples):
        raise DataError(path, f"too few examples ({len(examples)}) to carve a {name} split "
                        f"of {size} and keep some for training")
    return examples[size:], examples[:size]


@dataclass
class _Sources:
    """Where each split comes from before splitting: examples plus the path to blame."""

    train: list
    train_path: Path
    validation: list = None
    validation_path: Path = None
    test: list = None
    test_path: Path = None
    description: str = ""
    is_demo: bool = False


def load_splits(data=None, *, test_data=None, validation_fraction=0.1, test_fraction=0.1,
                seed=1337, encoding="utf-8", limit=None):
    """Train/validation/test splits of ``data``, deterministic for a given ``seed``.

    ``data`` is None (the offline demo), a dataset name from :data:`DATASETS`, an aclImdb
    style folder with ``train/`` and ``test/``, a folder of ``*train*`` / ``*test*`` (and
    optionally ``*valid*`` / ``*dev*``) files, or one file / label-folder tree to split by the
    fractions. ``test_data`` replaces the test split. Every split is shuffled with
    ``random.Random(seed)``, so sorted sources (the IMDB CSV lists all negatives first) mix
    and the result does not depend on PYTHONHASHSEED.
    """
    check_split_fractions(validation_fraction, test_fraction)
    sources = _resolve(data, encoding)
    if test_data is not None:
        sources.test = read_examples(test_data, encoding)
        sources.test_path = Path(test_data)
        sources.description += f"; test data from {test_data}"
    train, validation, test = _shuffle_and_split(sources, random.Random(seed),
                                                 validation_fraction, test_fraction)
    if limit is not None:
        train, validation, test = _limit(train, validation, test, limit)
    labels = _check_labels(train, sources.train_path,
                           ((validation, sources.validation_path), (test, sources.test_path)))
    return Splits(train, validation, test, labels, sources.description, sources.is_demo)


def _shuffle_and_split(sources, rng, validation_fraction, test_fraction):
    """Shuffle every split; carve the ones no file provides from the shuffled train set.

    Fractions are of the whole source, so 200 examples split 160/20/20 by default.
    """
    train = _shuffled(sources.train, rng)
    total = len(train)
    if sources.test is not None:
        test = _shuffled(sources.test, rng)
    else:
        train, test = _split_off(train, _count(total, test_fraction), sources.train_path,
                                 "test")
        sources.test_path = sources.train_path
    if sources.validation is not None:
        validation = _shuffled(sources.validation, rng)
    else:
        train, validation = _split_off(train, _count(total, validation_fraction),
                                       sources.train_path, "validation")
        sources.validation_path = sources.train_path
    return train, validation, test


def _limit(train, validation, test, limit):
    if limit < 1:
        raise SeqappsError(f"limit must be at least 1, got {limit}")
    if limit >= len(train):
        return train, validation, test
    ratio = limit / len(train)

    def scaled(examples):
        return examples[:max(1, round(len(examples) * ratio))] if examples else examples

    return train[:limit], scaled(validation), scaled(test)


def _check_labels(train, train_path, others):
    labels = sorted({example.label for example in train})
    if len(labels) < 2:
        raise DataError(train_path, f"found {len(labels)} distinct label(s) {labels} in the "
                        "training data; a classifier needs at least 2")
    known = set(labels)
    for examples, path in others:
        for example in examples:
            if example.label not in known:
                raise DataError(path, f"label {example.label!r} never occurs in the training "
                                f"data (training labels: {', '.join(labels)})", line=example.line,
                                content=example.text)
    return labels


def _resolve(data, encoding):
    if data is None:
        return _Sources(demo_examples(), demo_path(), description=DEMO_SOURCE, is_demo=True)
    path = Path(data)
    if not path.exists() and str(data) in DATASETS:
        return _resolve_remote(DATASETS[str(data)], encoding)
    if path.is_dir():
        return _resolve_folder(path, encoding)
    if path.is_file():
        return _Sources(read_examples(path, encoding), path, description=f"{path} (split)")
    names = ", ".join(sorted(DATASETS))
    raise DataError(path, f"no such file or folder (or dataset name: {names})")


def _resolve_remote(dataset, encoding):
    root = fetch(dataset)
    folder = root / "aclImdb" if (root / "aclImdb").is_dir() else root
    sources = _resolve_folder(folder, encoding)
    sources.description = f"{dataset.name} ({sources.description})"
    return sources


def _resolve_folder(folder, encoding):
    if _is_split_root(folder):
        return _resolve_split_folders(folder, encoding)
    files = _split_files(folder)
    if files is not None:
        return _resolve_split_files(folder, files, encoding)
    if _label_folders(folder):
        return _Sources(read_examples(folder, encoding), folder,
                        description=f"{folder} (label folders, split)")
    raise DataError(folder, "found no data in this folder: expected train/ and test/ "
                    "subfolders, files named *train* and *test*, or one subfolder of .txt "
                    f"files per label ({ACCEPTED_FORMATS})")


def _resolve_split_folders(folder, encoding):
    sources = _Sources(read_examples(folder / "train", encoding), folder / "train",
                       test=read_examples(folder / "test", encoding), test_path=folder / "test",
                       description=f"{folder} (official train/test split)")
    for name in ("valid", "validation", "val", "dev"):
        candidate = folder / name
        if candidate.is_dir() and _label_folders(candidate):
            sources.validation = read_examples(candidate, encoding)
            sources.validation_path = candidate
            break
    return sources


VALIDATION_TOKENS = re.compile(r"(?:^|[^a-z])(valid|validation|val|dev)(?:[^a-z]|$)")


def _split_role(name):
    name = name.lower()
    if "train" in name:
        return "train"
    if "test" in name:
        return "test"
    if VALIDATION_TOKENS.search(name):
        return "validation"
    return None


def _split_files(folder):
    """``{"train": path, "test": path[, "validation": path]}`` or None when not that layout."""
    roles = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() == ".md":
            continue
        role = _split_role(path.name)
        if role is None:
            continue
        if role in roles:
            raise DataError(folder, f"more than one {role} file: {roles[role].name} and "
                            f"{path.name}; pass the files explicitly")
        roles[role] = path
    return roles if "train" in roles and "test" in roles else None


def _resolve_split_files(folder, files, encoding):
    names = " / ".join(files[role].name for role in ("train", "validation", "test")
                       if role in files)
    sources = _Sources(read_examples(files["train"], encoding), files["train"],
                       test=read_examples(files["test"], encoding), test_path=files["test"],
                       description=f"{names} in {folder}")
    if "validation" in files:
        sources.validation = read_examples(files["validation"], encoding)
        sources.validation_path = files["validation"]
    return sources
