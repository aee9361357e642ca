import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.captioning import demo as captioning_demo
from apps.captioning.data import (CaptionData, ImageCaptions, load_captions, make_splits, read_caption_csv,
                                  read_coco_json, read_flickr_token, read_split_list)
from apps.captioning.demo import demo_dataset, write_demo_dataset
from shared.errors import DataError, SeqappsError
from tests.datafiles import raises_at, write

PHRASE = r"a (small|large) (red|green|blue|yellow) (circle|square|triangle)"
DEMO_CAPTION = re.compile(rf"{PHRASE}(?: (left of|above) {PHRASE})?")
DEMO_RGB = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (30, 70, 220),
            "yellow": (240, 200, 20)}


def touch_images(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"not really a jpeg")
    return folder


def token_lines(*entries):
    return "".join(f"{name}#{number}\t{caption}\n" for name, number, caption in entries)


def image(name, split=None):
    return ImageCaptions(name, Path(name), ("a caption",), split)


def names(images):
    return [item.name for item in images]


# --- Flickr8k token files -----------------------------------------------------------------


def test_read_flickr_token_keeps_file_order_and_skips_blank_lines(tmp_path):
    path = write(tmp_path / "Flickr8k.token.txt",
                 "b.jpg#0\tA dog runs .\n\na.jpg#0\tA cat #1 sits .\nb.jpg#1\tThe dog , running\n")
    assert read_flickr_token(path) == {"b.jpg": ["A dog runs .", "The dog , running"],
                                       "a.jpg": ["A cat #1 sits ."]}


def test_read_flickr_token_accepts_spaces_instead_of_the_tab(tmp_path):
    path = write(tmp_path / "spaces.token.txt",
                 "a.jpg#0   A dog runs .\na.jpg#1 \t Two dogs .\na.jpg#2\tA puppy .\n")
    assert read_flickr_token(path) == {"a.jpg": ["A dog runs .", "Two dogs .", "A puppy ."]}


def test_read_flickr_token_reads_gzip_crlf_and_bom(tmp_path):
    text = "\ufeff" + token_lines(("a.jpg", 0, "One ."), ("a.jpg", 1, "Two .")).replace("\n", "\r\n")
    path = write(tmp_path / "Flickr8k.token.txt.gz", text, gz=True)
    assert read_flickr_token(path) == {"a.jpg": ["One .", "Two ."]}


def test_read_flickr_token_keeps_the_jpg_1_quirk_key_as_a_name(tmp_path):
    path = write(tmp_path / "t.token.txt", token_lines(("x.jpg.1", 0, "People waiting ."),
                                                       ("x.jpg", 0, "People waiting .")))
    assert list(read_flickr_token(path)) == ["x.jpg.1", "x.jpg"]


@pytest.mark.parametrize("bad", ["just a caption without a key",
                                 "a.jpg\tA caption without the number .",
                                 "a.jpg#x\tA caption with a bad number .",
                                 "a.jpg#0",
                                 "#0\tA caption without an image ."])
def test_read_flickr_token_names_file_and_line_of_a_bad_line(tmp_path, bad):
    path = write(tmp_path / "t.token.txt", f"a.jpg#0\tFine .\n\n{bad}\n")
    with raises_at(path, 3) as error:
        read_flickr_token(path)
    assert "expected '<image>#<n><TAB><caption>'" in str(error.value)


def test_read_flickr_token_refuses_an_empty_caption(tmp_path):
    path = write(tmp_path / "t.token.txt", "a.jpg#0\tFine .\na.jpg#1\t   \n")
    with raises_at(path, 2) as error:
        read_flickr_token(path)
    assert "empty caption" in str(error.value)


def test_read_flickr_token_reports_undecodable_bytes_by_line(tmp_path):
    path = tmp_path / "t.token.txt"
    path.write_bytes(b"a.jpg#0\tFine .\na.jpg#1\tCaf\xe9 .\n")
    with raises_at(path, 2):
        read_flickr_token(path)


# --- CSV ----------------------------------------------------------------------------------


