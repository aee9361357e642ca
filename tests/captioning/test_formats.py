"""Caption corpora as they are distributed, read through ``load_captions`` (what ``--data`` uses).

The fixtures are written here from each format's description: Flickr30k's Kaggle
``results.csv`` (with a row that lost its comment, as one row of the real file has), COCO's
``annotations/captions_train2014.json`` beside ``train2014/``, Karpathy's ``dataset_coco.json``
and the Flickr8k token file. Each is detected without a flag, the log names the layout,
and a defect is reported at its ``file:line`` (or its place in a one-line JSON document).
"""

import json

import pytest

from apps.captioning.data import load_captions
from shared.errors import DataError
from tests.datafiles import raises_at, write

CAPTIONS = {
    "1001.jpg": ["A man rides a red bike .", "Someone cycles down a street .", "A cyclist in a helmet ."],
    "1002.jpg": ["Two dogs play in the snow .", "Dogs run through snow .", "A pair of dogs outside ."],
    "1003.jpg": ["A child holds a balloon .", "A small girl with a balloon .", "A kid at a party ."],
}


def touch(folder, *names):
    for name in names:
        write(folder / name, "not really a jpeg")
    return folder


def loaded(data, **options):
    """``(CaptionData, logged lines)`` of ``load_captions`` with its log captured."""
    logged = []
    return load_captions(data, log=logged.append, **options), logged


def captions_of(data):
    return {image.name: list(image.captions) for image in data.images}


# --- Flickr30k results.csv --------------------------------------------------------------------


def results_csv(extra_rows=()):
    rows = ["image_name| comment_number| comment"]
    rows += [f"{name}| {number}| {caption}" for name, texts in CAPTIONS.items() for number, caption in enumerate(texts)]
    return "\n".join(rows + list(extra_rows)) + "\n"


def test_flickr30k_results_csv_in_the_kaggle_layout(tmp_path):
    root = tmp_path / "flickr30k_images"
    broken = "1003.jpg| 3   A boy with a kite ."  # the pipe before the comment is missing
    write(root / "results.csv", results_csv([broken, "1003.jpg| 4| A party in a garden ."]))
    touch(root / "flickr30k_images", *CAPTIONS)
    data, logged = loaded(root)
    assert data.image_dir == root / "flickr30k_images" and data.missing == []
    assert captions_of(data) == {**CAPTIONS, "1003.jpg": CAPTIONS["1003.jpg"] + ["A party in a garden ."]}
    csv_path = root / "results.csv"
    assert logged == [f"{csv_path}: read as Flickr30k's results.csv (image_name| comment_number| comment)",
                      f"WARNING: {csv_path}:11: skipped, the comment is missing: expected 'image_name| "
                      f"comment_number| comment' (got: {broken!r})"]


@pytest.mark.parametrize("row, message", [("1003.jpg| three| A kite .", "with an image name and a number"),
                                          ("| 3| A kite .", "with an image name and a number")])
def test_flickr30k_row_without_a_name_or_number_is_named(tmp_path, row, message):
    path = write(tmp_path / "results.csv", results_csv([row]))
    touch(tmp_path / "flickr30k_images", *CAPTIONS)
    with raises_at(path, 11) as caught:
        load_captions(tmp_path, log=None)
    assert message in str(caught.value)


def test_a_file_of_rows_without_comments_is_not_taken_for_flickr30k(tmp_path):
    path = write(tmp_path / "results.csv", results_csv([f"1001.jpg| {n} no pipe" for n in range(11)]))
    touch(tmp_path / "images", *CAPTIONS)
    with raises_at(path, 21) as caught:
        load_captions(tmp_path, log=None)
    assert "more than 10 rows have no comment" in str(caught.value)


# --- COCO captions JSON -----------------------------------------------------------------------


def coco_document(names):
    images = [{"id": 100 + n, "file_name": name, "height": 480, "width": 640} for n, name in enumerate(names)]
    annotations = [{"image_id": 100 + n, "id": 1000 + 10 * n + k, "caption": caption}
                   for n, name in enumerate(names) for k, caption in enumerate(CAPTIONS[name])]
    return {"info": {"year": 2014}, "licenses": [], "images": images, "annotations": annotations}


