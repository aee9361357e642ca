"""Export a trained app: SavedModel for TensorFlow Serving, ONNX for everything else.

Layout under the export root (``exported/`` by default)::

    models.config                  TensorFlow Serving config covering every exported app
    <app>/manifest.json            the current export: paths, names, dtypes, shapes, parity
    <app>/<N>/                     SavedModel, TensorFlow Serving's version folder;
                                   ``serving_default`` takes raw inputs (text apps: strings)
    <app>/onnx/<N>/model.onnx      ONNX model (takes ids) with its tokenizer/label files

An export is built in a staging folder, checked (Keras against the SavedModel reloaded in
a fresh process and against onnxruntime, on real inputs), and only then moved into place;
the manifest is replaced last, atomically. A failed export never replaces a good one.
"""

import datetime
import logging
import shutil
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from shared import speed
from shared.atomic import write_json, write_text
from shared.environment import package_versions
from shared.errors import SeqappsError
from shared.layers import mask_free_model
from shared.paths import default_export_dir
from shared.precision import float32_policy
from shared.serving import MANIFEST_FORMAT, MANIFEST_VERSION, OnnxRunner, run_savedmodel_in_fresh_process
from shared.training import is_chief


class ExportError(SeqappsError):
    """The export failed a check; the previous export, if any, is untouched."""


@dataclass
class ExportBundle:
    """Everything an app hands to :func:`export_app`.

    ``build_float32`` rebuilds the same architecture without cuDNN kernels (it is called
    under the float32 policy) so that ONNX conversion works whatever the training precision.
    ``serving_fn(model)`` returns the raw-input function for ``serving_default``, its input
    signature and the resources it uses (lookup tables) that the SavedModel must track, and
    optionally a fourth item: ``{name: (function, signature)}`` for further endpoints.
    ``onnx_inputs(raw)`` does the reference (pure Python) preprocessing that ONNX users do,
    so the parity check also proves tokenizer parity. Outputs named in ``relative_outputs``
    (prices in the hundreds, say) are compared relative to ``max(|value|, 1)``, since
    float32 itself only keeps about seven significant digits.

    Autoregressive apps export more than one ONNX graph (an encoder and a decoder step)
    and check parity token for token: ``onnx_models(model)`` returns ``{name: keras.Model}``
    (each written to ``<name>.onnx``) and ``check_parity(model, staging, tolerance, log)``
    replaces the default check and returns its report. ``model`` then only needs
    ``get_weights``/``set_weights``.
    """

    app: str
    model: keras.Model
    build_float32: Callable[[], keras.Model]
    serving_fn: Callable
    onnx_inputs: Callable = None
    parity_inputs: dict = None
    parity_outputs: tuple = ("probabilities",)
    relative_outputs: tuple = ()
    files: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    onnx_models: Callable = None
    check_parity: Callable = None

    def onnx_graphs(self, model):
        """``{name: keras.Model}`` to convert; one ``model.onnx`` unless the app says otherwise."""
        return self.onnx_models(model) if self.onnx_models else {"model": model}


def add_output_arguments(parser):
    """``--export-dir``, ``--no-export`` and ``--debug``: the output flags of every train command."""
    group = parser.add_argument_group("output")
    group.add_argument("--export-dir", type=Path, default=None, help="export root (default: exported/ or $SEQAPPS_EXPORT_DIR)")
    group.add_argument("--no-export", action="store_true", help="train and evaluate only")
    group.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return group


def rebuild_float32(model, build_float32):
    """A float32, non-cuDNN copy of ``model`` with the same weights (ONNX needs both)."""
    with float32_policy():
        clone = build_float32()
    clone.set_weights(model.get_weights())
    return clone


def export_app(bundle, export_dir=None, *, tolerance=1e-4, log=print):
    """Write, check and publish one app's export; returns its manifest (None on a worker that is not the chief)."""
    if not is_chief():
        log("export: left to the chief worker (every worker holds the same weights)")
        return None
    app_dir = Path(export_dir or default_export_dir()) / bundle.app
    app_dir.mkdir(parents=True, exist_ok=True)
    staging = app_dir / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    quiet, started = _QuietTensorFlow(), time.monotonic()
    try:
        model = rebuild_float32(bundle.model, bundle.build_float32)
        artifacts = _write_artifacts(bundle, model, staging, log)
        parity = _check_parity(bundle, model, staging, artifacts, tolerance, log)
        if speed.active():
            log("speed report: timing inference in every runtime ...")
            speed.measure_export(bundle, model, staging, time.monotonic() - started)
        version = _publish(app_dir, staging)
        manifest = _manifest(bundle, version, artifacts, parity)
        write_json(app_dir / "manifest.json", manifest)
    finally:
        quiet.restore()
        shutil.rmtree(staging, ignore_errors=True)
    write_models_config(app_dir.parent)
    log(f"exported {bundle.app} version {version} to {app_dir} (SavedModel + ONNX, parity within {tolerance:g})")
    return manifest


