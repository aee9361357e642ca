"""TensorFlow Serving REST examples: request bodies, TF Serving's JSON rules, the README section.

Every app gets one example ``predict`` request in TensorFlow Serving's JSON API, built from
its manifest (``savedmodel.inputs``: names, dtypes, shapes) and a fixed example input: text
apps send sentences in the row format (``"instances"``), captioning a small generated PNG as
``{"b64": ...}`` (TF Serving's encoding of binary strings), stocks one ``window`` of prices
in the columnar format (``"inputs"``). :func:`decode_request` turns a body into the tensors
the model server feeds (signature dtypes, instances stacked along the batch dimension) and
:func:`encode_response` shapes outputs the way the server answers (``"predictions"`` per
instance, or ``"outputs"`` per name). The examples are run through each SavedModel's
``serving_default`` in a fresh Python process, with exactly those tensors; the model server
binary itself is not installed here.

``python -m shared.rest --export-dir DIR`` prints the Markdown section; ``--write FILE``
replaces the text between the markers in FILE (``exported/README.md``); ``--check FILE``
exits 1 naming what differs (request bodies exactly; responses by output name, JSON type and
shape, since the values depend on the trained model).

No TensorFlow import at module level: only the fresh-process worker loads TensorFlow.
"""

import argparse
import base64
import json
import math
import re
import struct
import subprocess
import sys
import tempfile
import textwrap
import zlib
from pathlib import Path

import numpy as np

from shared.atomic import write_text
from shared.errors import SeqappsError
from shared.paths import REPO_ROOT
from shared.serving import artifact_path, load_manifest

APPS = ("sentiment", "ner", "stocks", "captioning", "translation")
BEGIN = "<!-- rest-examples:begin -->"
END = "<!-- rest-examples:end -->"
SIGNATURE = "serving_default"
PORT = 8501
DOCKER_COMMAND = ('docker run -p 8501:8501 -v "$PWD/exported:/models" tensorflow/serving '
                  "--model_config_file=/models/models.config")
HEREDOC = "JSON"

# ---------------------------------------------------------------------------------------
# Example inputs
# ---------------------------------------------------------------------------------------

EXAMPLE_TEXT = {
    "sentiment": ["What a wonderful film", "Dull and far too long"],
    "ner": ["Maria Lopez joined Siemens in Paris last week."],
    "translation": ["The cat sees the dog.", "The boys go to the river."],
}

IMAGE_SIZE = 64
IMAGE_CAPTION = "a large red circle left of a small blue square"  # what the picture shows
_PALETTE = ((200, 200, 200), (220, 30, 30), (30, 70, 220), (0, 0, 0))  # grey, red, blue (demo colours)


