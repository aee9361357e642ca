"""Load what ``shared/export.py`` wrote and run it: SavedModel, ONNX, manifest.

Predict commands and the export's parity check share these loaders, so what is checked
at export time is exactly what users run. ``python -m shared.serving savedmodel DIR
INPUTS.json OUT.npz SIGNATURE`` runs a SavedModel in a fresh process (the export parity check uses
it to prove the artifact loads without any of the training process's state).
"""

import base64
import json
import sys
from pathlib import Path

import numpy as np

from shared.errors import SeqappsError
from shared.paths import default_export_dir

MANIFEST_FORMAT = "seqapps-manifest"
MANIFEST_VERSION = 1


def app_export_dir(app, export_dir=None):
    return Path(export_dir or default_export_dir()) / app


def load_manifest(app, export_dir=None):
    """The manifest of the current export of ``app``, checked for format and version."""
    path = app_export_dir(app, export_dir) / "manifest.json"
    if not path.exists():
        raise SeqappsError(f"no {app} export at {path.parent}: run `python -m apps.{app}.train` "
                           f"first, or pass --export-dir DIR")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SeqappsError(f"{path}:{error.lineno}: manifest is not valid JSON ({error.msg})") from None
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != MANIFEST_VERSION:
        raise SeqappsError(f"{path}: manifest format {manifest.get('format')!r} version "
                           f"{manifest.get('version')!r} is not {MANIFEST_FORMAT} v{MANIFEST_VERSION}: re-export")
    manifest["_root"] = str(path.parent)
    return manifest


def artifact_path(manifest, relative):
    return Path(manifest["_root"]) / relative


class SavedModelRunner:
    """One signature of a SavedModel (``serving_default`` unless named), called with NumPy inputs."""

    def __init__(self, path, signature="serving_default"):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the text ops the graph uses)

        self._tf = tf
        self.model = tf.saved_model.load(str(path))
        if signature not in self.model.signatures:
            raise SeqappsError(f"{path} has no signature {signature!r} (it has: {', '.join(self.model.signatures)}): "
                               f"re-export with this version of seqapps")
        self.signature = self.model.signatures[signature]

    def __call__(self, **inputs):
        _, specs = self.signature.structured_input_signature
        tensors = {name: self._tf.constant(value, dtype=specs[name].dtype if name in specs else None)
                   for name, value in inputs.items()}
        outputs = self.signature(**tensors)
        return {name: _to_numpy(value.numpy()) for name, value in outputs.items()}


class OnnxRunner:
    """An ONNX model in onnxruntime (CPU), called with NumPy inputs; no TensorFlow needed."""

    def __init__(self, path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.output_names = [output.name for output in self.session.get_outputs()]

    def __call__(self, **inputs):
        return dict(zip(self.output_names, self.session.run(self.output_names, inputs)))


def _to_numpy(value):
    """Byte strings become ``str`` in an object array: a fixed-width ``<U`` array would pad
    every entry to the longest (gigabytes for one long token) and drop trailing NULs. A
    scalar string output (TensorFlow gives ``bytes``) becomes a 0-d object array."""
    if isinstance(value, bytes):
        value = np.array(value, dtype=object)
    if value.dtype == object:
        decoded = np.empty(value.size, dtype=object)
        decoded[:] = [item.decode("utf-8") for item in value.ravel()]
        return decoded.reshape(value.shape)
    return value


def run_savedmodel_in_fresh_process(path, inputs, workdir, *, signature="serving_default"):
    """Run a SavedModel's ``signature`` in a new Python process; returns its outputs as NumPy arrays.

    ``inputs`` is one call's ``{name: value}``, or a list of them for several calls (one
    process for all); the result has the same shape.
    """
    import subprocess

    calls = inputs if isinstance(inputs, list) else [inputs]
    workdir = Path(workdir)
    inputs_path, outputs_path = workdir / "parity_inputs.json", workdir / "parity_outputs.npz"
    inputs_path.write_text(json.dumps([{name: _to_json(value) for name, value in call.items()} for call in calls],
                                      ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, "-m", "shared.serving", "savedmodel", str(path), str(inputs_path), str(outputs_path),
               signature]
    result = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if result.returncode != 0:
        raise SeqappsError(f"the exported SavedModel failed to load or run in a fresh process:\n{result.stderr[-2000:]}")
    outputs = [{} for _ in calls]
    with np.load(outputs_path, allow_pickle=False) as data:
        for key in data.files:
            index, name = key.split("/", 1)
            outputs[int(index)][name] = data[key]
    return outputs if isinstance(inputs, list) else outputs[0]


def _to_json(value):
    """Binary inputs (encoded images) travel through the JSON file as ``{"base64": [...]}``."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], bytes):
        return {"base64": [base64.b64encode(item).decode("ascii") for item in value]}
    return value


def _from_json(value):
    if isinstance(value, dict) and "base64" in value:
        return np.array([base64.b64decode(item) for item in value["base64"]], dtype=object)
    return np.array(value)


def _main(argv):
    if len(argv) != 5 or argv[0] != "savedmodel":
        print("usage: python -m shared.serving savedmodel DIR INPUTS.json OUT.npz SIGNATURE", file=sys.stderr)
        return 2
    _, path, inputs_path, outputs_path, signature = argv
    runner = SavedModelRunner(path, signature=signature)
    arrays = {}
    for index, call in enumerate(json.loads(Path(inputs_path).read_text(encoding="utf-8"))):
        outputs = runner(**{name: _from_json(value) for name, value in call.items()})
        arrays.update({f"{index}/{name}": value.astype(str) if value.dtype == object else value  # no pickle
                       for name, value in outputs.items()})
    np.savez(outputs_path, **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
