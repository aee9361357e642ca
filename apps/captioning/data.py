"""Images and their captions: reading the common caption formats and splitting by image.

Flickr8k is passed around in several shapes: the original ``Flickr8k.token.txt``
(``<image>#<n><TAB><caption>``, some copies with spaces instead of the tab), the Kaggle
``captions.txt`` CSV, and COCO-style JSON (the official annotation files and Karpathy's
split files). :func:`load_captions` finds the captions file and the image folder, reads any
of them, and reports a malformed line as ``file:line``. Images listed but not on disk are
skipped and counted rather than fatal, because public copies are often partial; a folder
where *no* listed image exists is an error, since it is almost surely the wrong folder.

Splits are always made by image, never by caption: the five captions of one photo in two
splits would leak the test set into training. :func:`make_splits` follows the official
split lists when there are any and is deterministic for a given seed otherwise.

Without data the app runs on a generated data set of coloured shapes
(:func:`demo_dataset`), so it works offline and can be learnt to near-perfect exact match;
it says clearly that this is demo data.
"""

import csv
import json
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shared.atomic import write_folder
from shared.datasets import check_split_fractions, csv_rows, decode_error, iter_lines, open_text, read_text
from shared.errors import DataError, SeqappsError
from shared.paths import cache_dir

SPLIT_NAMES = ("train", "dev", "test")
SPLIT_LISTS = {
    "train": "Flickr_8k.trainImages.txt",
    "dev": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
# Karpathy's "restval" images are official validation images that everyone trains on.
KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "dev", "test": "test"}

CAPTION_FILE_NAMES = ("Flickr8k.token.txt", "captions.txt", "captions.csv")
IMAGE_FOLDER_NAMES = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images", "images")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CAPTION_FILES_LOOKED_FOR = (
    "Flickr8k.token.txt, captions.txt, captions.csv (each optionally .gz), exactly one "
    "*.token.txt[.gz] or exactly one *.json")
IMAGE_FOLDERS_LOOKED_FOR = (f"{', '.join(IMAGE_FOLDER_NAMES)} or .jpg/.jpeg/.png files in the "
                            "folder itself")

TOKEN_FORM = "expected '<image>#<n><TAB><caption>'"
# Lazy name: the key ends at the first '#<digits>' followed by a tab or spaces, so a caption
# holding '#1 ' is still caption text. The name never holds a tab.
TOKEN_LINE = re.compile(r"(?P<name>[^\t]+?)#(?P<number>\d+)[ \t]+(?P<caption>.*)")
CSV_COLUMNS = ("image", "caption")
COCO_FORMS = ("expected a COCO annotation file {'images': [{'id', 'file_name'}], "
              "'annotations': [{'image_id', 'caption'}]} or a Karpathy split file "
              "{'images': [{'filename', 'split', 'sentences': [{'raw'}]}]}")

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
# Readers
# ---------------------------------------------------------------------------------------


def _strip_gz(name):
    return name[:-3] if name.lower().endswith(".gz") else name


def _check_file(path):
    if path.is_dir():
        raise DataError(path, "is a folder: expected a captions file")
    if not path.is_file():
        raise DataError(path, "file not found")


def _content_lines(path):
    """``(number, line)`` for every line that is not blank."""
    return ((number, line) for number, line in iter_lines(path) if line.strip())


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
    _check_file(path)
    captions = {}
    for number, line in _content_lines(path):
        name, caption = _parse_token_line(path, number, line)
        captions.setdefault(name, []).append(caption)
    return captions


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
    _check_file(path)
    try:
        with open_text(path, newline="") as file:
            return _csv_captions(path, csv.reader(file))
    except UnicodeDecodeError:
        raise decode_error(path) from None


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
    """``entry[key]``, refused when absent or not of ``kinds``; JSON has no useful line per
    entry, so ``where`` (e.g. ``annotations[12]``) locates it."""
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


def _read_karpathy(path, document):
    captions, splits = {}, {}
    for index, entry in enumerate(_entries(path, document, "images")):
        where = f"images[{index}]"
        name = _text_field(path, where, entry, "filename")
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