def example_png():
    """A 64x64 PNG in the demo scenes' style: a large red circle left of a small blue square.

    Drawn with NumPy and written by :func:`_png` (2-bit palette, zlib level 9), so the bytes
    depend on nothing but zlib; 200-odd bytes, small enough to show in full.
    """
    y, x = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    indices = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    x0, y0, diameter = 8, 20, 22  # the circle's bounding box, inclusive
    centre, radius = (x0 + (diameter - 1) / 2, y0 + (diameter - 1) / 2), diameter / 2
    indices[(x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius ** 2] = 1
    indices[25:36, 44:55] = 2  # the 11-pixel square, its centre level with the circle's
    return _png(indices, _PALETTE)


def _png(indices, palette):
    """PNG bytes of a 2-bit palette image (``indices`` uint8 ``[h, w]``, values < 4, w % 4 == 0)."""
    height, width = indices.shape
    packed = (indices[:, 0::4] << 6) | (indices[:, 1::4] << 4) | (indices[:, 2::4] << 2) | indices[:, 3::4]
    raw = b"".join(b"\x00" + row.astype(np.uint8).tobytes() for row in packed)  # filter type 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 2, 3, 0, 0, 0)  # bit depth 2, colour type 3 (palette)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", bytes(v for rgb in palette for v in rgb))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def example_window(window, columns):
    """``window`` rows of deterministic, plausible daily prices (oldest first) in ``columns`` order.

    The close drifts up from 100 with a gentle wave; the open is near the previous close,
    high and low bracket both, volume cycles around 1.2 million shares.
    """
    rows, previous = [], 100.0
    for day in range(window):
        close = round(100.0 + 0.15 * day + 2.0 * math.sin(day / 4.0), 2)
        values = {"open": round(previous * (1 + 0.002 * math.cos(day)), 2), "close": close}
        values["high"] = round(max(values["open"], close) * 1.006, 2)
        values["low"] = round(min(values["open"], close) * 0.994, 2)
        values["volume"] = float(1_200_000 + 40_000 * ((day * 3) % 7) - 120_000)
        unknown = [name for name in columns if name not in values]
        if unknown:
            raise SeqappsError(f"stocks example: no example values for feature columns {unknown}; "
                               f"update shared/rest.py")
        rows.append([values[name] for name in columns])
        previous = close
    return rows


def _b64(data):
    return {"b64": base64.b64encode(data).decode("ascii")}


def request_body(app, manifest):
    """The example ``predict`` body for ``app``, checked against the manifest's inputs."""
    inputs = manifest["savedmodel"]["inputs"]
    if app in EXAMPLE_TEXT:
        _expect_inputs(app, inputs, {"text": ("string", 1)})
        body = {"signature_name": SIGNATURE, "instances": [{"text": text} for text in EXAMPLE_TEXT[app]]}
    elif app == "captioning":
        _expect_inputs(app, inputs, {"image_bytes": ("string", 1)})
        body = {"signature_name": SIGNATURE, "instances": [{"image_bytes": _b64(example_png())}]}
    elif app == "stocks":
        _expect_inputs(app, inputs, {"ohlcv": ("float32", 3)})
        window, width = inputs["ohlcv"]["shape"][1:]
        features = json.loads(artifact_path(manifest, manifest["files"]["features.json"]).read_text(encoding="utf-8"))
        columns = features["columns"]
        if window != features["window"] or width != len(columns):
            raise SeqappsError(f"stocks: the signature's ohlcv shape {inputs['ohlcv']['shape']} does not match "
                               f"features.json (window {features['window']}, columns {columns})")
        body = {"signature_name": SIGNATURE, "inputs": {"ohlcv": [example_window(window, columns)]}}
    else:
        raise SeqappsError(f"no REST example for app {app!r}; known: {', '.join(APPS)}")
    problems = request_problems(body, manifest)
    if problems:
        raise SeqappsError(f"{app}: the example request does not fit the manifest: {'; '.join(problems)}")
    return body


def _expect_inputs(app, inputs, expected):
    found = {name: (spec["dtype"], len(spec["shape"])) for name, spec in inputs.items()}
    if found != expected:
        raise SeqappsError(f"{app}: serving_default takes {found}, the REST example was written for {expected}: "
                           f"update shared/rest.py")


# ---------------------------------------------------------------------------------------
# TensorFlow Serving's JSON rules
# ---------------------------------------------------------------------------------------

class RestError(SeqappsError):
    """A body TensorFlow Serving would reject (it answers HTTP 400 with ``{"error": ...}``)."""


def _is_b64(value):
    return isinstance(value, dict) and list(value) == ["b64"]


def _kind(dtype):
    """The JSON type TF Serving uses for a dtype: ``string``, ``int``, ``float`` or ``bool``."""
    if dtype == "string":
        return "string"
    if dtype == "bool":
        return "bool"
    if dtype.startswith(("int", "uint")):
        return "int"
    if dtype.startswith(("float", "bfloat", "double", "half")):
        return "float"
    raise RestError(f"dtype {dtype} has no JSON mapping in TensorFlow Serving's REST API")


def _scalar(value, dtype, where):
    kind = _kind(dtype)
    if kind == "string":
        if _is_b64(value):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except ValueError as error:
                raise RestError(f"{where}: invalid base64 ({error})") from None
        if isinstance(value, str):
            return value.encode("utf-8")
    elif kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):  # float: integers are accepted too
        return float(value)
    raise RestError(f"{where}: {json.dumps(value)[:60]} is not of expected type {dtype}")


