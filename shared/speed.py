"""Speed measurements behind every train command's ``--speed-report PATH``.

``benchmarks/speed.py`` runs each app's real train command with this flag; the command
then measures, on the model it trained and the files it exported:

* **training throughput**: examples/s and tokens/s over real training steps fed by the
  app's own ``tf.data`` pipeline, and the same steps replayed from batches held in memory.
  Their ratio says whether the pipeline starves training (1.0: it never does);
* **inference**: batch 1 latency and batch 64 throughput of Keras ``predict``, a
  ``tf.function`` of the same model, the SavedModel's ``serving_default`` (raw inputs,
  tokenisation included) and onnxruntime, on padded batches, with the largest difference
  between the ONNX and the TensorFlow outputs on those batches;
* **export time** and the process's **peak memory**.

Training steps taken for the measurement are undone (weights and optimizer state are put
back), so a run with the flag trains and exports exactly the same model as one without.
The report is rewritten (atomically) after every stage, so a failure keeps what was measured.
"""

import resource
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from shared.atomic import write_json

# batch sizes of the inference table and the length given to a model's free time axis
LATENCY_BATCH, THROUGHPUT_BATCH, SYNTHETIC_LENGTH, SYNTHETIC_WIDTH = 1, 64, 128, 16
_report = None


class SpeedReport:
    """The measurements of one train command, written to ``path`` as they come."""

    def __init__(self, path, command, *, training_steps=20, min_seconds=0.5):
        self.path, self.training_steps, self.min_seconds = Path(path), training_steps, min_seconds
        self.data = {"command": list(command), "precision": keras.config.dtype_policy().name,
                     "devices": [device.name for device in tf.config.list_logical_devices()],
                     "gpus": [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                              for gpu in tf.config.list_physical_devices("GPU")]}

    def update(self, **entries):
        self.data.update(entries, peak_memory_mib=peak_memory_mib())
        write_json(self.path, self.data)


def begin(path, command, **options):
    """Turn measuring on for this process (``start_run`` does it for ``--speed-report``)."""
    global _report
    _report = SpeedReport(path, command, **options) if path else None
    if _report:
        _report.update()
    return _report


def active():
    return _report