def test_read_caption_csv_handles_quoted_commas_column_order_and_extra_columns(tmp_path):
    path = write(tmp_path / "captions.csv",
                 'caption,id,image\n"A dog , running .",1,a.jpg\n'
                 '"A ""quoted"" sign",2,b.jpg\nA cat .,3,a.jpg\n')
    assert read_caption_csv(path) == {"a.jpg": ["A dog , running .", "A cat ."],
                                      "b.jpg": ['A "quoted" sign']}


def test_read_caption_csv_reads_gzip(tmp_path):
    path = write(tmp_path / "captions.txt.gz", "image,caption\na.jpg,\"One , two\"\n", gz=True)
    assert read_caption_csv(path) == {"a.jpg": ["One , two"]}


def test_read_caption_csv_names_line_1_when_a_column_is_missing(tmp_path):
    path = write(tmp_path / "captions.csv", "image,text\na.jpg,A dog .\n")
    with raises_at(path, 1) as error:
        read_caption_csv(path)
    assert "'caption'" in str(error.value)


@pytest.mark.parametrize("row", [",A dog .", "a.jpg,", 'a.jpg,"  "', "a.jpg"])
def test_read_caption_csv_names_the_line_of_an_incomplete_row(tmp_path, row):
    # The quoted line break in row 2 makes row 3 start on line 4.
    path = write(tmp_path / "captions.csv",
                 f'image,caption\na.jpg,"A dog\nin two lines"\n{row}\n')
    with raises_at(path, 4):
        read_caption_csv(path)


# --- COCO-style JSON ----------------------------------------------------------------------


def test_read_coco_json_reads_the_official_annotation_format(tmp_path):
    document = {"images": [{"id": 7, "file_name": "b.jpg"}, {"id": 3, "file_name": "a.jpg"},
                           {"id": 9, "file_name": "no_captions.jpg"}],
                "annotations": [{"image_id": 3, "id": 1, "caption": "A cat ."},
                                {"image_id": 7, "id": 2, "caption": "A dog ."},
                                {"image_id": 3, "id": 3, "caption": "The cat ."}]}
    path = write(tmp_path / "captions_train2014.json", json.dumps(document))
    captions, splits = read_coco_json(path)
    assert captions == {"a.jpg": ["A cat .", "The cat ."], "b.jpg": ["A dog ."]}
    assert splits == {"a.jpg": None, "b.jpg": None}


def test_read_coco_json_reads_karpathy_splits(tmp_path):
    entries = [{"filename": name, "split": split, "sentences": [{"raw": f"Raw {name}",
                                                                "tokens": ["raw"]}]}
               for name, split in (("a.jpg", "train"), ("b.jpg", "val"), ("c.jpg", "restval"),
                                   ("d.jpg", "test"))]
    path = write(tmp_path / "dataset_flickr8k.json", json.dumps({"images": entries}))
    captions, splits = read_coco_json(path)
    assert captions["b.jpg"] == ["Raw b.jpg"]
    assert splits == {"a.jpg": "train", "b.jpg": "dev", "c.jpg": "train", "d.jpg": "test"}


def test_read_coco_json_names_the_line_of_invalid_json(tmp_path):
    path = write(tmp_path / "c.json", '{\n "images": [\n  {"id": 1,}\n ]\n}\n')
    with raises_at(path, 3) as error:
        read_coco_json(path)
    assert "invalid JSON" in str(error.value)


def test_read_coco_json_names_the_annotation_with_an_unknown_image(tmp_path):
    document = {"images": [{"id": 1, "file_name": "a.jpg"}],
                "annotations": [{"image_id": 1, "caption": "Fine ."},
                                {"image_id": 2, "caption": "Orphan ."}]}
    path = write(tmp_path / "c.json", json.dumps(document))
    with pytest.raises(DataError, match=re.escape(f"{path}: annotations[1]: image_id 2")):
        read_coco_json(path)


@pytest.mark.parametrize("document, where", [
    ({"images": [{"id": 1}], "annotations": []}, "images[0]: missing key 'file_name'"),
    ({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1}]},
     "annotations[0]: missing key 'caption'"),
    ({"images": [{"filename": "a.jpg", "split": "train", "sentences": [{"raw": "x"}, {}]}]},
     "images[0].sentences[1]: missing key 'raw'"),
    ({"images": [{"filename": "a.jpg", "split": "holdout", "sentences": []}]},
     "images[0]: unknown split 'holdout'"),
    ({"captions": []}, "expected a COCO annotation file"),
])
def test_read_coco_json_says_which_entry_is_wrong(tmp_path, document, where):
    path = write(tmp_path / "c.json", json.dumps(document))
    with pytest.raises(DataError, match=re.escape(f"{path}: {where}")):
        read_coco_json(path)


