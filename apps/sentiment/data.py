"""Labelled texts for the sentiment classifier: the demo data, the sources, the splits.

Users bring data in the layouts it is distributed in (aclImdb, GLUE SST-2, Yelp/Amazon
polarity CSVs, fastText, their own CSV/TSV); :mod:`apps.sentiment.formats` detects each
file's layout and reports a malformed line with its file and line number.
:func:`load_splits` turns any of them into train/validation/test splits that are identical
on every run and machine for a given seed.

Without ``--data`` the app runs on the 200 Pang & Lee review sentences that gensim ships,
so that it works offline; it says clearly that this is demo data.
"""

import importlib.util
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from apps.sentiment.formats import (ACCEPTED_FORMATS, Example, UnlabelledError, is_split_root, label_folders,
                                    read_examples)
from shared.datasets import RemoteDataset, check_split_fractions, fetch
from shared.errors import DataError, SeqappsError

__all__ = ["DATASETS", "IMDB", "Example", "Splits", "demo_examples", "demo_path", "embedding_corpus",
           "load_splits", "read_examples"]

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
                seed=1337, encoding="utf-8", limit=None, log=print):
    """Train/validation/test splits of ``data``, deterministic for a given ``seed``.

    ``data`` is None (the offline demo), a dataset name from :data:`DATASETS`, an aclImdb
    style folder with ``train/`` and ``test/``, a folder of ``*train*`` / ``*test*`` (and
    optionally ``*valid*`` / ``*dev*``) files, or one file / label-folder tree to split by the
    fractions. ``test_data`` replaces the test split. Every split is shuffled with
    ``random.Random(seed)``, so sorted sources (the IMDB CSV lists all negatives first) mix
    and the result does not depend on PYTHONHASHSEED. Each file's detected layout goes to
    ``log`` (None: silent).
    """
    check_split_fractions(validation_fraction, test_fraction)

    def read(path):
        return read_examples(path, encoding, log)

    sources = _resolve(data, read)
    if test_data is not None:
        sources.test = read(test_data)
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


def _resolve(data, read):
    if data is None:
        return _Sources(demo_examples(), demo_path(), description=DEMO_SOURCE, is_demo=True)
    path = Path(data)
    if not path.exists() and str(data) in DATASETS:
        return _resolve_remote(DATASETS[str(data)], read)
    if path.is_dir():
        return _resolve_folder(path, read)
    if path.is_file():
        return _Sources(read(path), path, description=f"{path} (split)")
    names = ", ".join(sorted(DATASETS))
    raise DataError(path, f"no such file or folder (or dataset name: {names})")


def _resolve_remote(dataset, read):
    root = fetch(dataset)
    folder = root / "aclImdb" if (root / "aclImdb").is_dir() else root
    sources = _resolve_folder(folder, read)
    sources.description = f"{dataset.name} ({sources.description})"
    return sources


def _resolve_folder(folder, read):
    if is_split_root(folder):
        return _resolve_split_folders(folder, read)
    files = _split_files(folder)
    if files is not None:
        return _resolve_split_files(folder, files, read)
    if label_folders(folder):
        return _Sources(read(folder), folder,
                        description=f"{folder} (label folders, split)")
    raise DataError(folder, "found no data in this folder: expected train/ and test/ "
                    "subfolders, files named *train* and *test*, or one subfolder of .txt "
                    f"files per label ({ACCEPTED_FORMATS})")


def _resolve_split_folders(folder, read):
    sources = _Sources(read(folder / "train"), folder / "train",
                       test=read(folder / "test"), test_path=folder / "test",
                       description=f"{folder} (official train/test split)")
    for name in ("valid", "validation", "val", "dev"):
        candidate = folder / name
        if candidate.is_dir() and label_folders(candidate):
            sources.validation = read(candidate)
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


def _resolve_split_files(folder, files, read):
    names = " / ".join(files[role].name for role in ("train", "validation", "test")
                       if role in files)
    sources = _Sources(read(files["train"]), files["train"], description=f"{names} in {folder}")
    if "validation" in files:
        sources.validation = read(files["validation"])
        sources.validation_path = files["validation"]
    try:
        sources.test, sources.test_path = read(files["test"]), files["test"]
    except UnlabelledError:
        if sources.validation is None:
            raise
        _dev_as_test(sources, files)
    return sources


def _dev_as_test(sources, files):
    """GLUE hides its test labels: the labelled dev file becomes the test set, and
    validation is carved from train, as everyone reports GLUE results on dev."""
    sources.test, sources.test_path = sources.validation, sources.validation_path
    sources.validation = sources.validation_path = None
    sources.description += (f"; {files['test'].name} has no labels, so {files['validation'].name} is the "
                            "test set and validation is carved from the training data")
