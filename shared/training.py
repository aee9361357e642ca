"""The training conventions every app shares: flags, run directory, callbacks, strategy.

One ``fit`` call gives each app the same behaviour: Keras' progress bar, the best weights
kept (atomically) and restored at the end, early stopping, resume after a killed run
(:class:`RunBackup`), TensorBoard and CSV logs, a wall-clock budget, gradient clipping,
and a run directory holding ``config.json``, ``metrics.json`` and a plot of the curves.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from shared import speed
from shared.atomic import write_file, write_json, write_text
from shared.errors import SeqappsError
from shared.paths import default_runs_dir
from shared.precision import PRECISIONS

STRATEGIES = ("none", "mirrored", "multiworker")
BEST_WEIGHTS = "best.weights.h5"


def add_training_arguments(parser, *, epochs=5, batch_size=32, learning_rate=1e-3, patience=3):
    """Flags every train command has, with this app's defaults."""
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=int, default=epochs, help="passes over the training data (default: %(default)s)")
    group.add_argument("--batch-size", type=int, default=batch_size, help="examples per step, across all devices (default: %(default)s)")
    group.add_argument("--learning-rate", type=float, default=learning_rate, help="Adam learning rate (default: %(default)s)")
    group.add_argument("--clipnorm", "--clip-norm", type=float, default=1.0, help="clip each gradient to this L2 norm; 0 turns clipping off (default: %(default)s)")
    group.add_argument("--patience", type=int, default=patience, help="early stopping: epochs without validation improvement (default: %(default)s)")
    group.add_argument("--time-budget", type=float, default=None, metavar="MINUTES", help="stop cleanly after this many minutes of training and keep the best weights")
    group.add_argument("--seed", type=int, default=1337, help="seed for data order, initialisation and dropout (default: %(default)s)")
    group.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: mixed_float16 on a GPU, float32 on a CPU (default: %(default)s)")
    group.add_argument("--strategy", choices=STRATEGIES, default="none", help="tf.distribute strategy: mirrored copies the model on every local device, multiworker across machines (TF_CONFIG) (default: %(default)s)")
    group.add_argument("--cpu-devices", type=int, default=0, metavar="N", help="with --strategy mirrored and no GPU: split the CPU into N logical devices")
    group.add_argument("--run-dir", type=Path, default=None, help="checkpoints, logs, config and metrics; rerunning with the same run dir resumes an interrupted run (default: runs/<app>)")
    group.add_argument("--fresh", action="store_true", help="ignore an interrupted run's backup in --run-dir and start over")
    group.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch (default: %(default)s)")
    group.add_argument("--speed-report", type=Path, default=None, metavar="PATH", help="after training and at export, measure training throughput, input-pipeline starvation, inference latency and throughput per runtime, export time and peak memory, and write them to PATH as JSON (benchmarks/speed.py uses it; the trained model is unchanged)")
    group.add_argument("--speed-steps", type=int, default=20, metavar="N", help="with --speed-report: training steps per timing (default: %(default)s)")
    group.add_argument("--speed-seconds", type=float, default=0.5, metavar="S", help="with --speed-report: time each runtime and batch size for at least S seconds (default: %(default)s)")
    return group


def set_seed(seed):
    """Seed Python, NumPy and TensorFlow so that a run repeats."""
    keras.utils.set_random_seed(seed)