# --- split lists --------------------------------------------------------------------------


def test_read_split_list_ignores_blank_lines_and_surrounding_spaces(tmp_path):
    path = write(tmp_path / "Flickr_8k.devImages.txt", "b.jpg\n\n  a.jpg \n")
    assert read_split_list(path) == ["b.jpg", "a.jpg"]


# --- load_captions ------------------------------------------------------------------------


def flickr_folder(root, *, present=("a.jpg", "b.jpg", "c.jpg"), image_folder="Flicker8k_Dataset"):
    write(root / "Flickr8k.token.txt", token_lines(
        ("c.jpg", 0, "C zero ."), ("a.jpg", 0, "A zero ."), ("gone.jpg", 0, "Gone ."),
        ("c.jpg", 1, "C one ."), ("b.jpg", 0, "B zero .")))
    write(root / "Flickr_8k.trainImages.txt", "a.jpg\nc.jpg\n")
    write(root / "Flickr_8k.devImages.txt", "b.jpg\ngone.jpg\n")
    touch_images(root / image_folder, *present)
    return root


def test_load_captions_finds_the_flickr8k_layout_and_skips_missing_images(tmp_path):
    root = flickr_folder(tmp_path)
    data = load_captions(root)
    assert isinstance(data, CaptionData) and not data.is_demo
    assert names(data.images) == ["c.jpg", "a.jpg", "b.jpg"]
    assert data.images[0] == ImageCaptions("c.jpg", root / "Flicker8k_Dataset" / "c.jpg",
                                           ("C zero .", "C one ."), "train")
    assert [item.split for item in data.images] == ["train", "train", "dev"]
    assert data.missing == ["gone.jpg"]
    assert (data.caption_file, data.image_dir) == (root / "Flickr8k.token.txt",
                                                   root / "Flicker8k_Dataset")
    assert str(data.caption_file) in data.source and str(data.image_dir) in data.source


def test_load_captions_prefers_the_token_file_and_the_official_folder_name(tmp_path):
    root = flickr_folder(tmp_path)
    write(root / "captions.txt", "image,caption\na.jpg,From the CSV .\n")
    touch_images(root / "images", "a.jpg")
    data = load_captions(root)
    assert data.caption_file.name == "Flickr8k.token.txt"
    assert data.image_dir.name == "Flicker8k_Dataset"


def test_load_captions_detects_a_kaggle_csv_and_an_image_folder_by_content(tmp_path):
    write(tmp_path / "captions.txt.gz", 'image,caption\na.png,"One , two"\nb.png,Three\n', gz=True)
    touch_images(tmp_path, "a.png")
    data = load_captions(tmp_path)
    assert data.caption_file.name == "captions.txt.gz" and data.image_dir == tmp_path
    assert [(item.name, item.captions, item.split) for item in data.images] == [
        ("a.png", ("One , two",), None)]
    assert data.missing == ["b.png"]


def test_load_captions_reads_splits_from_a_karpathy_json(tmp_path):
    entries = [{"filename": "a.jpg", "split": "val", "sentences": [{"raw": "A ."}]},
               {"filename": "b.jpg", "split": "restval", "sentences": [{"raw": "B ."}]}]
    write(tmp_path / "dataset_flickr8k.json", json.dumps({"images": entries}))
    touch_images(tmp_path / "Images", "a.jpg", "b.jpg")
    data = load_captions(tmp_path)
    assert [(item.name, item.split) for item in data.images] == [("a.jpg", "dev"),
                                                                ("b.jpg", "train")]


def test_load_captions_takes_explicit_captions_and_images(tmp_path):
    flickr_folder(tmp_path)
    other = write(tmp_path / "other" / "mine.token.txt", token_lines(("z.jpg", 0, "Z .")))
    elsewhere = touch_images(tmp_path / "elsewhere", "z.jpg")
    data = load_captions(tmp_path, captions=other, images=elsewhere)
    assert (data.caption_file, data.image_dir) == (other, elsewhere)
    assert names(data.images) == ["z.jpg"]
    assert load_captions(captions=other, images=elsewhere).images == data.images