def _tensor(value, dtype, where):
    """A nested JSON list as a NumPy array of ``dtype`` (strings: object array of bytes)."""
    def walk(item, path):
        if isinstance(item, list):
            parts = [walk(element, f"{path}[{i}]") for i, element in enumerate(item)]
            shapes = {shape for _, shape in parts}
            if len(shapes) > 1:
                raise RestError(f"{where}{path}: lists of different lengths "
                                f"(TensorFlow Serving needs a rectangular tensor)")
            return [leaf for leaves, _ in parts for leaf in leaves], (len(item), *(shapes.pop() if shapes else ()))
        return [_scalar(item, dtype, f"{where}{path}")], ()

    leaves, shape = walk(value, "")
    if dtype == "string":
        array = np.empty(len(leaves), dtype=object)
        array[:] = leaves
        return array.reshape(shape)
    return np.array(leaves, dtype=np.dtype(dtype)).reshape(shape)


def decode_request(body, input_dtypes):
    """``(format, {name: array})``: the tensors TensorFlow Serving feeds for a ``predict`` body.

    ``input_dtypes`` is ``{name: dtype}`` of the signature (``"string"``, ``"float32"``, ...).
    Row format (``"instances"``): a list with one entry per example, each an object naming
    every input (or, for a one-input signature, the bare value); each input's values are
    stacked along a new first (batch) dimension. Columnar format (``"inputs"``): an object
    of whole tensors (or one bare tensor for a one-input signature). ``{"b64": ...}`` is a
    binary string; other strings are sent as their UTF-8 bytes.
    """
    if not isinstance(body, dict):
        raise RestError("the request body must be a JSON object")
    unknown = sorted(set(body) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise RestError(f"unexpected keys in the request: {', '.join(unknown)}")
    if ("instances" in body) == ("inputs" in body):
        raise RestError("the request needs exactly one of 'instances' (row format) and 'inputs' (columnar format)")
    names = list(input_dtypes)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise RestError("'instances' must be a non-empty list")
        named = [isinstance(item, dict) and not _is_b64(item) for item in instances]
        if all(named):
            keys = set(instances[0])
            for i, item in enumerate(instances):
                if set(item) != keys:
                    raise RestError(f"instances[{i}] names inputs {sorted(item)}, instances[0] names {sorted(keys)}")
            columns = {name: [item[name] for item in instances] for name in keys}
        elif not any(named) and len(names) == 1:
            columns = {names[0]: instances}
        else:
            raise RestError("each instance must be an object naming the inputs "
                            "(or a bare value for a one-input signature)")
        fmt = "row"
    else:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and not _is_b64(inputs):
            columns = inputs
        elif len(names) == 1:
            columns = {names[0]: inputs}
        else:
            raise RestError("'inputs' must be an object naming the inputs")
        fmt = "columnar"
    extra, missing = sorted(set(columns) - set(names)), sorted(set(names) - set(columns))
    if extra or missing:
        raise RestError(f"the signature takes {names}; the request "
                        + "; ".join(part for part in (f"has unknown inputs {extra}" if extra else "",
                                                      f"lacks {missing}" if missing else "") if part))
    key = "instances" if fmt == "row" else "inputs"
    tensors = {name: _tensor(columns[name], input_dtypes[name], f"{key}.{name}") for name in names}
    return fmt, tensors


def _json_value(value, dtype, binary):
    if dtype == "string":
        data = value if isinstance(value, bytes) else str(value).encode("utf-8")
        return _b64(data) if binary else data.decode("utf-8", errors="replace")
    if dtype == "bool":
        return bool(value)
    if _kind(dtype) == "int":
        return int(value)
    number = float(value)
    if math.isfinite(number) and dtype in ("float32", "float16", "bfloat16"):
        number = float(str(np.float32(value)))  # the shortest decimal that reads back as the same float32
    return number


def _json_array(array, dtype, binary):
    def convert(item):
        return [convert(x) for x in item] if isinstance(item, list) else _json_value(item, dtype, binary)

    # an object array keeps bytes as they are (NumPy's fixed-width bytes drop trailing NULs)
    return convert(np.asarray(array, dtype=object if dtype == "string" else None).tolist())


def encode_response(fmt, outputs, output_dtypes):
    """The response body TensorFlow Serving sends for ``outputs`` (``{name: array}``).

    Row format: ``{"predictions": [...]}``, one object per example (every output must have
    the same first dimension), or bare values when the signature has one output. Columnar:
    ``{"outputs": {name: tensor}}``, or the bare tensor for one output. Strings are UTF-8
    text, except outputs whose name ends in ``_bytes``, which are ``{"b64": ...}``.
    """
    converted = {name: (np.asarray(outputs[name], dtype=object if output_dtypes[name] == "string" else None),
                        output_dtypes[name], name.endswith("_bytes")) for name in sorted(outputs)}
    if fmt == "columnar":
        values = {name: _json_array(array, dtype, binary) for name, (array, dtype, binary) in converted.items()}
        return {"outputs": values if len(values) != 1 else next(iter(values.values()))}
    batches = {name: array.shape[0] if array.ndim else None for name, (array, _, _) in converted.items()}
    if len(set(batches.values())) != 1 or None in batches.values():
        raise RestError(f"row format needs every output to have the same first dimension: {batches}")
    rows = []
    for i in range(next(iter(batches.values()))):
        row = {name: _json_array(array[i], dtype, binary) for name, (array, dtype, binary) in converted.items()}
        rows.append(row if len(row) != 1 else next(iter(row.values())))
    return {"predictions": rows}


def json_structure(value):
    """``(kind, shape)`` of a JSON tensor: kind ``string``/``b64``/``int``/``float``/``bool``."""
    if isinstance(value, list):
        parts = [json_structure(item) for item in value]
        kinds = {kind for kind, _ in parts}
        shapes = {shape for _, shape in parts}
        if len(shapes) > 1 or len(kinds) > 1:
            return "ragged", (len(value),)
        return (kinds.pop() if kinds else "empty"), (len(value), *(shapes.pop() if shapes else ()))
    if _is_b64(value):
        return "b64", ()
    if isinstance(value, bool):
        return "bool", ()
    if isinstance(value, int):
        return "int", ()
    if isinstance(value, float):
        return "float", ()
    if isinstance(value, str):
        return "string", ()
    return type(value).__name__, ()


def response_structure(response):
    """``{output: (kind, shape)}`` of a response body, shapes with the batch dimension first."""
    if "predictions" in response:
        rows = response["predictions"]
        names = sorted({name for row in rows for name in row}) if all(isinstance(r, dict) for r in rows) else None
        if names is None:
            return {"": json_structure(rows)}
        structure = {}
        for name in names:
            kind, shape = json_structure([row.get(name) for row in rows])
            structure[name] = (kind, shape)
        return structure
    outputs = response.get("outputs")
    if isinstance(outputs, dict):
        return {name: json_structure(value) for name, value in sorted(outputs.items())}
    return {"": json_structure(outputs)}


def request_problems(body, manifest):
    """What in ``body`` does not fit the manifest's ``serving_default`` inputs (names, dtypes, ranks)."""
    specs = manifest["savedmodel"]["inputs"]
    try:
        fmt, tensors = decode_request(body, {name: spec["dtype"] for name, spec in specs.items()})
    except RestError as error:
        return [str(error)]
    problems = []
    if body.get("signature_name", SIGNATURE) != SIGNATURE:
        problems.append(f"signature_name is {body.get('signature_name')!r}, not {SIGNATURE!r}")
    for name, tensor in tensors.items():
        shape = specs[name]["shape"]
        if tensor.ndim != len(shape):
            problems.append(f"{name}: rank {tensor.ndim} ({fmt} format), the signature's is {len(shape)} ({shape})")
        elif any(want is not None and want != got for want, got in zip(shape, tensor.shape)):
            problems.append(f"{name}: shape {list(tensor.shape)}, the signature's is {shape}")
    return problems


# ---------------------------------------------------------------------------------------
# Running the examples: one fresh Python process for every app
# ---------------------------------------------------------------------------------------

def serve_in_fresh_process(jobs, workdir=None):
    """Run ``[{"app", "path", "body"}]`` through the SavedModels in one new Python process.

    Returns ``{app: {"response", "outputs": {name: {"dtype", "shape"}}, "custom_ops"}}``:
    the response as TF Serving shapes it, the raw output tensors' dtypes and shapes, and the
    ops that core TensorFlow does not register (the model server must link them).
    """
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        jobs_path, out_path = Path(folder) / "jobs.json", Path(folder) / "results.json"
        jobs_path.write_text(json.dumps([{**job, "path": str(job["path"])} for job in jobs]), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "shared.rest", "--serve", str(jobs_path), str(out_path)],
                                capture_output=True, text=True, cwd=REPO_ROOT)
        if result.returncode != 0:
            raise SeqappsError(f"running the REST examples in a fresh process failed:\n{result.stderr[-3000:]}")
        return json.loads(out_path.read_text(encoding="utf-8"))