def make_strategy(name="none", cpu_devices=0):
    """The tf.distribute strategy for ``--strategy``; call before building the model.

    With no GPU, ``cpu_devices`` splits the CPU into logical devices so that a mirrored run
    (and its test) really runs on two replicas. This must happen before TensorFlow first
    touches a device, so train commands call it first.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "multiworker":
        worker_role(required=True)  # a clear error when TF_CONFIG is missing or malformed
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name != "mirrored":
        raise SeqappsError(f"unknown --strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    gpus = tf.config.list_physical_devices("GPU")
    if gpus or cpu_devices < 2:
        return tf.distribute.MirroredStrategy()
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
    except RuntimeError as error:
        raise SeqappsError(f"--cpu-devices must be set before TensorFlow starts: {error}") from None
    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)


def worker_role(required=False):
    """``(task type, index, is_chief)`` of this process in the ``TF_CONFIG`` cluster.

    The chief is the ``chief`` task, or worker 0 when the cluster names none, as
    ``MultiWorkerMirroredStrategy`` has it. Without ``TF_CONFIG`` this process is a cluster
    of one: its own chief.
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        if required:
            raise SeqappsError("--strategy multiworker needs TF_CONFIG, e.g. "
                               '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                               '"task": {"type": "worker", "index": 0}} (see the README)')
        return "worker", 0, True
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        kind, index = task["type"], int(task["index"])
        if index >= len(cluster[kind]):
            raise ValueError(f"task index {index} but the cluster has {len(cluster[kind])} {kind}(s)")
    except (ValueError, KeyError, TypeError) as error:
        raise SeqappsError(f"TF_CONFIG is not a valid cluster spec ({type(error).__name__}: {error}): "
                           f"expected {{'cluster': {{'worker': [...]}}, 'task': {{'type': 'worker', 'index': N}}}}")
    return kind, index, kind == "chief" or ("chief" not in cluster and kind == "worker" and index == 0)


def is_chief():
    return worker_role()[2]


def start_run(args, log=print):
    """Strategy, seed and precision from the shared flags, in the order TensorFlow needs.

    The strategy comes first: splitting the CPU into logical devices must happen before
    TensorFlow touches a device. Returns the strategy.
    """
    from shared.precision import apply_precision

    strategy = make_strategy(args.strategy, args.cpu_devices)
    log(describe_strategy(strategy))
    set_seed(args.seed)
    apply_precision(args.precision, log=log)
    speed.begin(getattr(args, "speed_report", None), sys.argv, training_steps=getattr(args, "speed_steps", 20),
                min_seconds=getattr(args, "speed_seconds", 0.5))
    return strategy


def describe_strategy(strategy):
    """One line for the log: which strategy, over how many replicas."""
    if strategy.num_replicas_in_sync == 1 and type(strategy).__name__.startswith("_Default"):
        return "strategy: none (one device)"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        kind, index, chief = worker_role()
        return (f"strategy: MultiWorkerMirroredStrategy with {strategy.num_replicas_in_sync} replicas; this is "
                f"{kind} {index}{' (chief)' if chief else ''}")
    return f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replicas"


def prepare_run_dir(app, run_dir, config, *, fresh=False, outputs=(), log=print):
    """Create the run directory, save the config, and say whether this run resumes another.

    A run that does not resume first removes the previous run's results (metrics, best
    weights, and the app's own ``outputs`` such as plots), so none can pass for this run's.
    """
    run_dir = Path(run_dir or default_runs_dir() / app)
    backup = run_dir / "backup"
    if fresh and backup.exists():
        shutil.rmtree(backup)
    resuming = backup.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resuming:
        for stale in ("history.csv", "history.png", BEST_WEIGHTS, "best.json", "metrics.json", *outputs):
            (run_dir / stale).unlink(missing_ok=True)
    write_json(run_dir / "config.json", {"app": app, **_jsonable(config)})
    log(f"run directory: {run_dir}" + ("  (resuming the interrupted run found there)" if resuming else ""))
    return run_dir, resuming


def _jsonable(config):
    items = vars(config).items() if isinstance(config, argparse.Namespace) else dict(config).items()
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in items}


