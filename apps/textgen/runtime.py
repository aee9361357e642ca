"""Load an exported language model for the score and generate commands, either runtime.

Both commands call the same two functions, whatever the runtime: ``score(texts)`` returns
``(log_prob, perplexity, tokens)`` arrays and ``generate(prompt, length, temperature, top_k,
seed)`` a dict with ``text``, ``token_ids`` and ``log_prob``. The SavedModel tokenises and
loops inside its graph; the ONNX route tokenises with the Python reference tokenizer and
drives ``step.onnx`` with the NumPy loops of ``apps/textgen/host_loop.py``.
"""

import json

import numpy as np

from apps.textgen.data import join_tokens, load_tokenizer, pad_ids
from shared.errors import SeqappsError
from shared.serving import OnnxRunner, SavedModelRunner, artifact_path, load_manifest
from shared.text import PAD_ID, words_until_eos

APP = "textgen"


def _tokenizer(manifest):
    name = "char_tokenizer.json" if "char_tokenizer.json" in manifest["files"] else "tokenizer.json"
    return load_tokenizer(artifact_path(manifest, manifest["files"][name]))


class SavedModelBackend:
    def __init__(self, manifest):
        path = artifact_path(manifest, manifest["savedmodel"]["path"])
        self.scorer = SavedModelRunner(path)
        self.generator = SavedModelRunner(path, signature="generate")

    def score(self, texts):
        out = self.scorer(sentences=np.array(texts, dtype=object))
        return out["log_prob"], out["perplexity"], out["tokens"]

    def generate(self, prompt, length, temperature, top_k, seed):
        out = self.generator(prompt=prompt, length=length, temperature=temperature, top_k=top_k, seed=seed)
        return {"text": str(out["text"]), "token_ids": out["token_ids"].tolist(), "log_prob": float(out["log_prob"])}


class OnnxBackend:
    def __init__(self, manifest):
        self.tokenizer = _tokenizer(manifest)
        spec = json.loads(artifact_path(manifest, manifest["files"]["generation.json"]).read_text(encoding="utf-8"))
        self.state_names, self.units = spec["state"], spec["units"]
        self.step = OnnxRunner(artifact_path(manifest, manifest["onnx"]["models"]["step"]["path"]))

    def score(self, texts):
        from apps.textgen.host_loop import score_ids_np

        ids = pad_ids([self.tokenizer.encode(text) for text in texts])
        return score_ids_np(self.step, self.state_names, self.units, ids)

    def generate(self, prompt, length, temperature, top_k, seed):
        from apps.textgen.host_loop import generate_np

        prompt_ids = [i for i in self.tokenizer.encode(prompt) if i != PAD_ID]
        token_ids, log_prob = generate_np(self.step, self.state_names, self.units, prompt_ids, length,
                                          temperature, top_k, seed)
        return {"text": join_tokens(self.tokenizer, words_until_eos(self.tokenizer, token_ids)),
                "token_ids": [int(i) for i in token_ids],
                "log_prob": float(log_prob)}


def load_backend(runtime="savedmodel", export_dir=None):
    manifest = load_manifest(APP, export_dir)
    if runtime not in ("savedmodel", "onnx"):
        raise SeqappsError(f"--runtime must be savedmodel or onnx, not {runtime!r}")
    backend = (SavedModelBackend if runtime == "savedmodel" else OnnxBackend)(manifest)
    backend.level = "char" if "char_tokenizer.json" in manifest["files"] else "word"
    return backend