def _unregistered_ops(path):
    """Ops in the SavedModel that core TensorFlow does not register (call before importing tensorflow_text)."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    ops = set()
    for graph in saved.meta_graphs:
        ops.update(node.op for node in graph.graph_def.node)
        for function in graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(op for op in ops if op_def_registry.get(op) is None)


def _serve(jobs_path, out_path):
    """The fresh process: decode each body as TF Serving does, call the signature, encode the response."""
    import tensorflow as tf

    jobs = json.loads(Path(jobs_path).read_text(encoding="utf-8"))
    # before SavedModelRunner imports tensorflow_text, which registers its ops
    custom_ops = {job["app"]: _unregistered_ops(job["path"]) for job in jobs}
    from shared.serving import SavedModelRunner

    results = {}
    for job in jobs:
        runner = SavedModelRunner(job["path"], job["body"].get("signature_name", SIGNATURE))
        _, specs = runner.signature.structured_input_signature
        fmt, arrays = decode_request(job["body"], {name: spec.dtype.name for name, spec in specs.items()})
        tensors = {name: tf.constant(array, dtype=specs[name].dtype) for name, array in arrays.items()}
        outputs = {name: value.numpy() for name, value in runner.signature(**tensors).items()}
        dtypes = {name: runner.signature.structured_outputs[name].dtype.name for name in outputs}
        results[job["app"]] = {
            "response": encode_response(fmt, outputs, dtypes),
            "outputs": {name: {"dtype": dtypes[name], "shape": list(value.shape)} for name, value in outputs.items()},
            "custom_ops": custom_ops[job["app"]],
        }
    Path(out_path).write_text(json.dumps(results, ensure_ascii=False, allow_nan=True), encoding="utf-8")
    return 0


def exported_apps(export_dir):
    found = {p.parent.name for p in Path(export_dir).glob("*/manifest.json")}
    return [app for app in APPS if app in found]


def run_examples(export_dir, bodies=None):
    """``{app: (manifest, body, result)}`` for every exported app; ``bodies`` overrides the examples."""
    manifests = {app: load_manifest(app, export_dir) for app in exported_apps(export_dir)}
    if not manifests:
        raise SeqappsError(f"no exported apps under {export_dir}: train one first, or pass --export-dir DIR")
    bodies = {app: (bodies or {}).get(app) or request_body(app, manifest) for app, manifest in manifests.items()}
    results = serve_in_fresh_process([
        {"app": app, "path": str(artifact_path(manifest, manifest["savedmodel"]["path"])), "body": bodies[app]}
        for app, manifest in manifests.items()])
    return {app: (manifests[app], bodies[app], results[app]) for app in manifests}


# ---------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------

def _format_number(value, digits):
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    text = f"{value:.{digits}g}" if digits else repr(value)
    return text if any(c in text for c in ".eEn") else text + ".0"  # a float stays a float in JSON


def dump_json(value, digits=None, width=96, indent=0):
    """JSON, broken across lines only where a value does not fit ``width``; floats to ``digits``."""
    def flat(item):
        if isinstance(item, float):
            return _format_number(item, digits)
        if isinstance(item, list):
            return "[" + ", ".join(flat(x) for x in item) + "]"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{json.dumps(k)}: {flat(v)}" for k, v in item.items()) + "}"
        return json.dumps(item, ensure_ascii=False)

    one_line = flat(value)
    if len(one_line) + indent <= width or not isinstance(value, (list, dict)) or not value:
        return one_line
    pad = " " * (indent + 2)
    if isinstance(value, list) and not any(isinstance(item, (list, dict)) for item in value):
        lines, line = [], ""  # scalars: as many to a line as fit
        for item in (flat(x) for x in value):
            if line and len(pad) + len(line) + len(item) + 2 > width:
                lines.append(line + ",")
                line = ""
            line = f"{line}, {item}" if line else item
        return "[\n" + "\n".join(pad + text for text in lines + [line]) + "\n" + " " * indent + "]"
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {dump_json(v, digits, width, indent + 2).lstrip()}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dump_json(v, digits, width, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def curl_command(app, body):
    text = dump_json(body)
    if any(line.strip() == HEREDOC for line in text.splitlines()):
        raise SeqappsError(f"{app}: the request body contains a line {HEREDOC!r}, which would end the here-document")
    return (f"curl -s http://localhost:{PORT}/v1/models/{app}:predict --data-binary @- <<'{HEREDOC}'\n"
            f"{text}\n{HEREDOC}")


_NOTES = {
    "sentiment": "One object per sentence in `instances` (row format); each prediction has the label, its id and "
                 "the class probabilities.",
    "ner": "Tokens and tags are padded with `\"\"` to the longest sentence of the request; `lengths` says how "
           "many are real. `emissions` are the per-tag scores the CRF decodes.",
    "stocks": "One `[window, 5]` block of raw prices per example (open, high, low, close, volume, oldest day "
              "first), sent in the columnar format (`inputs`), which suits a 3-D float tensor; the response is "
              "then `outputs`, one entry per output name.",
    "captioning": f"The image is a {IMAGE_SIZE}x{IMAGE_SIZE} PNG in the demo scenes' style ({IMAGE_CAPTION}), "
                  "base64-encoded as `{\"b64\": ...}`, which is how TensorFlow Serving's JSON API carries binary "
                  "strings. To send a file of your own instead:\n\n```bash\n"
                  "printf '{\"instances\": [{\"image_bytes\": {\"b64\": \"%s\"}}]}' \"$(base64 -w0 photo.jpg)\" |\n"
                  f"    curl -s http://localhost:{PORT}/v1/models/captioning:predict --data-binary @-\n```",
    "translation": "Normalisation, tokenisation, beam search and detokenisation all run in the graph: send "
                   "sentences, get sentences.",
}


def render_section(examples):
    """The Markdown between the markers, from :func:`run_examples`' result."""
    first = next(iter(examples.values()))[0]
    tf_version = first.get("versions", {}).get("tensorflow", "?")
    text_version = first.get("versions", {}).get("tensorflow-text", "?")
    custom = {}
    for app, (_, _, result) in examples.items():
        for op in result["custom_ops"]:
            custom.setdefault(op, []).append(app)
    if custom:
        ops = "; ".join(f"`{op}` ({', '.join(apps)})" for op, apps in sorted(custom.items()))
        ops_line = (f"Beyond core TensorFlow ops, the graphs use these TensorFlow Text ops: {ops}.")
    else:
        ops_line = "The graphs use core TensorFlow ops only."
    lines = [
        "## TensorFlow Serving (REST)",
        "",
        _wrap("Every export rewrites `exported/models.config`, one `config` entry per exported app with "
              "`base_path: \"/models/<app>\"`, so one model server serves them all (each at its highest "
              "version folder; `manifest.json` and `onnx/` are not version folders and are ignored):"),
        "",
        "```bash",
        DOCKER_COMMAND.replace(" --model_config_file", " \\\n    --model_config_file"),
        "```",
        "",
        _wrap(f"{ops_line} The stock `tensorflow/serving` model server links TensorFlow Text's op library "
        "(`@org_tensorflow_text//tensorflow_text:ops_lib` is in `SUPPORTED_TENSORFLOW_OPS` in "
        "`tensorflow_serving/model_servers/BUILD`), so the stock image should need no custom build "
              "for them (read from TensorFlow Serving's sources, not tried: see below). Use an "
        "image whose TensorFlow is not older than the one that exported the models "
        f"(`versions.tensorflow` in each `manifest.json`; TensorFlow {tf_version}, TensorFlow Text "
        f"{text_version} for the examples below): an older server can refuse ops or op attributes "
        "it does not know."),
        "",
        _wrap("The requests and responses below are generated by `python -m shared.rest --export-dir exported "
        "--write exported/README.md` from a demo export (values depend on the training run; floats are "
        "rounded here). The model server itself cannot be installed where this project is tested: "
        "`tests/exported/test_rest_examples.py` decodes each request body by TensorFlow Serving's "
        "JSON rules (`shared/rest.py`), calls the SavedModel's `serving_default` with exactly those "
        "tensors in a fresh Python process, and checks the outputs' names, types and shapes against "
        "these responses; `python -m shared.rest --check exported/README.md` does the same for any export."),
    ]
    for app, (_, body, result) in examples.items():
        lines += ["", f"### {app}", "", _wrap(_NOTES.get(app, "")), "", "```bash", curl_command(app, body), "```", "",
                  "Response:", "", "```json", dump_json(result["response"], digits=4), "```"]
    return "\n".join(lines) + "\n"


