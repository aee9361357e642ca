"""Bad captioning data through ``apps.captioning.train`` and ``predict``: one line, exit 2.

A caption file that cannot be read stops the run at its line. An image that cannot be
decoded is skipped and counted in training (public copies of Flickr8k are often partial)
and an error at prediction. Huge images are refused from their header, before any pixel is
decoded.
"""

import struct
import zlib

import pytest

from apps.captioning.encoder import read_pixels
from apps.captioning.predict import main as predict_main
from apps.captioning.train import main as train_main
from tests.datafiles import command_error, error_at


def png_claiming(width, height):
    """A valid PNG header that claims ``width x height`` pixels, with a few bytes of data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


BAD_IMAGES = {
    # name: (bytes, words the reason must hold)
    "empty file": (b"", "empty file"),
    "text, not an image": (b"these are my holiday notes", "not a readable image"),
    "truncated PNG": (png_claiming(64, 64)[:40], "not a readable image"),
    "huge image": (png_claiming(10_000, 8_000), "10,000 x 8,000 pixels, more than the 64,000,000 decoded"),
    "decompression bomb": (png_claiming(100_000, 100_000), "more than 64,000,000 pixels"),
    "TIFF": (b"II*\x00\x08\x00\x00\x00\x00\x00", "not a readable image"),
}


@pytest.mark.parametrize("case", BAD_IMAGES)
def test_training_images_that_cannot_be_read_say_why(case, tmp_path):
    content, reason = BAD_IMAGES[case]
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        read_pixels(path, 32)


@pytest.mark.parametrize("case", BAD_IMAGES)
def test_predict_names_the_bad_image(case, tmp_path, demo_exports, capsys):
    root, _ = demo_exports("captioning")
    content, reason = BAD_IMAGES[case]
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    error = command_error(predict_main, ["--export-dir", root / "exported", "--runtime", "onnx", path], capsys)
    assert error.startswith(error_at(path)) and reason in error, error


CAPTION_FILES = {
    # name: (file name, text, line the error names or None, words the message must hold)
    "empty token file": ("Flickr8k.token.txt", "", None, "no captions"),
    "token line without a caption number": ("Flickr8k.token.txt", "a.png#0\tA dog.\na.png\tA cat.\n", 2,
                                            "expected '<image>#<n><TAB><caption>'"),
    "empty caption": ("Flickr8k.token.txt", "a.png#0\tA dog.\na.png#1\t \n", 2, "empty caption"),
    "csv without a caption column": ("captions.csv", "image,text\na.png,A dog.\n", 1, "caption"),
    "csv row without a caption": ("captions.csv", "image,caption\na.png,A dog.\na.png\n", 3, "row has 1 field(s)"),
}


@pytest.mark.parametrize("case", CAPTION_FILES)
def test_bad_captions_file(case, tmp_path, isolated_dirs, capsys):
    name, text, line, message = CAPTION_FILES[case]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(png_claiming(8, 8))
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    error = command_error(train_main, ["--data", tmp_path, "--no-export"], capsys)
    assert error.startswith(error_at(path, line)) and message in error, error