def read_coco_json(path):
    """``({image name: [captions]}, {image name: split or None})`` from COCO-style JSON.

    Karpathy split files carry their split (``val`` becomes ``"dev"``, ``restval``
    ``"train"``); official annotation files carry none. Images without any caption are left
    out, as there is nothing to train or score on.
    """
    path = Path(path)
    _check_file(path)
    document = _json_document(path)
    if isinstance(document, dict) and "annotations" in document:
        return _read_coco_annotations(path, document)
    if isinstance(document, dict) and "images" in document:
        return _read_karpathy(path, document)
    raise DataError(path, COCO_FORMS)


def _split_list_lines(path):
    return ((number, line.strip()) for number, line in _content_lines(path))


def read_split_list(path):
    """The image names of a Flickr8k split list, one per line, in file order."""
    path = Path(path)
    _check_file(path)
    return [name for _, name in _split_list_lines(path)]


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
             or _only_match(folder, ("*.token.txt", "*.token.txt.gz"), "*.token.txt")
             or _only_match(folder, ("*.json",), "*.json"))
    if found is None:
        raise SeqappsError(f"{folder}: no captions file found; looked for "
                           f"{CAPTION_FILES_LOOKED_FOR}")
    return found


def _holds_images(folder):
    return any(path.suffix.lower() in IMAGE_SUFFIXES for path in folder.iterdir())


def _find_image_dir(folder):
    for name in IMAGE_FOLDER_NAMES:
        if (folder / name).is_dir():
            return folder / name
    if _holds_images(folder):
        return folder
    raise SeqappsError(f"{folder}: no image folder found; looked for "
                       f"{IMAGE_FOLDERS_LOOKED_FOR}")


def _locate(data, captions, images):
    """``(caption_file, image_dir)``: explicit paths win over what the folder holds."""
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
    _check_file(caption_file)
    image_dir = Path(images) if images is not None else _find_image_dir(
        base if base is not None else caption_file.parent)
    if not image_dir.is_dir():
        raise DataError(image_dir, "image folder not found")
    return caption_file, image_dir


def _looks_like_csv_header(line):
    if "\t" in line or "," not in line:
        return False
    names = {name.strip().lower() for name in next(csv.reader([line]))}
    return bool(names & set(CSV_COLUMNS))


def _caption_format(path):
    name = _strip_gz(path.name).lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    first = next((line for _, line in _content_lines(path)), None)
    return "csv" if first is not None and _looks_like_csv_header(first) else "token"


def _split_lists(folder):
    """``({image name: split}, [list files])`` from the Flickr8k split lists in ``folder``."""
    splits, origin, used = {}, {}, []
    for split, filename in SPLIT_LISTS.items():
        path = folder / filename
        if not path.is_file():
            continue
        used.append(path)
        for number, name in _split_list_lines(path):
            if splits.get(name, split) != split:
                raise DataError(path, f"image {name!r} is also in {origin[name].name}",
                                line=number, content=name)
            splits[name], origin[name] = split, path
    return splits, used


def _read_captions(caption_file):
    """``(captions, splits, description)`` whatever the format of ``caption_file``."""
    kind = _caption_format(caption_file)
    if kind == "json":
        captions, splits = read_coco_json(caption_file)
        if any(splits.values()):
            return captions, splits, "JSON, splits from the JSON"
    elif kind == "csv":
        captions = read_caption_csv(caption_file)
    else:
        captions = read_flickr_token(caption_file)
    listed, used = _split_lists(caption_file.parent)
    splits = {name: listed.get(name) for name in captions}
    how = f"splits from {', '.join(path.name for path in used)}" if used else "no split lists"
    return captions, splits, f"{kind}, {how}"


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


def load_captions(data=None, *, captions=None, images=None, strict=False, demo_images=3000, seed=1337):
    """The images of a captioning data set that exist on disk, with their captions.

    ``data`` is a folder (the captions file and image folder are found by name, see
    :data:`CAPTION_FILES_LOOKED_FOR` and :data:`IMAGE_FOLDERS_LOOKED_FOR`) or a captions
    file; ``captions`` and ``images`` override what is found. Listed images missing from
    disk are counted in ``missing`` and skipped, or refused with ``strict=True``. With
    neither ``data`` nor ``captions`` this is the generated demo data set (``demo_images``
    scenes drawn with ``seed``).
    """
    if data is None and captions is None:
        if images is not None:
            raise SeqappsError("an image folder needs its captions: pass data or captions too")
        return _load_demo(demo_images, seed)
    caption_file, image_dir = _locate(data, captions, images)
    by_name, splits, description = _read_captions(caption_file)
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
    data = load_captions(folder)
    source = (f"DEMO DATA: {len(data.images)} generated scenes of coloured shapes in {folder} "
              "(pass --data for real captions)")
    return replace(data, source=source, is_demo=True)