def test_load_captions_accepts_the_captions_file_as_data(tmp_path):
    root = flickr_folder(tmp_path)
    data = load_captions(root / "Flickr8k.token.txt")
    assert data.image_dir == root / "Flicker8k_Dataset" and len(data.images) == 3


def test_load_captions_says_what_it_looked_for(tmp_path):
    touch_images(tmp_path / "Flicker8k_Dataset", "a.jpg")
    with pytest.raises(SeqappsError, match="no captions file found.*Flickr8k.token.txt.*"
                                           r"captions.txt.*\*.json"):
        load_captions(tmp_path)
    write(tmp_path / "Flickr8k.token.txt", token_lines(("a.jpg", 0, "A .")))
    (tmp_path / "Flicker8k_Dataset" / "a.jpg").unlink()
    (tmp_path / "Flicker8k_Dataset").rmdir()
    with pytest.raises(SeqappsError, match="no image folder found.*Flicker8k_Dataset"):
        load_captions(tmp_path)


def test_load_captions_refuses_to_guess_between_two_token_files(tmp_path):
    write(tmp_path / "one.token.txt", token_lines(("a.jpg", 0, "A .")))
    write(tmp_path / "two.token.txt", token_lines(("a.jpg", 0, "A .")))
    touch_images(tmp_path / "images", "a.jpg")
    with pytest.raises(SeqappsError, match="one.token.txt, two.token.txt"):
        load_captions(tmp_path)


def test_load_captions_strict_names_the_missing_images(tmp_path):
    flickr_folder(tmp_path, present=("a.jpg", "c.jpg"))
    with pytest.raises(SeqappsError, match=r"^2 image\(s\) listed .* e\.g\. 'gone\.jpg', 'b\.jpg'"):
        load_captions(tmp_path, strict=True)
    assert load_captions(tmp_path).missing == ["gone.jpg", "b.jpg"]


def test_load_captions_fails_when_no_listed_image_exists(tmp_path):
    flickr_folder(tmp_path, present=())
    touch_images(tmp_path / "Flicker8k_Dataset", "unrelated.jpg")
    with pytest.raises(SeqappsError) as error:
        load_captions(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "Flickr8k.token.txt") in message
    assert str(tmp_path / "Flicker8k_Dataset" / "c.jpg") in message
    assert str(tmp_path / "Flicker8k_Dataset" / "b.jpg") in message


def test_load_captions_refuses_an_image_in_two_split_lists(tmp_path):
    root = flickr_folder(tmp_path)
    test_list = write(root / "Flickr_8k.testImages.txt", "x.jpg\n\nc.jpg\n")
    with raises_at(test_list, 3) as error:
        load_captions(root)
    assert "Flickr_8k.trainImages.txt" in str(error.value)


def test_load_captions_passes_on_the_readers_errors(tmp_path):
    write(tmp_path / "captions.txt", "image,caption\na.jpg,\n")
    touch_images(tmp_path / "images", "a.jpg")
    with raises_at(tmp_path / "captions.txt", 2):
        load_captions(tmp_path)


# --- make_splits --------------------------------------------------------------------------


def test_make_splits_without_split_lists_is_seeded_and_by_image():
    images = [image(f"{index:03d}.jpg") for index in range(50)]
    first = make_splits(images, seed=1)
    assert (len(first.train), len(first.validation), len(first.test)) == (40, 5, 5)
    assert make_splits(list(reversed(images)), seed=1).test == sorted(
        first.test, key=lambda item: item.name, reverse=True)
    assert set(names(make_splits(images, seed=2).test)) != set(names(first.test))
    together = names(first.train) + names(first.validation) + names(first.test)
    assert sorted(together) == names(images)
    assert "seed 1" in first.note


def test_make_splits_keeps_one_image_in_each_split_when_there_are_three():
    splits = make_splits([image("a.jpg"), image("b.jpg"), image("c.jpg")])
    assert [len(part) for part in (splits.train, splits.validation, splits.test)] == [1, 1, 1]