class RunBackup(keras.callbacks.Callback):
    """Resume a killed run where it stopped, with its logs and counters in step.

    What Keras' ``BackupAndRestore`` does, with the gaps a real kill finds closed:

    * **atomic**: each save writes a new weights file, then replaces the metadata that
      names it, so the backup is always the last complete pair (Keras rewrites
      ``latest.weights.h5`` in place: a kill during the save leaves weights that do not load);
    * **saved last**: :attr:`saver` goes last in the callback list, so an epoch is backed up
      only once every other callback has logged it; on resume, ``history.csv`` rows of
      epochs the backup does not hold (a kill between the row and the backup) are cut, so
      each epoch is logged exactly once;
    * **counters**: early stopping's patience count and best value travel with the weights,
      so a resumed run stops when the uninterrupted one would have;
    * **one cluster, one backup**: under ``MultiWorkerMirroredStrategy`` every worker takes
      the chief's weights, optimizer state, epoch and counters, whichever epoch its own
      backup holds (a kill can catch the workers an epoch apart), so all run the same steps.
    """

    def __init__(self, folder, *, history=None, early_stopping=None):
        super().__init__()
        self.folder, self.history, self.early_stopping = Path(folder), history, early_stopping
        self.metadata_path = self.folder / "training_metadata.json"
        self.saver = _SaveBackup(self)
        self._counters = None

    def on_train_begin(self, logs=None):
        metadata = json.loads(self.metadata_path.read_text()) if self.metadata_path.exists() else {}
        if metadata:
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)
            # a backup left by Keras' own callback has no "weights" entry
            self.model.load_weights(self.folder / metadata.get("weights", "latest.weights.h5"))
        epoch, counters = metadata.get("epoch", 0), metadata.get("early_stopping")
        if isinstance(self.model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            epoch, counters = take_the_chiefs(self.model, epoch, counters)
        self.model._initial_epoch = epoch
        self._counters = counters
        if self.history and epoch:
            keep_epochs_before(self.history, epoch)

    def restore_counters(self):
        """Early stopping's counters, once its own ``on_train_begin`` has reset them."""
        if self.early_stopping is not None and self._counters:
            for name, value in self._counters.items():
                setattr(self.early_stopping, name, value)

    def save(self, epoch):
        name = f"epoch-{epoch + 1}.weights.h5"
        write_file(self.folder / name, lambda path: self.model.save_weights(path, overwrite=True), suffix=".weights.h5")
        metadata = {"epoch": epoch + 1, "weights": name}
        if self.early_stopping is not None:
            stopper = self.early_stopping
            metadata["early_stopping"] = {"wait": int(stopper.wait), "best_epoch": int(stopper.best_epoch),
                                          "best": None if stopper.best is None else float(stopper.best)}
        write_json(self.metadata_path, metadata)
        for older in self.folder.glob("epoch-*.weights.h5"):
            if older.name != name:
                older.unlink(missing_ok=True)

    def on_train_end(self, logs=None):
        shutil.rmtree(self.folder, ignore_errors=True)


class _SaveBackup(keras.callbacks.Callback):
    """The end-of-epoch half of :class:`RunBackup`: last in the list, after every log."""

    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def on_train_begin(self, logs=None):
        self.backup.restore_counters()

    def on_epoch_end(self, epoch, logs=None):
        self.backup.save(epoch)


def keep_epochs_before(history_csv, epoch):
    """Cut ``history.csv`` back to the rows of epochs before ``epoch`` (atomically)."""
    import csv
    import io

    path = Path(history_csv)
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or "epoch" not in rows[0]:
        return
    column = rows[0].index("epoch")
    kept = [rows[0]] + [row for row in rows[1:] if len(row) > column and int(float(row[column])) < epoch]
    if len(kept) < len(rows):
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        write_text(path, text.getvalue())


def take_the_chiefs(model, epoch, counters):
    """The chief's weights, optimizer state, epoch and early-stopping counters, on every worker.

    One all-reduce in which only global replica 0 (on the chief) contributes. Every worker
    calls it at the start of training, whether or not it found a backup of its own.
    """
    strategy = model.distribute_strategy
    variables = list(model.weights) + list(model.optimizer.variables)
    counters = counters or {}
    best = counters.get("best")
    numbers = [epoch, counters.get("wait", -1), counters.get("best_epoch", 0), np.nan if best is None else best]

    @tf.function
    def chiefs(values):
        def replica(values):
            context = tf.distribute.get_replica_context()
            own = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), tf.float64)
            return context.all_reduce(tf.distribute.ReduceOp.SUM, [tf.cast(value, tf.float64) * own for value in values])
        return strategy.experimental_local_results(strategy.run(replica, args=(values,)))[0]

    values = chiefs([tf.convert_to_tensor(variable) for variable in variables] + [tf.constant(numbers, tf.float64)])
    for variable, value in zip(variables, values):
        variable.assign(tf.cast(value, variable.dtype))
    epoch, wait, best_epoch, best = values[-1].numpy().tolist()
    counters = None if wait < 0 else {"wait": int(wait), "best_epoch": int(best_epoch),
                                      "best": None if np.isnan(best) else best}
    return int(epoch), counters


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the best epoch on disk, written atomically, surviving a resume.

    Unlike ``ModelCheckpoint`` it never leaves a half-written file (it writes a temporary
    file and renames it) and it remembers the best score across an interrupted run.
    """

    def __init__(self, run_dir, monitor="val_loss", mode="min"):
        super().__init__()
        self.path = Path(run_dir) / BEST_WEIGHTS
        self.record = Path(run_dir) / "best.json"
        self.monitor, self.mode = monitor, mode
        self.best = None
        self.best_epoch = None

    def on_train_begin(self, logs=None):
        if self.record.exists() and self.path.exists():
            saved = json.loads(self.record.read_text())
            self.best, self.best_epoch = saved["value"], saved["epoch"]

    def _improved(self, value):
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value) or not self._improved(value):
            return
        write_file(self.path, lambda temporary: self.model.save_weights(temporary, overwrite=True),
                   suffix=".weights.h5")
        self.best, self.best_epoch = float(value), epoch + 1
        write_json(self.record, {"monitor": self.monitor, "value": self.best, "epoch": self.best_epoch})


class TimeBudget(keras.callbacks.Callback):
    """Stop training cleanly once ``minutes`` of wall-clock time have passed."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = minutes * 60.0
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start > self.seconds:
            self.model.stop_training = True
            self.stopped = True