def _wrap(text, width=92):
    """Prose paragraphs wrapped as the README's are; code, headings and short lines as they are."""
    if "```" in text:
        prose, _, rest = text.partition("\n\n```")
        return _wrap(prose, width) + "\n\n```" + rest
    if len(text) <= width:
        return text
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.S | re.M)
_CURL = re.compile(r"/v1/models/([\w.-]+):predict.*?<<'?(\w+)'?\n(.*)\n\2\s*$", re.S)


def section_of(text, where="README"):
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SeqappsError(f"{where}: no {BEGIN} ... {END} markers")
    return text[start + len(BEGIN):end]


def parse_section(section, where="README"):
    """``{app: {"request": body, "response": body}}`` from the section's fenced blocks.

    A ``bash`` block with ``curl .../v1/models/<app>:predict ... <<'JSON'`` holds the
    request body in its here-document; the next ``json`` block is the response.
    """
    examples, last = {}, None
    for language, content in _BLOCK.findall(section):
        match = _CURL.search(content) if language == "bash" else None
        if match:
            last = match.group(1)
            try:
                examples[last] = {"request": json.loads(match.group(3))}
            except json.JSONDecodeError as error:
                raise SeqappsError(f"{where}: {last}'s request body is not valid JSON ({error})") from None
        elif language == "json" and last is not None:
            try:
                examples[last]["response"] = json.loads(content)
            except json.JSONDecodeError as error:
                raise SeqappsError(f"{where}: {last}'s response is not valid JSON ({error})") from None
            last = None
    return examples


