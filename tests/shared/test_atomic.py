"""A failed write leaves the previous version, and no temporary files, behind."""

import json

import pytest

from shared.atomic import write_folder, write_json


def test_failed_json_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"accuracy": 0.9})
    with pytest.raises(TypeError):
        write_json(path, {"accuracy": object()})
    assert json.loads(path.read_text()) == {"accuracy": 0.9}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_failed_folder_write_keeps_the_old_folder(tmp_path):
    folder = tmp_path / "vectors"
    write_folder(folder, lambda staging: (staging / "words.json").write_text("[1]"))

    def half_written(staging):
        (staging / "words.json").write_text("[2")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_folder(folder, half_written)
    assert (folder / "words.json").read_text() == "[1]"
    assert [p.name for p in tmp_path.iterdir()] == ["vectors"]
    write_folder(folder, lambda staging: (staging / "words.json").write_text("[3]"))
    assert (folder / "words.json").read_text() == "[3]" and [p.name for p in tmp_path.iterdir()] == ["vectors"]