# ---------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------


def _count(total, fraction):
    """``round(total * fraction)``, but at least 1 when asked for any and 3+ items exist."""
    if fraction <= 0:
        return 0
    return max(1, round(total * fraction)) if total >= 3 else round(total * fraction)


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
    carved = _shuffled_by_name(images, seed)[:_count(len(images), fraction)]
    names = {image.name for image in carved}
    return [image for image in images if image.name not in names], _in_order(images, carved)


def _random_splits(images, seed, validation_fraction, test_fraction):
    shuffled = _shuffled_by_name(images, seed)
    test_size = _count(len(images), test_fraction)
    validation_size = _count(len(images), validation_fraction)
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


# ---------------------------------------------------------------------------------------
# The generated demo data set
# ---------------------------------------------------------------------------------------

DEMO_VERSION = "demo-v1"
DEMO_SHAPES = ("circle", "square", "triangle")
DEMO_COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "yellow": (240, 200, 20),
}
# Diameter ranges in pixels for a 64-pixel image; other sizes scale them.
DEMO_SIZES = {"small": (10, 12), "large": (20, 24)}
DEMO_REFERENCE_SIZE = 64
DEMO_RELATIONS = {"horizontal": "left of", "vertical": "above"}
ONE_SHAPE_FRACTION = 0.25
MIN_DISTANCE = 0.4  # of the image size, between centres along the relation's axis
MAX_OFFSET = 0.1  # of the image size, between centres across it
MARGIN = 1
BACKGROUND_GREY = 200
BACKGROUND_NOISE = 12
DEMO_SPLIT_FRACTION = 0.1
MIN_DEMO_SIZE = 32
PLACEMENT_TRIES = 10_000
DEMO_SHAPES_FILE = "shapes.tsv"
DEMO_TOKEN_FILE = "Flickr8k.token.txt"

DEMO_GRAMMAR = """\
caption  := phrase | phrase " left of " phrase | phrase " above " phrase
phrase   := "a " size " " colour " " shape
size     := "small" | "large"
colour   := "red" | "green" | "blue" | "yellow"
shape    := "circle" | "square" | "triangle"
"""


@dataclass(frozen=True)
class _Shape:
    """One drawn shape; ``box`` is ``(x0, y0, x1, y1)`` in pixels, inclusive."""

    size: str
    colour: str
    shape: str
    box: tuple

    @property
    def phrase(self):
        return f"a {self.size} {self.colour} {self.shape}"

    def centre(self, axis):
        return (self.box[axis] + self.box[axis + 2]) / 2


def _diameter(rng, size_name, image_size):
    low, high = DEMO_SIZES[size_name]
    scale = image_size / DEMO_REFERENCE_SIZE
    return rng.randint(round(low * scale), round(high * scale))


def _attributes(rng):
    return rng.choice(tuple(DEMO_SIZES)), rng.choice(tuple(DEMO_COLOURS)), rng.choice(DEMO_SHAPES)


def _box(corner, diameter):
    return (corner[0], corner[1], corner[0] + diameter - 1, corner[1] + diameter - 1)


def _random_corner(rng, image_size, diameter):
    return [rng.randint(MARGIN, image_size - MARGIN - diameter) for _ in range(2)]


def _separated(first, second):
    """Whether the boxes leave at least one background pixel between them."""
    return (first[2] < second[0] - 1 or second[2] < first[0] - 1
            or first[3] < second[1] - 1 or second[3] < first[1] - 1)


def _valid_pair(shapes, image_size, axis):
    along = abs(shapes[0].centre(axis) - shapes[1].centre(axis))
    across = abs(shapes[0].centre(1 - axis) - shapes[1].centre(1 - axis))
    inside = all(MARGIN <= value <= image_size - 1 - MARGIN
                 for shape in shapes for value in shape.box)
    return (inside and along >= MIN_DISTANCE * image_size
            and across <= MAX_OFFSET * image_size and _separated(shapes[0].box, shapes[1].box))