def replace_section(text, section, where="README"):
    section_of(text, where)  # the markers must be there
    start, end = text.find(BEGIN) + len(BEGIN), text.find(END)
    return text[:start] + "\n" + section + text[end:]


# ---------------------------------------------------------------------------------------
# --check
# ---------------------------------------------------------------------------------------

def _same_image(a, b):
    """Two b64 strings of images with the same pixels (zlib builds may compress differently)."""
    import io

    from PIL import Image

    try:
        images = [Image.open(io.BytesIO(base64.b64decode(x["b64"]))).convert("RGB") for x in (a, b)]
    except Exception:  # noqa: BLE001  (not images: they simply differ)
        return False
    return images[0].size == images[1].size and images[0].tobytes() == images[1].tobytes()


def differences(found, expected, path=""):
    """Where two JSON values differ, as ``path: found ... expected ...`` lines."""
    if isinstance(found, dict) and isinstance(expected, dict):
        if _is_b64(found) and _is_b64(expected):
            return [] if found == expected or _same_image(found, expected) else [f"{path}: a different b64 value"]
        out = [f"{path}.{k}: missing" for k in expected if k not in found]
        out += [f"{path}.{k}: unexpected" for k in found if k not in expected]
        for key in expected:
            if key in found:
                out += differences(found[key], expected[key], f"{path}.{key}")
        return out
    if isinstance(found, list) and isinstance(expected, list):
        if len(found) != len(expected):
            return [f"{path}: {len(found)} items, expected {len(expected)}"]
        return [line for i, (a, b) in enumerate(zip(found, expected)) for line in differences(a, b, f"{path}[{i}]")]
    if type(found) is not type(expected) or found != expected:
        return [f"{path}: {json.dumps(found)[:60]}, expected {json.dumps(expected)[:60]}"]
    return []


