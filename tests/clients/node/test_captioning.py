"""The Node.js client captions exactly as ``python -m apps.captioning.predict --runtime onnx``.

Node decodes JPEG with libjpeg-turbo compiled to WebAssembly, PNG with pngjs, and resizes with
the reference triangle filter, so the pixels, and with them the captions, equal Python's.
"""

from PIL import Image

from tests.clients.node.client import assert_rows_match
from tests.commands import json_rows, run


def image_files(root, tmp_path):
    """Demo PNG scenes, plus the same scenes as JPEG, grey, palette and RGBA files."""
    scenes = sorted((root / "cache" / "captioning").glob("*/images/*.png"))[:3]
    assert scenes, "the captioning demo wrote no images"
    with Image.open(scenes[0]) as first, Image.open(scenes[1]) as second:
        first.convert("RGB").save(tmp_path / "scene.jpg", quality=85)
        second.convert("RGB").resize((150, 97)).save(tmp_path / "wide.jpg", quality=95, subsampling=0)
        first.convert("L").save(tmp_path / "grey.png")
        second.convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "palette.png")
        rgba = first.convert("RGBA")
        rgba.putalpha(128)
        rgba.save(tmp_path / "alpha.png")
    return [*map(str, scenes), *(str(tmp_path / name) for name in
                                 ("scene.jpg", "wide.jpg", "grey.png", "palette.png", "alpha.png"))]


def test_node_captions_equal_python_on_png_and_jpeg(demo_exports, node_client, tmp_path):
    root, _ = demo_exports("captioning")
    export_dir = root / "exported"
    paths = image_files(root, tmp_path)
    for beam in ([], ["--beam", "1"]):
        python = json_rows(run("apps.captioning.predict", "--runtime", "onnx", "--json", "--export-dir",
                               str(export_dir), *beam, *paths))
        assert_rows_match(node_client.rows("captioning", "--export-dir", export_dir, *beam, *paths), python)
    assert all(row["caption"] for row in python)
    piped = node_client.rows("captioning", "--export-dir", export_dir, "--batch-size", "3",
                             stdin="\n".join(paths) + "\n\n")
    assert [row["image"] for row in piped] == paths


def test_unreadable_images_are_named_before_any_work(demo_exports, node_client, tmp_path):
    export_dir = demo_exports("captioning")[0] / "exported"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    for path, message in ((tmp_path / "missing.png", "no such image file"), (broken, "not a readable image")):
        result = node_client.run("captioning", "--export-dir", export_dir, str(path))
        assert result.returncode == 2 and result.stderr.startswith(f"error: {path}: {message}"), result.stderr