def _place_pair(rng, attributes, image_size, axis):
    """Two shapes ``axis`` apart (0: side by side, 1: stacked), first the left/top one.

    The second centre is drawn near the first across the axis, so few tries are wasted.
    """
    diameters = [_diameter(rng, attribute[0], image_size) for attribute in attributes]
    for _ in range(PLACEMENT_TRIES):
        first = _random_corner(rng, image_size, diameters[0])
        second = [0, 0]
        second[axis] = rng.randint(MARGIN, image_size - MARGIN - diameters[1])
        centre = first[1 - axis] + (diameters[0] - 1) / 2
        offset = rng.uniform(-MAX_OFFSET, MAX_OFFSET) * image_size
        second[1 - axis] = round(centre + offset - (diameters[1] - 1) / 2)
        shapes = [_Shape(*attribute, _box(corner, diameter)) for attribute, corner, diameter
                  in zip(attributes, (first, second), diameters)]
        if _valid_pair(shapes, image_size, axis):
            return sorted(shapes, key=lambda shape: shape.centre(axis))
    raise RuntimeError(f"could not place two shapes in a {image_size}-pixel image")


def _demo_scene(rng, image_size):
    """``(caption, shapes)`` for one scene; the shapes are in caption order."""
    first = _attributes(rng)
    if rng.random() < ONE_SHAPE_FRACTION:
        diameter = _diameter(rng, first[0], image_size)
        shape = _Shape(*first, _box(_random_corner(rng, image_size, diameter), diameter))
        return shape.phrase, [shape]
    second = _attributes(rng)
    while second == first:
        second = _attributes(rng)
    arrangement = rng.choice(tuple(DEMO_RELATIONS))
    axis = 0 if arrangement == "horizontal" else 1
    shapes = _place_pair(rng, (first, second), image_size, axis)
    caption = f"{shapes[0].phrase} {DEMO_RELATIONS[arrangement]} {shapes[1].phrase}"
    return caption, shapes


def _draw(draw, shape):
    colour = DEMO_COLOURS[shape.colour]
    x0, y0, x1, y1 = shape.box
    if shape.shape == "circle":
        draw.ellipse(shape.box, fill=colour)
    elif shape.shape == "square":
        draw.rectangle(shape.box, fill=colour)
    else:
        draw.polygon([((x0 + x1) / 2, y0), (x0, y1), (x1, y1)], fill=colour)


