"""Captions in COCO-style JSON: the official COCO annotation files and Karpathy's split files.

* COCO (``captions_train2014.json``)::

      {"images": [{"id": 391895, "file_name": "COCO_val2014_000000391895.jpg", ...}],
       "annotations": [{"image_id": 391895, "id": 770337, "caption": "A man with a red helmet ..."}]}

* Karpathy splits (``dataset_coco.json``, ``dataset_flickr8k.json``, ``dataset_flickr30k.json``)::

      {"images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg",
                   "split": "test", "sentences": [{"raw": "A man with ...", "tokens": [...]}]}]}

  ``filepath`` (COCO only) is the image's sub-folder, so the image is ``filepath/filename``.
  ``val`` becomes the dev split and ``restval`` (official validation images everyone trains
  on) the training split.

These files are usually one line long, so a bad entry is located by its place in the
document (``annotations[12]``), which finds it where a line number could not.
"""

import json
from pathlib import Path

from shared.datasets import read_text
from shared.errors import DataError

KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "dev", "test": "test"}
COCO_FORMS = ("expected a COCO annotation file {'images': [{'id', 'file_name'}], "
              "'annotations': [{'image_id', 'caption'}]} or a Karpathy split file "
              "{'images': [{'filename', 'split', 'sentences': [{'raw'}]}]}")
COCO_LAYOUT = "COCO captions JSON (images + annotations)"
KARPATHY_LAYOUT = "a Karpathy split JSON (images with their split and sentences)"


def _json_document(path):
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise DataError(path, f"invalid JSON: {error.msg} (column {error.colno})",
                        line=error.lineno) from None


def _entries(path, document, key):
    entries = document.get(key)
    if not isinstance(entries, list):
        raise DataError(path, f"'{key}' must be a list: {COCO_FORMS}")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DataError(path, f"{key}[{index}]: expected an object, got "
                            f"{type(entry).__name__}")
    return entries


def _field(path, where, entry, key, kinds):
    """``entry[key]``, refused when absent or not of ``kinds``; ``where`` (e.g.
    ``annotations[12]``) locates the entry."""
    if not isinstance(entry, dict) or key not in entry:
        raise DataError(path, f"{where}: missing key '{key}'")
    value = entry[key]
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise DataError(path, f"{where}: '{key}' has the wrong type "
                        f"({type(value).__name__})")
    return value


def _text_field(path, where, entry, key):
    value = _field(path, where, entry, key, str).strip()
    if not value:
        raise DataError(path, f"{where}: '{key}' is empty")
    return value


def _read_coco_annotations(path, document):
    names = {}
    for index, entry in enumerate(_entries(path, document, "images")):
        where = f"images[{index}]"
        image_id = _field(path, where, entry, "id", (int, str))
        if image_id in names:
            raise DataError(path, f"{where}: id {image_id!r} is used by an earlier image")
        names[image_id] = _text_field(path, where, entry, "file_name")
    captions = {}
    for index, entry in enumerate(_entries(path, document, "annotations")):
        where = f"annotations[{index}]"
        image_id = _field(path, where, entry, "image_id", (int, str))
        if image_id not in names:
            raise DataError(path, f"{where}: image_id {image_id!r} is not the id of any "
                            "entry in 'images'")
        caption = _text_field(path, where, entry, "caption")
        captions.setdefault(names[image_id], []).append(caption)
    return captions, dict.fromkeys(captions)


def _karpathy_split(path, where, entry):
    if "split" not in entry:
        return None
    split = _field(path, where, entry, "split", str)
    if split not in KARPATHY_SPLITS:
        raise DataError(path, f"{where}: unknown split {split!r}, expected one of "
                        f"{', '.join(KARPATHY_SPLITS)}")
    return KARPATHY_SPLITS[split]


def _karpathy_name(path, where, entry):
    """``filepath/filename`` when the entry has a ``filepath`` (COCO), else ``filename``."""
    name = _text_field(path, where, entry, "filename")
    if "filepath" in entry:
        return f"{_text_field(path, where, entry, 'filepath').rstrip('/')}/{name}"
    return name


def _read_karpathy(path, document):
    captions, splits = {}, {}
    for index, entry in enumerate(_entries(path, document, "images")):
        where = f"images[{index}]"
        name = _karpathy_name(path, where, entry)
        split = _karpathy_split(path, where, entry)
        if splits.get(name, split) != split:
            raise DataError(path, f"{where}: image {name!r} is in split {splits[name]!r} in "
                            f"an earlier entry and in {split!r} here")
        sentences = _field(path, where, entry, "sentences", list)
        texts = [_text_field(path, f"{where}.sentences[{number}]", sentence, "raw")
                 for number, sentence in enumerate(sentences)]
        if texts:
            captions.setdefault(name, []).extend(texts)
            splits[name] = split
    return captions, splits


def read_json_captions(path):
    """``(captions, splits, layout)`` of a COCO or Karpathy JSON file.

    ``captions`` is ``{image name: [captions]}``, ``splits`` ``{image name: split or None}``:
    Karpathy files carry their split, official annotation files none. Images without any
    caption are left out, as there is nothing to train or score on.
    """
    path = Path(path)
    document = _json_document(path)
    if isinstance(document, dict) and "annotations" in document:
        return (*_read_coco_annotations(path, document), COCO_LAYOUT)
    if isinstance(document, dict) and "images" in document:
        return (*_read_karpathy(path, document), KARPATHY_LAYOUT)
    raise DataError(path, COCO_FORMS)
