"""Images and their captions: finding a data set's files, loading them, splitting by image.

A data set is a captions file and an image folder. The captions file may be in any layout
caption corpora are distributed in (the Flickr8k / Flickr30k token file, the Kaggle
``captions.txt`` CSV, Flickr30k's ``results.csv``, COCO or Karpathy JSON), read by
:mod:`apps.captioning.formats`, which logs the layout and reports a malformed line as
``file:line``. :func:`load_captions` finds both by name, or the image folder by where the
listed images are. Images listed but not on disk are skipped and counted rather than
fatal, because public copies are often partial; a folder where *no* listed image exists is
an error, since it is almost surely the wrong folder.

Splits are always made by image, never by caption: the five captions of one photo in two
splits would leak the test set into training. :func:`make_splits` follows the official
split lists when there are any and is deterministic for a given seed otherwise.

Without data the app runs on a generated data set of coloured shapes
(:func:`apps.captioning.demo.demo_dataset`), so it works offline and can be learnt to
near-perfect exact match; it says clearly that this is demo data.
"""

import random
from dataclasses import dataclass, replace
from pathlib import Path

from apps.captioning.demo import demo_dataset
from apps.captioning.formats import (SPLIT_LISTS, SPLIT_NAMES, check_file, content_lines, read_caption_csv,
                                     read_caption_file, read_coco_json, read_flickr_token, read_split_list)
from shared.datasets import check_split_fractions, split_size
from shared.errors import DataError, SeqappsError

__all__ = ["CaptionData", "ImageCaptions", "Splits", "load_captions", "make_splits", "read_caption_csv",
           "read_coco_json", "read_flickr_token", "read_split_list"]

CAPTION_FILE_NAMES = ("Flickr8k.token.txt", "results_20130124.token", "captions.txt", "captions.csv",
                      "results.csv")
IMAGE_FOLDER_NAMES = ("Flicker8k_Dataset", "Flickr8k_Dataset", "flickr30k-images", "flickr30k_images", "Images",
                      "images")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CAPTION_FILES_LOOKED_FOR = (
    f"{', '.join(CAPTION_FILE_NAMES)} (each optionally .gz), exactly one "
    "*.token.txt / *.token[.gz] or exactly one *.json")
IMAGE_FOLDERS_LOOKED_FOR = (f"{', '.join(IMAGE_FOLDER_NAMES)}, .jpg/.jpeg/.png files in the "
                            "folder itself, or a folder beside the captions holding the listed images")
# How many listed images are looked up when searching for the folder that holds them.
IMAGES_PROBED = 20

MISSING_SHOWN = 5


@dataclass(frozen=True)
class ImageCaptions:
    """One image and all its captions; ``split`` is None when no split list names it."""

    name: str
    path: Path
    captions: tuple
    split: str | None = None


@dataclass
class CaptionData:
    """The images found on disk, the listed ones that were not, and where they came from."""

    images: list
    missing: list
    source: str
    caption_file: Path
    image_dir: Path
    is_demo: bool = False


@dataclass
class Splits:
    """Train/validation/test images; ``note`` tells the log how they were chosen."""

    train: list
    validation: list
    test: list
    note: str


# ---------------------------------------------------------------------------------------
# Finding and loading a data set
# ---------------------------------------------------------------------------------------


def _first_existing(folder, names):
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _only_match(folder, patterns, what):
    matches = sorted(path for pattern in patterns for path in folder.glob(pattern)
                     if path.is_file())
    if len(matches) > 1:
        raise SeqappsError(f"{folder}: found {len(matches)} {what} files "
                           f"({', '.join(path.name for path in matches)}): pass the one "
                           "to use as the captions file")
    return matches[0] if matches else None


def _find_caption_file(folder):
    found = (_first_existing(folder, CAPTION_FILE_NAMES)
             or _only_match(folder, ("*.token.txt", "*.token.txt.gz", "*.token", "*.token.gz"), "*.token")
             or _only_match(folder, ("*.json",), "*.json"))
    if found is None:
        raise SeqappsError(f"{folder}: no captions file found; looked for "
                           f"{CAPTION_FILES_LOOKED_FOR}")
    return found


def _holds_images(folder):
    return any(path.suffix.lower() in IMAGE_SUFFIXES for path in folder.iterdir())


def _subfolders(folder):
    return sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))