@keras.saving.register_keras_serializable(package="seqapps")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate rises linearly from 0 over ``warmup_steps``, then stays at ``peak``.

    Adam moves every weight by about the learning rate per step whatever the gradient's
    size, so in the first steps, before its moment estimates settle, a softmax over a large
    vocabulary can push a tanh layer into saturation, and the model is stuck predicting the
    word frequencies (measured on the Anki corpus, 15,000 Spanish words: without warmup
    every unit of the attentional layer was saturated after 100 steps).
    """

    def __init__(self, peak, warmup_steps):
        self.peak, self.warmup_steps = float(peak), int(warmup_steps)

    def __call__(self, step):
        progress = keras.ops.cast(step + 1, "float32") / float(max(self.warmup_steps, 1))
        return self.peak * keras.ops.minimum(1.0, progress)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def make_optimizer(args, warmup_steps=0):
    """Adam with the shared ``--learning-rate`` and ``--clipnorm``, optionally warmed up."""
    rate = LinearWarmup(args.learning_rate, warmup_steps) if warmup_steps else args.learning_rate
    return keras.optimizers.Adam(learning_rate=rate, clipnorm=args.clipnorm or None)


def fit(model, train_data, validation_data, *, args, run_dir, monitor="val_loss", mode="min", callbacks=(),
        log=print):
    """Train with the shared callbacks and return a summary of how training went.

    Whatever stops training (epochs done, early stopping, the time budget), the model
    ends holding its best validation weights. ``callbacks`` run before the shared ones, so
    a callback that adds a validation metric to the logs can be the one ``monitor`` names.
    """
    best = BestWeights(run_dir, monitor, mode)
    budget = TimeBudget(args.time_budget) if args.time_budget else None
    early_stopping = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=args.patience)
    history_csv = Path(run_dir) / "history.csv"
    # first to restore (before the CSV log opens), last to save (after every log of the epoch)
    backup = RunBackup(Path(run_dir) / "backup", history=history_csv, early_stopping=early_stopping)
    callbacks = [backup, *callbacks, best, early_stopping,
                 keras.callbacks.CSVLogger(str(history_csv), append=True),
                 keras.callbacks.TensorBoard(str(Path(run_dir) / "logs"), write_graph=False),
                 *([budget] if budget else []), backup.saver]
    started = time.monotonic()
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        history = _fit_multiworker(model, train_data, validation_data, callbacks, epochs=args.epochs, log=log)
    else:
        history = model.fit(train_data, validation_data=validation_data, epochs=args.epochs,
                            callbacks=callbacks, verbose=args.verbose, shuffle=False)
    seconds = time.monotonic() - started
    if best.path.exists():
        model.load_weights(best.path)
    if budget and budget.stopped:
        log(f"time budget of {args.time_budget:g} min reached: stopped, keeping the best weights")
    if speed.active():
        log("speed report: timing training steps (then undoing them) ...")
        speed.measure_training(model, train_data)
    plot_history(history_csv, Path(run_dir) / "history.png")
    return {
        "epochs_run": len(history.epoch),
        "best_epoch": best.best_epoch,
        f"best_{monitor}": best.best,
        "train_seconds": round(seconds, 1),
        "stopped_by_time_budget": bool(budget and budget.stopped),
    }


def _fit_multiworker(model, train_data, validation_data, callbacks, *, epochs, log=print):
    """``model.fit`` for ``MultiWorkerMirroredStrategy``, which Keras 3.15's own ``fit`` cannot run.

    The step functions are Keras' own (``train_step``, ``test_step``: the same losses,
    scaling across replicas and metrics); this loop only feeds them distributed batches and
    calls the same callbacks at the same points, so checkpoints, resume, early stopping and
    the logs work as with ``fit``. Every worker must run the same number of steps, so a
    stop is decided only at the end of an epoch and agreed by all workers (the time budget
    therefore stops after the epoch in which it ran out).
    """
    strategy = model.distribute_strategy
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = strategy.experimental_distribute_dataset(train_data.with_options(options))
    validation = strategy.experimental_distribute_dataset(validation_data.with_options(options))
    with strategy.scope():
        # what fit does first: build the optimizer and metric variables from one local batch
        model._symbolic_build(data_batch=next(iter(train_data)))
    train_step = tf.function(lambda batch: strategy.run(model.train_step, args=(batch,)))
    test_step = tf.function(lambda batch: strategy.run(model.test_step, args=(batch,)))
    # any worker's stop (the time budget, early stopping) stops all: the sum of their flags
    agree = tf.function(lambda flag: strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.identity, args=(flag,)),
                                                     axis=None))
    callback_list = keras.callbacks.CallbackList(callbacks, add_history=True, model=model, epochs=epochs, verbose=0)
    model.stop_training = False
    callback_list.on_train_begin()
    logs = {}
    for epoch in range(getattr(model, "_initial_epoch", 0) or 0, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for step, batch in enumerate(train):
            callback_list.on_train_batch_begin(step)
            train_step(batch)
            callback_list.on_train_batch_end(step)
        logs = {name: float(value) for name, value in model.get_metrics_result().items()}
        model.reset_metrics()
        for batch in validation:
            test_step(batch)
        logs.update({f"val_{name}": float(value) for name, value in model.get_metrics_result().items()})
        callback_list.on_epoch_end(epoch, logs)
        model.stop_training = bool(agree(tf.constant(float(model.stop_training))).numpy() > 0)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return model.history


def plot_history(csv_path, png_path):
    """Loss and metric curves per epoch, for people who would rather look than read."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not Path(csv_path).exists():
        return None
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    names = sorted({key.removeprefix("val_") for key in rows[0] if key not in ("epoch", "learning_rate")})
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    epochs = [int(row["epoch"]) + 1 for row in rows]
    for axis, name in zip(axes[0], names):
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            if key in rows[0]:
                axis.plot(epochs, [float(row[key]) for row in rows], style, label=key)
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    figure.savefig(png_path, dpi=90)
    plt.close(figure)
    return png_path


def write_metrics(run_dir, metrics, log=print):
    """``metrics.json`` in the run directory, written atomically."""
    path = Path(run_dir) / "metrics.json"
    write_json(path, metrics)
    log(f"metrics written to {path}")
    return path