class _QuietTensorFlow:
    """Hide TensorFlow's and tf2onnx's harmless export chatter (table serialisation, freezing).

    Errors still show; tf2onnx's complaints about unsupported ops are caught separately.
    """

    def __init__(self):
        self.levels = {name: logging.getLogger(name).level for name in ("tensorflow", "tf2onnx")}
        for name in self.levels:
            logging.getLogger(name).setLevel(logging.ERROR)
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*structure of `inputs` doesn't match.*")

    def restore(self):
        self.warnings.__exit__(None, None, None)
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


def _write_artifacts(bundle, model, staging, log):
    log("exporting SavedModel ...")
    serve, signature, resources, *extra = bundle.serving_fn(model)
    archive = keras.export.ExportArchive()
    if isinstance(model, keras.layers.Layer):
        archive.track(model)
    for resource in resources:
        archive.track(resource)
    archive.add_endpoint("serving_default", serve, input_signature=signature)
    for name, (function, function_signature) in (extra[0] if extra else {}).items():
        archive.add_endpoint(name, function, input_signature=function_signature)
    archive.write_out(str(staging / "savedmodel"), verbose=False)

    log("exporting ONNX (tf2onnx) ...")
    onnx_dir = staging / "onnx"
    onnx_dir.mkdir()
    graphs = bundle.onnx_graphs(model)
    for name, graph in graphs.items():
        # the same numbers without masks: masked RNNs would convert to slow ONNX Loops
        unsupported = _convert_to_onnx(mask_free_model(graph), onnx_dir / f"{name}.onnx")
        if unsupported:
            raise ExportError(f"tf2onnx could not convert these ops in {name}: {'; '.join(unsupported)}")
        _check_onnx_inputs(graph, onnx_dir / f"{name}.onnx")
    for name, payload in bundle.files.items():
        if isinstance(payload, (str, Path)):
            shutil.copyfile(payload, onnx_dir / name)
        else:
            write_json(onnx_dir / name, payload)
    return {
        "savedmodel_signature": _describe_signature(staging / "savedmodel"),
        "onnx_signatures": {name: _describe_onnx(onnx_dir / f"{name}.onnx") for name in graphs},
    }


def _convert_to_onnx(model, path):
    """Convert with tf2onnx; return its complaints about unsupported ops (it exits 0 anyway)."""
    complaints = []

    class Collector(logging.Handler):
        def emit(self, record):
            message = record.getMessage()
            if "Unsupported ops" in message or "is not supported" in message:
                complaints.append(message.splitlines()[0])

    if not model._called:  # Keras refuses to export a functional model that was only built
        model(keras.tree.map_structure(
            lambda spec: np.zeros([1 if size is None else size for size in spec.shape], spec.dtype), model.input))
    handler = Collector()
    logging.getLogger("tf2onnx").addHandler(handler)
    try:
        model.export(str(path), format="onnx", verbose=False)
    finally:
        logging.getLogger("tf2onnx").removeHandler(handler)
    return complaints


def _check_onnx_inputs(model, path):
    """The ONNX graph must take exactly the Keras model's inputs.

    A tensor captured from outside the model (a constant made eagerly at build time) is
    turned into one more graph input by tf2onnx, which no caller would know to feed.
    """
    import onnx

    expected = {tensor.name for tensor in keras.tree.flatten(model.input)}
    found = {value.name for value in onnx.load(str(path), load_external_data=False).graph.input}
    if found - expected:
        raise ExportError(f"{path.name} has inputs the Keras model does not: {', '.join(sorted(found - expected))}; "
                          f"a tensor captured from outside the model became a graph input (create constants inside "
                          f"a layer's call or hold them as weights)")


def _spec(dtype, shape):
    return {"dtype": dtype, "shape": [None if d is None or isinstance(d, str) else int(d) for d in shape]}


def _describe_signature(path):
    signatures = tf.saved_model.load(str(path)).signatures
    described = {name: _describe_one_signature(signature) for name, signature in signatures.items()}
    default = described.pop("serving_default")
    return {**default, **({"other_signatures": described} if described else {})}


def _describe_one_signature(signature):
    _, inputs = signature.structured_input_signature
    return {
        "inputs": {name: _spec(spec.dtype.name, spec.shape.as_list()) for name, spec in inputs.items()},
        "outputs": {name: _spec(spec.dtype.name, spec.shape.as_list())
                    for name, spec in signature.structured_outputs.items()},
    }


_ONNX_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
                "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(uint8)": "uint8", "tensor(bool)": "bool",
                "tensor(string)": "string"}