def _image_dir_candidates(folder):
    """``(named, around)``: folders found by name (or holding images), then every folder near
    the captions: the folder itself, its subfolders, and for COCO's ``annotations/`` the
    folders beside it (``train2014/``)."""
    named = [folder / name for name in IMAGE_FOLDER_NAMES if (folder / name).is_dir()]
    if _holds_images(folder):
        named.append(folder)
    around = [folder] + _subfolders(folder)
    if folder.name.lower() == "annotations":
        around += [folder.parent] + _subfolders(folder.parent)
    return named, around


def _find_image_dir(folder, names):
    """The first candidate folder holding one of the first listed images; else the first
    folder found by name, which the missing-image check then reports."""
    named, around = _image_dir_candidates(folder)
    probe = list(names)[:IMAGES_PROBED]
    for candidate in dict.fromkeys(named + around):
        if any((candidate / name).is_file() for name in probe):
            return candidate
    if named:
        return named[0]
    raise SeqappsError(f"{folder}: no image folder found; looked for "
                       f"{IMAGE_FOLDERS_LOOKED_FOR}")


def _locate(data, captions, images):
    """``(caption_file, folder to search for images, image_dir or None)``: explicit paths win
    over what the folder holds."""
    base = None
    if data is not None:
        data = Path(data)
        if not data.exists():
            raise DataError(data, "not found: expected a folder holding a captions file and "
                            "an image folder (e.g. Flickr8k.token.txt and Flicker8k_Dataset/)")
        base = data if data.is_dir() else data.parent
        if captions is None and data.is_file():
            captions = data
    caption_file = Path(captions) if captions is not None else _find_caption_file(base)
    check_file(caption_file)
    if images is not None and not Path(images).is_dir():
        raise DataError(images, "image folder not found")
    return caption_file, base if base is not None else caption_file.parent, images and Path(images)


def _split_lists(folder):
    """``({image name: split}, [list files])`` from the Flickr8k split lists in ``folder``."""
    splits, origin, used = {}, {}, []
    for split, filename in SPLIT_LISTS.items():
        path = folder / filename
        if not path.is_file():
            continue
        used.append(path)
        for number, line in content_lines(path):
            name = line.strip()
            if splits.get(name, split) != split:
                raise DataError(path, f"image {name!r} is also in {origin[name].name}",
                                line=number, content=name)
            splits[name], origin[name] = split, path
    return splits, used


def _read_captions(caption_file, log):
    """``(captions, splits, description)`` whatever the layout of ``caption_file``."""
    captions, splits, layout = read_caption_file(caption_file, log)
    if splits is not None and any(splits.values()):
        return captions, splits, f"{layout}, splits from the JSON"
    listed, used = _split_lists(caption_file.parent)
    splits = {name: listed.get(name) for name in captions}
    how = f"splits from {', '.join(path.name for path in used)}" if used else "no split lists"
    return captions, splits, f"{layout}, {how}"


def _examples(names):
    return ", ".join(repr(name) for name in names[:MISSING_SHOWN])


def _check_found(caption_file, image_dir, captions, images, missing, strict):
    if not captions:
        raise DataError(caption_file, "no captions found")
    if not images:
        raise SeqappsError(
            f"none of the {len(captions)} images listed in {caption_file} is in {image_dir} "
            f"(looked for e.g. {image_dir / missing[0]} and {image_dir / missing[-1]}): "
            "is this the right image folder?")
    if strict and missing:
        raise SeqappsError(
            f"{len(missing)} image(s) listed in {caption_file} are not in {image_dir}, e.g. "
            f"{_examples(missing)}")


