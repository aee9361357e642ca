"""Export files from another version, and the error contract of every command.

An export is read by the predict commands, the Node client and the browser; a manifest,
tokenizer or vocabulary written by another version of seqapps must be refused with the
file's name and "re-export", never half-read. The per-app catalogues of bad training data
live in tests/<app>/test_bad_input.py.
"""

import json
import shutil

import pytest
from PIL import Image

from shared.errors import run_cli
from tests.commands import run
from tests.datafiles import command_error, error_at


def predict_main(app):
    return __import__(f"apps.{app}.predict", fromlist=["main"]).main


def predict_input(app, tmp_path):
    if app == "captioning":
        path = tmp_path / "photo.png"
        Image.new("RGB", (40, 30), (200, 30, 30)).save(path)
        return str(path)
    return {"sentiment": "a fine film", "ner": "Maria lives in Paris", "translation": "I see the cat .",
            "stocks": "matplotlib:goog"}[app]


VERSIONED_FILES = [
    ("sentiment", "manifest.json"), ("sentiment", "onnx/*/tokenizer.json"),
    ("ner", "manifest.json"), ("ner", "onnx/*/inputs.json"),
    ("stocks", "manifest.json"),
    ("captioning", "manifest.json"), ("captioning", "onnx/*/vocabulary.json"),
    ("translation", "onnx/*/source_tokenizer.json"), ("translation", "onnx/*/target_tokenizer.json"),
]


def copied_export(demo_exports, app, tmp_path):
    root, _ = demo_exports(app)
    export = tmp_path / "exported"
    shutil.copytree(root / "exported" / app, export / app)
    return export


@pytest.mark.parametrize("app,pattern", VERSIONED_FILES)
def test_a_file_from_another_version_is_refused(app, pattern, demo_exports, tmp_path, capsys):
    export = copied_export(demo_exports, app, tmp_path)
    path = next((export / app).glob(pattern))
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": 99}))
    error = command_error(predict_main(app), ["--export-dir", export, "--runtime", "onnx",
                                              predict_input(app, tmp_path)], capsys)
    assert error.startswith(error_at(path)) and "99" in error and "re-export" in error, error


@pytest.mark.parametrize("app,pattern", [("sentiment", "onnx/*/tokenizer.json"), ("ner", "manifest.json")])
def test_a_cut_json_file_names_its_line(app, pattern, demo_exports, tmp_path, capsys):
    export = copied_export(demo_exports, app, tmp_path)
    path = next((export / app).glob(pattern))
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    error = command_error(predict_main(app), ["--export-dir", export, "--runtime", "onnx",
                                              predict_input(app, tmp_path)], capsys)
    assert error.startswith(f"error: {path}:") and "JSON" in error, error


def test_a_tokenizer_spec_missing_a_field_is_refused(demo_exports, tmp_path, capsys):
    export = copied_export(demo_exports, "sentiment", tmp_path)
    path = next((export / "sentiment").glob("onnx/*/tokenizer.json"))
    spec = json.loads(path.read_text())
    del spec["normalization"]
    path.write_text(json.dumps(spec))
    error = command_error(predict_main("sentiment"), ["--export-dir", export, "--runtime", "onnx", "fine"], capsys)
    assert error.startswith(error_at(path)) and "malformed tokenizer spec" in error


@pytest.mark.slow
def test_the_console_command_exits_2_in_one_line_and_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("EU B-ORG\nrejects X-FOO\n")
    plain = run("apps.ner.train", "--data", str(path))
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines()[-1].startswith(f"error: {path}:2: bad NER tag 'X-FOO'")
    debug = run("apps.ner.train", "--data", str(path), "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "DataError" in debug.stderr


def test_an_unexpected_error_is_not_hidden():
    """Only errors the user can fix become one line; a bug keeps its traceback."""
    def broken(argv):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        run_cli(broken, [])
