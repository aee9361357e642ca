"""TensorFlow Serving: ``models.config`` and the REST examples in ``exported/README.md``.

The model server binary cannot be installed here, so the examples are checked one step
short of it: every request body the README shows is decoded by TensorFlow Serving's JSON
rules (``shared.rest.decode_request``) and fed to the SavedModel's ``serving_default`` in a
fresh Python process (one process for all five apps), on this session's demo exports.
"""

import base64
import copy
import io
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from shared import rest
from shared.paths import REPO_ROOT
from shared.serving import artifact_path, load_manifest

README = REPO_ROOT / "exported" / "README.md"
APPS = ("sentiment", "ner", "stocks", "captioning", "translation")


@pytest.fixture(scope="module")
def export_root(all_demo_exports):
    return all_demo_exports


@pytest.fixture(scope="module")
def manifests(export_root):
    return {app: load_manifest(app, export_root) for app in APPS}


@pytest.fixture(scope="module")
def shown():
    """``{app: {"request", "response"}}`` as the README shows them, between the markers."""
    return rest.parse_section(rest.section_of(README.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def served(export_root, manifests, shown):
    """The README's request bodies through every SavedModel, in one fresh process."""
    return rest.serve_in_fresh_process(
        [{"app": app, "path": artifact_path(manifests[app], manifests[app]["savedmodel"]["path"]),
          "body": shown[app]["request"]} for app in APPS])


# --- models.config ------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|([{}:])|([A-Za-z_]\w*)|"((?:[^"\\]|\\.)*)"|(-?[\d.]+)|(\S))')


def parse_text_proto(text):
    """A protobuf text-format message as ``[(field, value)]``; a sub-message's value is a list."""
    tokens = []
    for comment, punct, ident, string, number, bad in _TOKEN.findall(text):
        if bad:
            raise ValueError(f"unexpected {bad!r} in text proto")
        if not comment:
            tokens.append(("str", string) if ident == "" and punct == "" and number == "" else
                          ("punct", punct) if punct else ("ident", ident) if ident else ("num", number))
    position = 0

    def message(depth):
        nonlocal position
        fields = []
        while position < len(tokens):
            kind, value = tokens[position]
            if (kind, value) == ("punct", "}"):
                if depth == 0:
                    raise ValueError("unbalanced '}'")
                position += 1
                return fields
            if kind != "ident":
                raise ValueError(f"expected a field name, got {value!r}")
            name, position = value, position + 1
            colon = tokens[position:position + 1] == [("punct", ":")]
            position += colon
            if position >= len(tokens):
                raise ValueError(f"{name}: no value")
            kind, value = tokens[position]
            position += 1
            if (kind, value) == ("punct", "{"):
                fields.append((name, message(depth + 1)))
            elif colon and kind in ("str", "num", "ident"):
                fields.append((name, value))
            else:
                raise ValueError(f"{name}: unexpected {value!r}")
        if depth:
            raise ValueError("missing '}'")
        return fields

    return message(0)


def test_text_proto_parser_rejects_broken_configs():
    assert parse_text_proto('a { b: "x" c { d: 1 } }') == [("a", [("b", "x"), ("c", [("d", "1")])])]
    for broken in ('a { b: "x"', 'a { b: "x" } }', 'a { : "x" }', 'a { b: "x" ; }'):
        with pytest.raises(ValueError):
            parse_text_proto(broken)


def test_models_config_serves_every_app_from_the_mounted_root(export_root, manifests, shown):
    config = parse_text_proto((export_root / "models.config").read_text(encoding="utf-8"))
    assert [name for name, _ in config] == ["model_config_list"]
    entries = config[0][1]
    assert {name for name, _ in entries} == {"config"}
    by_name = {}
    for _, fields in entries:
        values = dict(fields)
        assert len(values) == len(fields) and set(values) == {"name", "base_path", "model_platform"}, fields
        by_name[values["name"]] = values
    assert sorted(by_name) == sorted(APPS)
    for app, values in by_name.items():
        assert values["base_path"] == f"/models/{app}"
        assert values["model_platform"] == "tensorflow"
        # TF Serving serves the highest integer folder under base_path: it must be the manifest's export
        versions = sorted(int(p.name) for p in (export_root / app).iterdir() if p.is_dir() and p.name.isdigit())
        assert versions and versions[-1] == manifests[app]["model_version"]
        assert (export_root / app / str(versions[-1]) / "saved_model.pb").is_file()

    # the README's docker command mounts the export root where base_path expects it
    section = rest.section_of(README.read_text(encoding="utf-8"))
    docker = " ".join(re.search(r"^docker run .*?(?=^```)", section, re.S | re.M).group(0).replace("\\\n", " ").split())
    assert docker == rest.DOCKER_COMMAND
    assert '-v "$PWD/exported:/models"' in docker and "--model_config_file=/models/models.config" in docker
    assert "-p 8501:8501" in docker and f"localhost:{rest.PORT}/v1/models/" in section


# --- the request bodies ---------------------------------------------------------------------

def _rank_and_kinds(value):
    """(rank, {leaf kinds}) of a nested JSON list; b64 objects are leaves."""
    if isinstance(value, list):
        ranks_kinds = [_rank_and_kinds(item) for item in value]
        ranks = {rank for rank, _ in ranks_kinds}
        assert len(ranks) == 1, f"ragged value {value!r:.80}"
        return ranks.pop() + 1, set().union(*(kinds for _, kinds in ranks_kinds))
    if isinstance(value, dict):
        assert list(value) == ["b64"], value
        base64.b64decode(value["b64"], validate=True)
        return 0, {"b64"}
    return 0, {type(value).__name__}


_ALLOWED_KINDS = {"string": {"str", "b64"}, "float32": {"float", "int"}, "int32": {"int"}}


def test_readme_shows_a_request_for_every_app(shown):
    assert set(shown) == set(APPS)
    assert all({"request", "response"} <= set(example) for example in shown.values())


@pytest.mark.parametrize("app", APPS)
def test_request_body_has_exactly_the_manifest_inputs(app, shown, manifests):
    body, inputs = shown[app]["request"], manifests[app]["savedmodel"]["inputs"]
    assert body["signature_name"] == "serving_default"
    assert len({"instances", "inputs"} & set(body)) == 1 and set(body) <= {"signature_name", "instances", "inputs"}
    if "instances" in body:  # row format: one object per example, naming every input
        assert body["instances"] and all(set(row) == set(inputs) for row in body["instances"])
        columns = {name: [row[name] for row in body["instances"]] for name in inputs}
    else:
        assert set(body["inputs"]) == set(inputs)
        columns = body["inputs"]
    for name, spec in inputs.items():
        rank, kinds = _rank_and_kinds(columns[name])
        assert rank == len(spec["shape"]), (name, rank, spec)
        assert kinds <= _ALLOWED_KINDS[spec["dtype"]], (name, kinds, spec["dtype"])
    # the converter agrees, and gives the signature's dtypes and fixed dimensions
    fmt, tensors = rest.decode_request(body, {name: spec["dtype"] for name, spec in inputs.items()})
    assert fmt == ("row" if "instances" in body else "columnar")
    for name, spec in inputs.items():
        assert tensors[name].dtype == (object if spec["dtype"] == "string" else np.dtype(spec["dtype"]))
        assert all(want in (None, got) for want, got in zip(spec["shape"], tensors[name].shape))
    assert rest.request_problems(body, manifests[app]) == []
    # and it is the body generated from this manifest (what --check demands)
    assert body == rest.request_body(app, manifests[app])


def test_example_inputs_are_what_they_claim(shown, manifests):
    from PIL import Image

    image = shown["captioning"]["request"]["instances"][0]["image_bytes"]
    data = base64.b64decode(image["b64"])
    assert data.startswith(b"\x89PNG") and data == rest.example_png()
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    assert picture.size == (rest.IMAGE_SIZE, rest.IMAGE_SIZE)
    colours = {colour for _, colour in picture.getcolors()}
    assert {(200, 200, 200), (220, 30, 30), (30, 70, 220)} <= colours

    window = np.array(shown["stocks"]["request"]["inputs"]["ohlcv"][0])
    features = json.loads(artifact_path(manifests["stocks"], manifests["stocks"]["files"]["features.json"])
                          .read_text(encoding="utf-8"))
    assert window.shape == (features["window"], len(features["columns"]))
    column = {name: window[:, i] for i, name in enumerate(features["columns"])}
    assert (column["low"] > 0).all() and (column["volume"] > 0).all()
    assert (column["high"] >= np.maximum(column["open"], column["close"])).all()
    assert (column["low"] <= np.minimum(column["open"], column["close"])).all()


def test_converter_follows_tf_serving_rules():
    dtypes = {"text": "string", "x": "float32"}
    fmt, tensors = rest.decode_request(
        {"instances": [{"text": "é", "x": [1, 2.5]}, {"text": {"b64": "AAE="}, "x": [3, 4]}]}, dtypes)
    assert fmt == "row" and tensors["text"].tolist() == ["é".encode(), b"\x00\x01"]
    assert tensors["x"].dtype == np.float32 and tensors["x"].tolist() == [[1.0, 2.5], [3.0, 4.0]]
    for bad in ({"instances": [{"text": "a", "x": [1]}, {"text": "b"}]},          # keys differ between rows
                {"instances": [{"text": "a", "x": [1]}, {"text": "b", "x": [1, 2]}]},  # ragged batch
                {"inputs": {"text": ["a"]}},                                       # missing input
                {"instances": [{"text": 1, "x": [1]}]},                            # number for a string
                {"instances": [{"text": "a", "x": [1]}], "inputs": {}}):           # both formats
        with pytest.raises(rest.RestError):
            rest.decode_request(bad, dtypes)
    with pytest.raises(rest.RestError):
        rest.decode_request({"inputs": {"n": [1.5]}}, {"n": "int32"})
    outputs = {"label": np.array([b"pos", b"neg"], object), "p": np.array([[0.25, 0.75], [0.5, 0.5]], np.float32),
               "raw_bytes": np.array([b"\x00", b"\xff"], object)}
    dtypes = {"label": "string", "p": "float32", "raw_bytes": "string"}
    assert rest.encode_response("row", outputs, dtypes) == {"predictions": [
        {"label": "pos", "p": [0.25, 0.75], "raw_bytes": {"b64": "AA=="}},
        {"label": "neg", "p": [0.5, 0.5], "raw_bytes": {"b64": "/w=="}}]}
    assert rest.encode_response("columnar", outputs, dtypes)["outputs"]["p"] == [[0.25, 0.75], [0.5, 0.5]]


# --- the responses --------------------------------------------------------------------------

_KIND = {"string": "string", "float32": "float", "int32": "int"}


@pytest.mark.parametrize("app", APPS)
def test_serving_default_returns_the_readme_response_structure(app, served, shown, manifests):
    result = served[app]
    real, readme = result["response"], shown[app]["response"]
    assert rest.response_problems(app, readme, real) == []
    structure = rest.response_structure(real)
    declared = manifests[app]["savedmodel"]["outputs"]
    assert set(structure) == set(declared) == set(result["outputs"])
    for name, (kind, shape) in structure.items():
        tensor = result["outputs"][name]
        assert tensor["dtype"] == declared[name]["dtype"] and kind == _KIND[tensor["dtype"]]
        assert list(shape) == tensor["shape"] and len(shape) == len(declared[name]["shape"])
        assert all(want in (None, got) for want, got in zip(declared[name]["shape"], shape))
    # a README response with a renamed output or a different shape is caught
    altered = copy.deepcopy(readme)
    rows = altered["predictions"] if "predictions" in altered else [altered["outputs"]]
    name = sorted(rows[0])[0]
    rows[0][f"{name}_renamed"] = rows[0].pop(name)
    assert rest.response_problems(app, altered, real)
    altered = copy.deepcopy(readme)
    rows = altered["predictions"] if "predictions" in altered else [altered["outputs"]]
    rows[0][name] = [rows[0][name], rows[0][name]]
    assert rest.response_problems(app, altered, real)


def _labels(manifest):
    return json.loads(artifact_path(manifest, manifest["files"]["labels.json"]).read_text(encoding="utf-8"))["labels"]


def test_response_values_are_sane(served, shown, manifests):
    sentiment = served["sentiment"]["response"]["predictions"]
    labels = _labels(manifests["sentiment"])
    assert len(sentiment) == len(shown["sentiment"]["request"]["instances"])
    for row in sentiment:
        assert math.isclose(sum(row["probabilities"]), 1.0, abs_tol=1e-5)
        assert row["label_id"] == int(np.argmax(row["probabilities"])) and row["label"] == labels[row["label_id"]]

    tags = _labels(manifests["ner"])
    ner, instances = served["ner"]["response"]["predictions"], shown["ner"]["request"]["instances"]
    assert len(ner) == len(instances) > 0
    for row, instance in zip(ner, instances, strict=True):
        length = row["lengths"]
        assert 0 < length <= len(row["tokens"]) and all(row["tokens"][:length]) and not any(row["tokens"][length:])
        assert "".join(row["tokens"]) == "".join(instance["text"].split())
        assert set(row["tags"][:length]) <= set(tags)
        assert row["tags"][:length] == [tags[i] for i in row["tag_ids"][:length]]

    stocks = served["stocks"]["response"]["outputs"]
    window = shown["stocks"]["request"]["inputs"]["ohlcv"][0]
    horizon = manifests["stocks"]["savedmodel"]["outputs"]["price"]["shape"][1]
    assert np.array(stocks["price"]).shape == (1, horizon)
    assert all(math.isfinite(p) and p > 0 for p in stocks["price"][0])
    assert stocks["last_close"] == [window[-1][3]]
    np.testing.assert_allclose(stocks["price"][0], window[-1][3] * np.exp(stocks["log_return"][0]), rtol=1e-4)

    for app, text in (("captioning", "caption"), ("translation", "translation")):
        assert len(served[app]["response"]["predictions"]) == len(shown[app]["request"]["instances"]) > 0
        for row in served[app]["response"]["predictions"]:
            assert isinstance(row[text], str) and row[text].strip(), row
            assert math.isfinite(row["score"]) and row["score"] <= 0
            ids = row["token_ids"]
            assert 3 in ids and not any(ids[ids.index(3) + 1:]), ids  # [EOS] then [PAD] only
    caption = served["captioning"]["response"]["predictions"][0]
    assert len(caption["caption"].split()) == caption["token_ids"].index(3)
    assert served["sentiment"]["custom_ops"] == ["NormalizeUTF8"] and served["stocks"]["custom_ops"] == []


# --- the CLI --------------------------------------------------------------------------------

def _check(readme, export_root):
    command = [sys.executable, "-m", "shared.rest", "--check", str(readme), "--export-dir", str(export_root)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)


def test_check_passes_on_the_readme_and_fails_on_an_altered_request(export_root, tmp_path):
    result = _check(README, export_root)
    assert result.returncode == 0, result.stderr[-3000:]

    text = README.read_text(encoding="utf-8")
    altered = tmp_path / "README.md"
    assert text.count('{"text": "Dull and far too long"}') == 1
    altered.write_text(text.replace('{"text": "Dull and far too long"}', '{"text": "Dull and far too short"}'),
                       encoding="utf-8")
    result = _check(altered, export_root)
    assert result.returncode == 1
    assert "sentiment: request body.instances[1].text" in result.stderr and "far too short" in result.stderr

    image = rest.parse_section(rest.section_of(text))["captioning"]["request"]["instances"][0]["image_bytes"]["b64"]
    assert len(image) > 100 and text.count(image) == 1
    altered.write_text(text.replace(image, ("j" if image[0] != "j" else "k") + image[1:]), encoding="utf-8")
    result = _check(altered, export_root)
    assert result.returncode == 1
    assert "captioning: request body.instances[0].image_bytes: a different b64 value" in result.stderr