def check(readme, export_dir):
    """Problems of ``readme``'s section against ``export_dir``: requests exactly, responses by structure."""
    readme = Path(readme)
    shown = parse_section(section_of(readme.read_text(encoding="utf-8"), str(readme)), str(readme))
    apps = exported_apps(export_dir)
    problems = [f"{app}: no example in {readme}" for app in apps if app not in shown]
    problems += [f"{app}: shown in {readme} but not exported under {export_dir}" for app in shown if app not in apps]
    for app in apps:
        if app not in shown:
            continue
        manifest = load_manifest(app, export_dir)
        if "response" not in shown[app]:
            problems.append(f"{app}: no response block after the request")
        problems += [f"{app}: request {line}" for line in request_problems(shown[app]["request"], manifest)]
        problems += [f"{app}: request body{line}" for line in
                     differences(shown[app]["request"], request_body(app, manifest))]
    if problems:
        return problems + ["(responses not compared: fix the requests first, e.g. with --write)"]
    examples = run_examples(export_dir, {app: shown[app]["request"] for app in apps})
    for app, (_, _, result) in examples.items():
        problems += response_problems(app, shown[app]["response"], result["response"])
    return problems


def response_problems(app, shown, actual):
    """Where a shown response's structure (output names, JSON types, shapes) differs from ``actual``'s."""
    found, expected = response_structure(shown), response_structure(actual)
    if ("predictions" in shown) != ("predictions" in actual):
        return [f"{app}: response is keyed {sorted(shown)}, TensorFlow Serving answers {sorted(actual)}"]
    problems = []
    for name in sorted(set(found) | set(expected)):
        if name not in found:
            problems.append(f"{app}: response lacks output {name!r}")
        elif name not in expected:
            problems.append(f"{app}: response shows output {name!r}, which serving_default does not return")
        elif found[name] != expected[name]:
            problems.append(f"{app}: response {name!r} is {found[name][0]} {list(found[name][1])}, "
                            f"serving_default returns {expected[name][0]} {list(expected[name][1])}")
    return problems


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------

def _main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.rest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--export-dir", type=Path, default=None,
                        help="export root (default: exported/ or $SEQAPPS_EXPORT_DIR)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, metavar="FILE",
                        help=f"replace the text between {BEGIN} and {END} in FILE")
    action.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE's section differs from the export")
    action.add_argument("--serve", nargs=2, metavar=("JOBS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(*args.serve)
    from shared.paths import default_export_dir

    export_dir = args.export_dir or default_export_dir()
    try:
        if args.check:
            problems = check(args.check, export_dir)
            for line in problems:
                print(line, file=sys.stderr)
            if problems:
                print(f"{args.check}: the REST examples are out of date "
                      f"(regenerate: python -m shared.rest --export-dir {export_dir} --write {args.check})",
                      file=sys.stderr)
                return 1
            print(f"{args.check}: REST examples match {export_dir}")
            return 0
        section = render_section(run_examples(export_dir))
        if args.write:
            text = args.write.read_text(encoding="utf-8")
            write_text(args.write, replace_section(text, section, str(args.write)))
            print(f"wrote the REST examples into {args.write}")
        else:
            sys.stdout.write(section)
        return 0
    except SeqappsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main())