def test_coco_annotations_find_the_image_folder_beside_them(tmp_path):
    document = coco_document(list(CAPTIONS))
    path = write(tmp_path / "coco" / "annotations" / "captions_train2014.json", json.dumps(document))
    touch(tmp_path / "coco" / "train2014", *CAPTIONS)
    touch(tmp_path / "coco" / "val2014", "9999.jpg")
    data, logged = loaded(path)
    assert data.image_dir == tmp_path / "coco" / "train2014"
    assert captions_of(data) == CAPTIONS and {image.split for image in data.images} == {None}
    assert logged == [f"{path}: read as COCO captions JSON (images + annotations)"]


def test_coco_annotation_of_an_unknown_image_is_named(tmp_path):
    document = coco_document(list(CAPTIONS))
    document["annotations"][4]["image_id"] = 7
    path = write(tmp_path / "captions_val2014.json", json.dumps(document))
    with pytest.raises(DataError, match=f"^{path}: annotations\\[4\\]: image_id 7 is not the id of any entry"):
        load_captions(path, log=None)


# --- Karpathy split JSON ----------------------------------------------------------------------


def karpathy_document(entries):
    """Karpathy's ``dataset_coco.json``: ``(filepath, filename, split)`` per image."""
    images = [{"filepath": folder, "filename": name, "imgid": n, "split": split, "cocoid": 100 + n,
               "sentences": [{"raw": caption, "tokens": caption.lower().split(), "imgid": n}
                             for caption in CAPTIONS[name]]}
              for n, (folder, name, split) in enumerate(entries)]
    return {"images": images, "dataset": "coco"}


def test_karpathy_coco_split_file_with_filepaths(tmp_path):
    entries = [("train2014", "1001.jpg", "train"), ("val2014", "1002.jpg", "restval"), ("val2014", "1003.jpg", "test")]
    path = write(tmp_path / "coco" / "dataset_coco.json", json.dumps(karpathy_document(entries)))
    touch(tmp_path / "coco" / "train2014", "1001.jpg")
    touch(tmp_path / "coco" / "val2014", "1002.jpg", "1003.jpg")
    data, logged = loaded(tmp_path / "coco")
    assert data.image_dir == tmp_path / "coco"
    assert [(image.name, image.split) for image in data.images] == [
        ("train2014/1001.jpg", "train"), ("val2014/1002.jpg", "train"), ("val2014/1003.jpg", "test")]
    assert data.images[2].path == tmp_path / "coco" / "val2014" / "1003.jpg"
    assert logged == [f"{path}: read as a Karpathy split JSON (images with their split and sentences)"]


def test_karpathy_unknown_split_is_named(tmp_path):
    entries = [("", "1001.jpg", "train"), ("", "1002.jpg", "val"), ("", "1003.jpg", "holdout")]
    document = karpathy_document(entries)
    for image in document["images"]:
        del image["filepath"]  # the Flickr8k and Flickr30k files have none
    path = write(tmp_path / "dataset_flickr8k.json", json.dumps(document))
    with pytest.raises(DataError, match=f"^{path}: images\\[2\\]: unknown split 'holdout'"):
        load_captions(path, log=None)


# --- Flickr8k token file ----------------------------------------------------------------------


def test_flickr8k_token_file(tmp_path):
    lines = [f"{name}#{n}\t{caption}" for name, texts in CAPTIONS.items() for n, caption in enumerate(texts)]
    path = write(tmp_path / "Flickr8k_text" / "Flickr8k.token.txt", "\n".join(lines) + "\n")
    touch(tmp_path / "Flicker8k_Dataset", *CAPTIONS)
    data, logged = loaded(path, images=tmp_path / "Flicker8k_Dataset")
    assert captions_of(data) == CAPTIONS
    assert logged == [f"{path}: read as a Flickr8k/Flickr30k token file (image.jpg#n<TAB>caption)"]


def test_flickr8k_token_line_without_a_caption_number_is_named(tmp_path):
    path = write(tmp_path / "Flickr8k.token.txt", "1001.jpg#0\tA man rides a bike .\n1002.jpg\tTwo dogs .\n")
    touch(tmp_path / "images", "1001.jpg")
    with raises_at(path, 2) as caught:
        load_captions(tmp_path, log=None)
    assert "expected '<image>#<n><TAB><caption>'" in str(caught.value)