def test_make_splits_follows_listed_splits():
    images = ([image(f"t{index}.jpg", "train") for index in range(8)]
              + [image("d.jpg", "dev"), image("s.jpg", "test"), image("n.jpg")])
    splits = make_splits(CaptionData(images, [], "", Path("c"), Path("i")))
    assert names(splits.train) == [f"t{index}.jpg" for index in range(8)]
    assert (names(splits.validation), names(splits.test)) == (["d.jpg"], ["s.jpg"])
    assert "1 image(s) in no split list left out" in splits.note


def test_make_splits_uses_dev_as_test_when_no_test_image_is_available():
    images = ([image(f"t{index:02d}.jpg", "train") for index in range(40)]
              + [image(f"d{index}.jpg", "dev") for index in range(5)] + [image("n.jpg")])
    splits = make_splits(images, seed=7, validation_fraction=0.1)
    assert names(splits.test) == [f"d{index}.jpg" for index in range(5)]
    assert len(splits.validation) == 4 and len(splits.train) == 36
    assert not set(names(splits.train)) & set(names(splits.validation))
    assert all(item.split == "train" for item in splits.validation)
    assert "test = the 5 dev images" in splits.note and "1 image(s)" in splits.note
    assert make_splits(images, seed=7) == splits
    assert names(make_splits(images, seed=8).validation) != names(splits.validation)


def test_make_splits_refuses_impossible_fractions():
    with pytest.raises(SeqappsError, match="below 1"):
        make_splits([image("a.jpg")], validation_fraction=0.5, test_fraction=0.5)


# --- the real Flickr8k files --------------------------------------------------------------


def test_real_flickr8k_token_file(shared_data):
    captions = read_flickr_token(shared_data / "captioning" / "Flickr8k.token.txt.gz")
    assert len(captions) == 8092 and sum(map(len, captions.values())) == 40460
    assert len(captions["2258277193_586949ec62.jpg.1"]) == 5
    assert captions["1000268201_693b08cb0e.jpg"][0] == (
        "A child in a pink dress is climbing up a set of stairs in an entry way .")


def test_real_kaggle_captions_csv(shared_data):
    captions = read_caption_csv(shared_data / "captioning" / "captions.txt.gz")
    assert len(captions) == 8091 and sum(map(len, captions.values())) == 40455
    assert any("," in caption for texts in captions.values() for caption in texts)


def test_real_image_subset_and_its_splits(shared_data):
    folder = shared_data / "captioning"
    data = load_captions(folder, captions=folder / "images_captions.token.txt")
    assert len(data.images) == 875 and data.missing == []
    assert all(len(item.captions) == 5 for item in data.images)
    splits = make_splits(data)
    validation = round(753 * 0.1)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (
        753 - validation, validation, 113)
    assert all(item.split == "dev" for item in splits.test)
    assert "9 image(s) in no split list left out" in splits.note


# --- the generated demo data set ----------------------------------------------------------


def read_shapes(folder):
    rows = [line.split("\t") for line in (folder / "shapes.tsv").read_text().splitlines()[1:]]
    shapes = {}
    for name, _, size, colour, shape, *box in rows:
        shapes.setdefault(name, []).append((size, colour, shape, tuple(map(int, box))))
    return shapes


def centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def colour_centroid(pixels, colour):
    ys, xs = np.nonzero(np.all(pixels == DEMO_RGB[colour], axis=-1))
    return xs.mean(), ys.mean()


def check_scene(path, caption, shapes, size):
    match = DEMO_CAPTION.fullmatch(caption)
    assert match, caption
    words = match.groups()
    assert [shape[:3] for shape in shapes] == [words[0:3]] + ([words[4:7]] if words[3] else [])
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape == (size, size, 3)
    drawn = {name for name, rgb in DEMO_RGB.items() if np.all(pixels == rgb, axis=-1).any()}
    assert drawn == {shape[1] for shape in shapes}
    for _, colour, _, box in shapes:
        x, y = (int(value) for value in centre(box))
        assert tuple(pixels[y, x]) == DEMO_RGB[colour]
        assert 0 <= min(box) and max(box) < size
    assert len(np.unique(pixels[0], axis=0)) > 5  # the background row is noisy
    if words[3]:
        assert shapes[0][:3] != shapes[1][:3]
        axis = 0 if words[3] == "left of" else 1
        first, second = (centre(shape[3]) for shape in shapes)
        assert second[axis] - first[axis] >= 0.4 * size
        assert abs(second[1 - axis] - first[1 - axis]) <= 0.1 * size
        if shapes[0][1] != shapes[1][1]:  # two colours: check the order from pixels alone
            assert (colour_centroid(pixels, shapes[0][1])[axis]
                    < colour_centroid(pixels, shapes[1][1])[axis])