def _describe_onnx(path):
    import onnx
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    opset = next(entry.version for entry in onnx.load(str(path), load_external_data=False).opset_import
                 if entry.domain in ("", "ai.onnx"))
    return {
        "inputs": {i.name: _spec(_ONNX_DTYPES.get(i.type, i.type), i.shape) for i in session.get_inputs()},
        "outputs": {o.name: _spec(_ONNX_DTYPES.get(o.type, o.type), o.shape) for o in session.get_outputs()},
        "opset": opset,
    }


def max_difference(a, b, relative=False):
    """Largest absolute difference (or relative to ``max(|a|, 1)``); inf when shapes differ."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = np.maximum(np.abs(a), 1.0) if relative else 1.0
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def _check_parity(bundle, model, staging, artifacts, tolerance, log):
    """Keras vs reloaded SavedModel (fresh process) vs onnxruntime, on the same real inputs."""
    if bundle.check_parity:
        return bundle.check_parity(model, staging, tolerance, log)
    feed = bundle.onnx_inputs(bundle.parity_inputs)
    keras_out = model.predict(feed, verbose=0)
    # called directly, not with predict: a model trained by several workers would wait for them
    trained_out = {name: keras.ops.convert_to_numpy(value) for name, value in bundle.model(feed, training=False).items()}
    saved_out = run_savedmodel_in_fresh_process(staging / "savedmodel", bundle.parity_inputs, staging)
    onnx_out = OnnxRunner(staging / "onnx" / "model.onnx")(**feed)
    report = {"tolerance": tolerance, "examples": len(next(iter(bundle.parity_inputs.values())))}
    for name in bundle.parity_outputs:
        relative = name in bundle.relative_outputs
        report[name] = {
            "keras_vs_savedmodel": max_difference(keras_out[name], saved_out[name], relative),
            "keras_vs_onnx": max_difference(keras_out[name], onnx_out[name], relative),
            "trained_vs_float32_rebuild": max_difference(trained_out[name], keras_out[name], relative),
            **({"measured": "relative to max(|value|, 1)"} if relative else {}),
        }
        worst = max(report[name]["keras_vs_savedmodel"], report[name]["keras_vs_onnx"])
        log(f"parity {name}: Keras vs SavedModel {report[name]['keras_vs_savedmodel']:.2e}, "
            f"Keras vs ONNX {report[name]['keras_vs_onnx']:.2e} (max {'relative' if relative else 'abs'} difference)")
        if not worst <= tolerance:
            raise ExportError(f"parity check failed for {name!r}: max difference {worst:.3g} > {tolerance:g}; "
                              f"the previous export is kept")
    return report


def _existing_versions(app_dir):
    return sorted(int(p.name) for p in app_dir.iterdir() if p.is_dir() and p.name.isdigit())


def _publish(app_dir, staging):
    """Move the checked artifacts into the next free version; ONNX first, SavedModel second.

    ``rename`` onto an existing version fails, so two exports racing for one number never
    mix their files: the loser takes the next number.
    """
    (app_dir / "onnx").mkdir(exist_ok=True)
    for _ in range(100):
        version = max(_existing_versions(app_dir) + _existing_versions(app_dir / "onnx") + [0]) + 1
        try:
            (staging / "onnx").rename(app_dir / "onnx" / str(version))
        except OSError:
            continue
        (staging / "savedmodel").rename(app_dir / str(version))
        return version
    raise ExportError(f"could not claim a new version folder in {app_dir}")


def _manifest(bundle, version, artifacts, parity):
    onnx_dir = f"onnx/{version}"
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "app": bundle.app,
        "model_version": version,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "savedmodel": {"path": str(version), "signature": "serving_default",
                       **artifacts["savedmodel_signature"],
                       "note": "load with `import tensorflow_text` first; TensorFlow Serving links these ops"},
        "onnx": _onnx_entry(onnx_dir, artifacts["onnx_signatures"]),
        "files": {name: f"{onnx_dir}/{name}" for name in bundle.files},
        "parity": parity,
        "metrics": bundle.metrics,
        "versions": package_versions(),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    }


def _onnx_entry(onnx_dir, signatures):
    """One graph: ``{"path", "inputs", ...}``; several: ``{"models": {name: {"path", ...}}}``."""
    described = {name: {"path": f"{onnx_dir}/{name}.onnx", **signature} for name, signature in signatures.items()}
    return described["model"] if list(described) == ["model"] else {"models": described}


def write_models_config(export_root):
    """``models.config`` for TensorFlow Serving: one entry per app with a manifest.

    Paths are where ``docker run -v $PWD/exported:/models`` mounts the export root.
    """
    export_root = Path(export_root)
    apps = sorted(p.parent.name for p in export_root.glob("*/manifest.json"))
    entries = "".join(
        f"  config {{\n    name: \"{app}\"\n    base_path: \"/models/{app}\"\n    model_platform: \"tensorflow\"\n  }}\n"
        for app in apps
    )
    return write_text(export_root / "models.config", f"model_config_list {{\n{entries}}}\n")
