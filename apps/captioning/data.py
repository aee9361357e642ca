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
(:func:`demo_dataset`), so it works offline and can be learnt to near-perfect exact match;
it says clearly that this is demo data.
"""

import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from apps.captioning.formats import (check_file, content_lines, read_caption_csv, read_caption_file, read_coco_json,
                                     read_flickr_token, read_split_list)
from shared.atomic import write_folder
from shared.datasets import check_split_fractions
from shared.errors import DataError, SeqappsError
from shared.paths import cache_dir

__all__ = ["CaptionData", "ImageCaptions", "Splits", "demo_dataset", "load_captions", "make_splits",
           "read_caption_csv", "read_coco_json", "read_flickr_token", "read_split_list", "write_demo_dataset"]

SPLIT_NAMES = ("train", "dev", "test")
SPLIT_LISTS = {
    "train": "Flickr_8k.trainImages.txt",
    "dev": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
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
