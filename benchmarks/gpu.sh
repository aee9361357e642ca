#!/usr/bin/env bash
# Everything issue 8 asks of a GPU, in one run (about 10 minutes on one GPU):
#   * each app trained under float32 and under mixed_float16 (benchmarks/speed.py
#     --precision both), with the mixed/float32 training speedup per app;
#   * the cuDNN RNN ops found in each traced training step ("cudnn_rnn_ops" per app in
#     the JSON; an empty list means the generic kernels ran);
#   * every GPU-trained model exported through the non-cuDNN float32 rebuild, with the
#     export's parity checks (a failed export fails its app's row);
#   * the GPU's name ("gpus" per app).
# Needs a CUDA build of TensorFlow (pip install "tensorflow[and-cuda]==2.21.0" in .venv).
# Results: benchmarks/results/speed_gpu.json and speed_gpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
"$python" - <<'PY'
import sys
import tensorflow as tf
gpus = tf.config.list_physical_devices("GPU")
if not gpus:
    sys.exit("error: TensorFlow sees no GPU (is this a CUDA build of TensorFlow on a GPU machine?)")
print("GPUs:", [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus])
PY
exec "$python" -m benchmarks.speed --precision both --out benchmarks/results/speed_gpu.json "$@"