def peak_memory_mib():
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(function, *, min_seconds=0.5, min_repeats=3, max_repeats=50, warmup=2):
    """Median seconds per call of ``function()`` after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    times, started = [], time.perf_counter()
    while len(times) < min_repeats or (time.perf_counter() - started < min_seconds and len(times) < max_repeats):
        begun = time.perf_counter()
        function()
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def timed_together(functions, *, min_seconds=0.5, calls=3, min_rounds=3, max_rounds=20):
    """Median seconds per call of each of ``functions``, timed in alternating blocks.

    Timing one runtime after the other charges whatever else the machine does meanwhile to
    one of them; in alternating blocks a busy moment slows both. Each block starts with an
    untimed call, so that neither pays for the other's caches or still-spinning threads.
    """
    times, started, rounds = {name: [] for name in functions}, time.perf_counter(), 0
    while rounds < min_rounds or (time.perf_counter() - started < min_seconds * len(functions) and rounds < max_rounds):
        for name, function in functions.items():
            function()
            for _ in range(calls):
                begun = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - begun)
        rounds += 1
    return {name: statistics.median(values) for name, values in times.items()}


# ------------------------------------------------------------------ training


def batch_size_and_tokens(batch):
    """Examples in a training batch, and its tokens: the non-zero ids of the first integer
    sequence input (words, caption words), else the time steps of the first sequence input."""
    inputs = batch[0] if isinstance(batch, tuple) else batch
    tensors = keras.tree.flatten(inputs)
    examples = int(tensors[0].shape[0])
    sequences = [t for t in tensors if len(t.shape) >= 2]
    integer = [t for t in sequences if t.dtype in (tf.int32, tf.int64)]  # ids; uint8 would be pixels
    if integer:
        return examples, int(tf.math.count_nonzero(integer[0] if len(integer[0].shape) == 2 else integer[0][..., 0]))
    return examples, examples * int(sequences[0].shape[1]) if sequences else examples


def measure_training(model, dataset, report=None):
    """Steps fed by ``dataset`` against the same batches replayed from memory; then undo them."""
    report = report or _report
    if model.distribute_strategy.num_replicas_in_sync != 1:
        report.update(training={"skipped": "measured with --strategy none only"})
        return None
    snapshot = [variable.numpy() for variable in model.variables + model.optimizer.variables]
    # one trace for every batch shape the pipeline can make (the last, short batch of an
    # epoch; bucketed lengths): a retrace would be charged to whichever pass met the shape
    step = tf.function(model.train_step, input_signature=[dataset.element_spec])
    steps = report.training_steps

    def run(batches):
        for batch in batches:
            float(step(batch)["loss"])  # wait for the step, as fit's progress bar does

    iterator = iter(dataset.repeat())
    run(next(iterator) for _ in range(3))  # untimed: the trace, the pipeline's first buffers
    held = []
    started = time.perf_counter()
    for _ in range(steps):
        held.append(next(iterator))
        run(held[-1:])
    fed = time.perf_counter() - started
    started = time.perf_counter()
    run(held)
    replayed = time.perf_counter() - started
    for variable, value in zip(model.variables + model.optimizer.variables, snapshot):
        variable.assign(value)

    examples, tokens = map(sum, zip(*(batch_size_and_tokens(batch) for batch in held)))
    result = {
        "steps": steps, "examples": examples, "tokens": tokens,
        "step_ms": {"pipeline": 1000 * fed / steps, "in_memory": 1000 * replayed / steps},
        "examples_per_s": examples / fed, "tokens_per_s": tokens / fed,
        "pipeline_over_in_memory": fed / replayed,
        "cudnn_rnn_ops": cudnn_ops(step, held[0]),
    }
    report.update(training=result)
    return result


def cudnn_ops(function, batch):
    """The cuDNN RNN ops in the traced training step (empty on a CPU): proof of the fast kernels."""
    graph = function.get_concrete_function(batch).graph.as_graph_def()
    nodes = list(graph.node) + [node for library in graph.library.function for node in library.node_def]
    return sorted({node.op for node in nodes if "Cudnn" in node.op})


# ------------------------------------------------------------------ inference


def synthetic_inputs(model, batch, seed=0):
    """A padded batch for ``model``'s inputs: id rows of random lengths then zeros, normal
    floats, the free time axis ``SYNTHETIC_LENGTH`` long (further free axes, characters per word,
    ``SYNTHETIC_WIDTH``). Ids stay below 20 and below every embedding's vocabulary size (the
    cost of a step does not depend on which ids)."""
    rng = np.random.default_rng(seed)
    vocabularies = [layer.input_dim for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding)]
    top = min(vocabularies + [20])
    feed = {}
    for tensor in keras.tree.flatten(model.input):
        free = iter([SYNTHETIC_LENGTH] + [SYNTHETIC_WIDTH] * 8)  # time steps, then characters per word
        shape = [batch] + [next(free) if size is None else size for size in tensor.shape[1:]]
        dtype = keras.backend.standardize_dtype(tensor.dtype)
        if "int" in dtype:
            values = rng.integers(1, top, size=shape)
            if len(shape) >= 2:
                lengths = rng.integers(max(1, shape[1] // 4), shape[1] + 1, size=batch)
                values[np.arange(shape[1])[None, :] >= lengths[:, None]] = 0
            feed[tensor.name] = values.astype(dtype)
        elif dtype == "bool":
            feed[tensor.name] = np.ones(shape, bool)
        else:
            feed[tensor.name] = rng.standard_normal(shape).astype(dtype)
    return feed


def tile(values, batch):
    """The first ``batch`` examples of ``values`` repeated cyclically (raw or id inputs)."""
    return {name: np.resize(np.asarray(value, dtype=object if isinstance(value[0], str) else None),
                            (batch,) + np.shape(value)[1:]) for name, value in values.items()}


def measure_graph(model, onnx_path, report=None):
    """Keras predict, tf.function and onnxruntime on one graph, batch 1 and 64, and their outputs' difference."""
    from shared.serving import OnnxRunner

    report = report or _report
    runner = OnnxRunner(onnx_path)
    onnx_types = {item.name: item.type for item in runner.session.get_inputs()}
    function = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
    result = {"inputs": {t.name: [None, *t.shape[1:]] for t in keras.tree.flatten(model.input)}}
    for batch in (LATENCY_BATCH, THROUGHPUT_BATCH):
        feed = synthetic_inputs(model, batch)
        onnx_feed = {name: value.astype(np.int64 if onnx_types[name] == "tensor(int64)" else value.dtype)
                     for name, value in feed.items()}
        tensors = {name: tf.constant(value) for name, value in feed.items()}
        seconds = {
            "keras_predict": timed(lambda: model.predict(feed, batch_size=batch, verbose=0), min_seconds=report.min_seconds),
            **timed_together({"tf_function": lambda: keras.tree.map_structure(np.asarray, function(tensors)),
                              "onnxruntime": lambda: runner(**onnx_feed)}, min_seconds=report.min_seconds),
        }
        result[f"batch_{batch}"] = {"ms": {k: 1000 * v for k, v in seconds.items()},
                                    "examples_per_s": {k: batch / v for k, v in seconds.items()}}
        if batch == THROUGHPUT_BATCH:
            expected, found = function(tensors), runner(**onnx_feed)
            result["onnx_vs_tf_max_difference"] = max(
                float(np.max(np.abs(np.asarray(expected[name], np.float64) - np.asarray(found[name], np.float64))))
                for name in found)
            result["onnx_speedup_over_tf_function"] = seconds["tf_function"] / seconds["onnxruntime"]
    return result


def measure_savedmodel(path, raw_inputs, report=None):
    """``serving_default`` on raw inputs (strings, prices), in this process: what TF Serving runs."""
    from shared.serving import SavedModelRunner

    report = report or _report
    runner = SavedModelRunner(path)
    result = {}
    for batch in (LATENCY_BATCH, THROUGHPUT_BATCH):
        feed = tile(raw_inputs, batch)
        seconds = timed(lambda: runner(**feed), min_seconds=report.min_seconds)
        result[f"batch_{batch}"] = {"ms": 1000 * seconds, "examples_per_s": batch / seconds}
    return result


def measure_export(bundle, model, staging, export_seconds, report=None):
    """After a successful export: its time, and the inference table of every ONNX graph."""
    report = report or _report
    graphs = {name: measure_graph(graph, staging / "onnx" / f"{name}.onnx", report)
              for name, graph in bundle.onnx_graphs(model).items()}
    savedmodel = (measure_savedmodel(staging / "savedmodel", bundle.parity_inputs, report)
                  if bundle.parity_inputs and not bundle.check_parity else
                  {"skipped": "not timed: this app checks its export with its own decoding loop and inputs"})
    report.update(export_seconds=round(export_seconds, 2), inference={"graphs": graphs, "savedmodel_raw": savedmodel})