def test_demo_dataset_follows_its_grammar_and_geometry(tmp_path):
    folder = write_demo_dataset(tmp_path / "demo", count=120, size=64, seed=3)
    captions = read_flickr_token(folder / "Flickr8k.token.txt")
    assert len(captions) == 120 and len(list((folder / "images").glob("*.png"))) == 120
    shapes = read_shapes(folder)
    for name, texts in captions.items():
        assert len(texts) == 1
        check_scene(folder / "images" / name, texts[0], shapes[name], 64)
    counts = {kind: sum(bool(DEMO_CAPTION.fullmatch(text[0]).group(4) == kind)
                        for text in captions.values()) for kind in ("left of", "above", None)}
    assert all(count > 10 for count in counts.values()), counts
    assert "generated demo data" in (folder / "README.md").read_text()


def test_demo_dataset_scales_with_the_image_size(tmp_path):
    folder = write_demo_dataset(tmp_path / "demo", count=30, size=128, seed=5)
    shapes = read_shapes(folder)
    for name, texts in read_flickr_token(folder / "Flickr8k.token.txt").items():
        check_scene(folder / "images" / name, texts[0], shapes[name], 128)
        for size, _, _, box in shapes[name]:
            across = box[2] - box[0] + 1
            assert 20 <= across <= 24 if size == "small" else 40 <= across <= 48


def test_demo_dataset_splits_by_image_80_10_10(tmp_path):
    folder = write_demo_dataset(tmp_path / "demo", count=50, seed=1)
    lists = [read_split_list(folder / f"Flickr_8k.{part}Images.txt")
             for part in ("train", "dev", "test")]
    assert [len(names) for names in lists] == [40, 5, 5]
    assert sorted(sum(lists, [])) == sorted(read_flickr_token(folder / "Flickr8k.token.txt"))


def test_demo_dataset_is_reproducible_from_its_seed(tmp_path):
    first = write_demo_dataset(tmp_path / "one", count=40, seed=11)
    again = write_demo_dataset(tmp_path / "two", count=40, seed=11)
    other = write_demo_dataset(tmp_path / "three", count=40, seed=12)
    token = "Flickr8k.token.txt"
    assert (first / token).read_bytes() == (again / token).read_bytes()
    assert (first / token).read_bytes() != (other / token).read_bytes()
    image_name = "images/scene_00007.png"
    assert (first / image_name).read_bytes() == (again / image_name).read_bytes()


def test_an_interrupted_demo_write_leaves_no_folder(tmp_path, monkeypatch):
    calls = []

    def failing_render(*args):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("interrupted")
        return real_render(*args)

    real_render = captioning_demo._render
    monkeypatch.setattr(captioning_demo, "_render", failing_render)
    with pytest.raises(RuntimeError, match="interrupted"):
        write_demo_dataset(tmp_path / "demo", count=20)
    assert list(tmp_path.iterdir()) == []


def test_load_captions_without_data_is_the_cached_demo(isolated_dirs):
    started = time.perf_counter()
    data = load_captions()
    assert time.perf_counter() - started < 30
    assert data.is_demo and data.source.startswith("DEMO DATA")
    assert len(data.images) == 3000 and data.missing == []
    folder = isolated_dirs / "cache" / "captioning" / "demo-v1-3000-64-1337"
    assert data.caption_file == folder / "Flickr8k.token.txt"
    splits = make_splits(data)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (2400, 300, 300)
    stamp = data.caption_file.stat().st_mtime_ns
    assert demo_dataset() == folder and data.caption_file.stat().st_mtime_ns == stamp


def test_demo_parameters_are_checked(tmp_path):
    with pytest.raises(SeqappsError, match="at least 32 pixels"):
        write_demo_dataset(tmp_path / "demo", size=16)
    with pytest.raises(SeqappsError, match="at least 1 image"):
        write_demo_dataset(tmp_path / "demo", count=0)