def load_captions(data=None, *, captions=None, images=None, strict=False, demo_images=3000, seed=1337,
                  log=print):
    """The images of a captioning data set that exist on disk, with their captions.

    ``data`` is a folder (the captions file and image folder are found by name, see
    :data:`CAPTION_FILES_LOOKED_FOR` and :data:`IMAGE_FOLDERS_LOOKED_FOR`) or a captions
    file; ``captions`` and ``images`` override what is found. Listed images missing from
    disk are counted in ``missing`` and skipped, or refused with ``strict=True``. With
    neither ``data`` nor ``captions`` this is the generated demo data set (``demo_images``
    scenes drawn with ``seed``). The captions file's layout, and any row skipped in it,
    go to ``log``.
    """
    if data is None and captions is None:
        if images is not None:
            raise SeqappsError("an image folder needs its captions: pass data or captions too")
        return _load_demo(demo_images, seed)
    caption_file, folder, image_dir = _locate(data, captions, images)
    by_name, splits, description = _read_captions(caption_file, log)
    image_dir = image_dir or _find_image_dir(folder, by_name)
    found, missing = [], []
    for name, texts in by_name.items():
        path = image_dir / name
        if path.is_file():
            found.append(ImageCaptions(name, path, tuple(texts), splits.get(name)))
        else:
            missing.append(name)
    _check_found(caption_file, image_dir, by_name, found, missing, strict)
    total = sum(len(texts) for texts in by_name.values())
    source = (f"{caption_file} ({description}; {total} captions of {len(by_name)} images), "
              f"images in {image_dir}: {len(found)} found, {len(missing)} missing")
    return CaptionData(found, missing, source, caption_file, image_dir)


def _load_demo(count, seed):
    folder = demo_dataset(count=count, seed=seed)
    data = load_captions(folder, log=None)
    source = (f"DEMO DATA: {len(data.images)} generated scenes of coloured shapes in {folder} "
              "(pass --data for real captions)")
    return replace(data, source=source, is_demo=True)


# ---------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------


def _shuffled_by_name(images, seed):
    """The images in an order that depends only on their names and ``seed``."""
    ordered = sorted(images, key=lambda image: image.name)
    random.Random(seed).shuffle(ordered)
    return ordered


def _in_order(images, chosen):
    """The images whose name is in ``chosen``, in the order of ``images``."""
    names = {image.name for image in chosen}
    return [image for image in images if image.name in names]


def _carve(images, fraction, seed):
    """``(rest, carved)``: a seeded ``fraction`` of ``images`` split off, both in order."""
    carved = _shuffled_by_name(images, seed)[:split_size(len(images), fraction)]
    names = {image.name for image in carved}
    return [image for image in images if image.name not in names], _in_order(images, carved)


def _random_splits(images, seed, validation_fraction, test_fraction):
    shuffled = _shuffled_by_name(images, seed)
    test_size = split_size(len(images), test_fraction)
    validation_size = split_size(len(images), validation_fraction)
    test = _in_order(images, shuffled[:test_size])
    validation = _in_order(images, shuffled[test_size:test_size + validation_size])
    train = _in_order(images, shuffled[test_size + validation_size:])
    note = (f"no split lists: {len(test)} test and {len(validation)} validation images "
            f"({test_fraction:.0%} and {validation_fraction:.0%}) picked at random by image "
            f"(seed {seed}) from {len(images)}")
    return Splits(train, validation, test, note)


def _labelled_splits(images, seed, validation_fraction):
    by_split = {name: [image for image in images if image.split == name]
                for name in SPLIT_NAMES}
    train, dev, test = by_split["train"], by_split["dev"], by_split["test"]
    if not train:
        raise SeqappsError("no available image is in the train split")
    carved = f"{validation_fraction:.0%} of the train images, seed {seed}"
    if not test:
        train, validation = _carve(train, validation_fraction, seed)
        test = dev
        note = (f"no test-split image is available, so test = the {len(dev)} dev images and "
                f"validation = {len(validation)} images ({carved}), removed from train")
    elif not dev:
        train, validation = _carve(train, validation_fraction, seed)
        note = (f"train and test as listed; no dev image is available, so "
                f"validation = {len(validation)} images ({carved}), removed from train")
    else:
        validation = dev
        note = "train, dev (as validation) and test as listed"
    unlabelled = sum(image.split is None for image in images)
    if unlabelled:
        note += f"; {unlabelled} image(s) in no split list left out"
    return Splits(train, validation, test, note)


def make_splits(data, *, seed=1337, validation_fraction=0.1, test_fraction=0.1):
    """Train/validation/test by image, the same for the same data and seed on any machine.

    Images with a known split keep it (dev is the validation set); when no test image is
    available, as in a copy with the official test images held out, dev becomes the test
    set and validation is carved from train. Without any known split the images are cut
    at random by the fractions. ``data`` is a :class:`CaptionData` or a list of images.
    """
    check_split_fractions(validation_fraction, test_fraction)
    images = list(getattr(data, "images", data))
    if any(image.split is not None for image in images):
        return _labelled_splits(images, seed, validation_fraction)
    return _random_splits(images, seed, validation_fraction, test_fraction)
