"""The generated demo data set: scenes of one or two coloured shapes, and their captions.

It lets the captioning app run offline, in the Flickr8k layout that :mod:`apps.captioning.data`
reads, with captions from a tiny grammar that a small model can learn to near-perfect exact
match; the files say that they are demo data.
"""

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from apps.captioning.formats import SPLIT_LISTS
from shared.atomic import write_folder
from shared.datasets import split_size
from shared.errors import SeqappsError
from shared.paths import cache_dir


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
    test_size = split_size(len(order), DEMO_SPLIT_FRACTION)
    dev_size = split_size(len(order), DEMO_SPLIT_FRACTION)
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