def _render(shapes, image_size, noise):
    """The scene on a light grey background with per-pixel noise, so no pixel of the
    background is a constant the model could lean on."""
    grey = BACKGROUND_GREY + noise.integers(-BACKGROUND_NOISE, BACKGROUND_NOISE + 1,
                                            (image_size, image_size, 3))
    image = Image.fromarray(grey.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for shape in shapes:
        _draw(draw, shape)
    return image


def _demo_name(index, count):
    return f"scene_{index:0{max(5, len(str(count - 1)))}d}.png"


def _demo_splits(names, rng):
    order = list(names)
    rng.shuffle(order)
    test_size = _count(len(order), DEMO_SPLIT_FRACTION)
    dev_size = _count(len(order), DEMO_SPLIT_FRACTION)
    return {"test": sorted(order[:test_size]),
            "dev": sorted(order[test_size:test_size + dev_size]),
            "train": sorted(order[test_size + dev_size:])}


def _demo_readme(count, size, seed, splits):
    scale = size / DEMO_REFERENCE_SIZE
    sizes = ", ".join(f"{name} {round(low * scale)}-{round(high * scale)} px across"
                      for name, (low, high) in DEMO_SIZES.items())
    colours = ", ".join(f"{name} {rgb}" for name, rgb in DEMO_COLOURS.items())
    return f"""# Generated demo data for the captioning app ({DEMO_VERSION})

This is **generated demo data**, not real photographs: {count} scenes of coloured shapes
drawn by `apps/captioning/data.py` (`write_demo_dataset(count={count}, size={size},
seed={seed})`), so that the app runs offline. Regenerating with the same parameters gives
the same files.

## Grammar

```
{DEMO_GRAMMAR}```

- {ONE_SHAPE_FRACTION:.0%} of the scenes hold one shape, the others two: side by side
  ("left of", the left shape first; centres at least {MIN_DISTANCE:.0%} of the width apart
  horizontally and at most {MAX_OFFSET:.0%} vertically) or stacked ("above", the top shape
  first; the same with the axes swapped). Two shapes never overlap and never share all of
  size, colour and shape.
- sizes: {sizes}; colours (RGB): {colours}.
- background: grey {BACKGROUND_GREY} with uniform per-pixel noise of +-{BACKGROUND_NOISE}.

## Files

- `images/scene_*.png`: {size}x{size} RGB PNG.
- `{DEMO_TOKEN_FILE}`: one caption per image, `<image>#0<TAB><caption>`.
- `Flickr_8k.trainImages.txt`, `Flickr_8k.devImages.txt`, `Flickr_8k.testImages.txt`:
  {len(splits["train"])} / {len(splits["dev"])} / {len(splits["test"])} images.
- `{DEMO_SHAPES_FILE}`: every drawn shape, `image, order, size, colour, shape, x0, y0, x1,
  y1` (pixels, inclusive), the shapes in caption order.
"""


def _write_demo_files(folder, count, size, seed):
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    (folder / "images").mkdir()
    names, captions = [], []
    shape_rows = ["image\torder\tsize\tcolour\tshape\tx0\ty0\tx1\ty1\n"]
    for index in range(count):
        name = _demo_name(index, count)
        caption, shapes = _demo_scene(rng, size)
        _render(shapes, size, noise).save(folder / "images" / name, format="PNG")
        names.append(name)
        captions.append(f"{name}#0\t{caption}\n")
        shape_rows.extend(f"{name}\t{order}\t{shape.size}\t{shape.colour}\t{shape.shape}\t"
                          + "\t".join(map(str, shape.box)) + "\n"
                          for order, shape in enumerate(shapes, start=1))
    splits = _demo_splits(names, rng)
    (folder / DEMO_TOKEN_FILE).write_text("".join(captions), encoding="utf-8")
    (folder / DEMO_SHAPES_FILE).write_text("".join(shape_rows), encoding="utf-8")
    for split, filename in SPLIT_LISTS.items():
        (folder / filename).write_text("".join(f"{name}\n" for name in splits[split]),
                                       encoding="utf-8")
    (folder / "README.md").write_text(_demo_readme(count, size, seed, splits), encoding="utf-8")


def _check_demo_parameters(count, size):
    if not isinstance(count, int) or count < 1:
        raise SeqappsError(f"the demo data set needs at least 1 image, got count={count!r}")
    if not isinstance(size, int) or size < MIN_DEMO_SIZE:
        raise SeqappsError(f"demo images must be at least {MIN_DEMO_SIZE} pixels wide so the "
                           f"small shapes stay recognisable, got size={size!r}")


def write_demo_dataset(folder, *, count=3000, size=64, seed=1337):
    """Draw ``count`` scenes into ``folder`` in the Flickr8k layout and return ``folder``.

    Each caption is fully determined by its picture, so a model can learn the data set to
    near-perfect exact match. The grammar (also in the README written beside the images)::

        caption  := phrase | phrase " left of " phrase | phrase " above " phrase
        phrase   := "a " size " " colour " " shape
        size     := "small" | "large"       (10-12 / 20-24 px across at 64 px, scaled)
        colour   := "red" | "green" | "blue" | "yellow"
        shape    := "circle" | "square" | "triangle"

    25% of the scenes hold one shape. The others hold two that never overlap and never
    share all three attributes: "left of" when their centres are at least 40% of the size
    apart horizontally and at most 10% vertically (the left one is named first), "above"
    with the axes swapped (the top one first). The background is grey 200 with uniform
    per-pixel noise of +-12. Split lists are 80/10/10 by image; ``shapes.tsv`` records
    every drawn box. Everything derives from ``seed`` (placement through
    ``random.Random(seed)``, background noise through ``numpy.random.default_rng(seed)``),
    so the same parameters give byte-identical files. The files are written into a sibling
    temporary folder that replaces ``folder`` only when complete.
    """
    _check_demo_parameters(count, size)
    return write_folder(folder, lambda staging: _write_demo_files(staging, count, size, seed))


def _is_complete_demo(folder):
    needed = ("README.md", DEMO_TOKEN_FILE, *SPLIT_LISTS.values())
    return (folder / "images").is_dir() and all((folder / name).is_file() for name in needed)


def demo_dataset(count=3000, size=64, seed=1337):
    """The demo data set's folder in the cache, generated on first use only."""
    folder = cache_dir() / "captioning" / f"{DEMO_VERSION}-{count}-{size}-{seed}"
    if _is_complete_demo(folder):
        return folder
    return write_demo_dataset(folder, count=count, size=size, seed=seed)
