"""Security hardening: pinned downloads, safe extraction, no pickle, safe model loading, no Lambda.

Already covered elsewhere (not repeated here):

- tests/shared/test_datasets.py: a wrong sha256 over HTTP is refused and leaves no file
  (``test_fetch_wrong_sha_raises_and_leaves_no_file``); a matching one is cached and reused
  offline (``test_fetch_downloads_verifies_and_then_uses_the_cache``); ``safe_extract``
  refuses tar ``..``/nested ``..``/absolute/symlink/hardlink/fifo and zip ``..``/absolute/
  symlink members, leaving the output folder empty (``test_safe_extract_refuses_unsafe_members``).
- tests/shared/test_embeddings.py: the vectors cache is ``vectors.npy`` written and read with
  ``allow_pickle=False`` (``test_save_vectors_layout_and_atomic_overwrite``) and a pickle
  handed to the vectors loader is refused (``test_malformed_binary_and_cache_files``).
"""

import ast
import hashlib
import re
import tarfile
from pathlib import Path

import keras
import numpy as np
import pytest

from shared import datasets
from tests.archives import link_member, make_tar, make_zip
from shared.datasets import RemoteDataset, cached_path, fetch, safe_extract
from shared.errors import SeqappsError

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("apps", "shared", "benchmarks")


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file() or p.is_symlink())


def pinned(url, payload, **kwargs):
    kwargs.setdefault("filename", "toy.txt")
    return RemoteDataset(name="toy", url=url, sha256=hashlib.sha256(payload).hexdigest(), **kwargs)


# ---------------------------------------------------------------------------------------
# 1. Downloads are verified by sha256 before use
# ---------------------------------------------------------------------------------------


def test_file_url_download_with_the_wrong_sha256_is_never_extracted(tmp_path, monkeypatch):
    archive_bytes = make_tar({"corpus/a.txt": b"alpha"})
    source = tmp_path / "served" / "corpus.tar.gz"
    source.parent.mkdir()
    source.write_bytes(archive_bytes)
    dataset = pinned(source.as_uri(), b"not these bytes", filename="corpus.tar.gz", extract=True)
    opened = []
    monkeypatch.setattr(datasets, "safe_extract", lambda *args: opened.append(args))
    cache = tmp_path / "cache"
    with pytest.raises(SeqappsError, match="corrupt or has changed: expected sha256"):
        fetch(dataset, cache=cache, offline=False, progress=False)
    assert opened == []  # the bad archive was never opened
    assert files_under(cache) == []  # neither under its final name nor as a .part file
    assert not cached_path(dataset, cache).exists()


def test_file_url_download_with_the_right_sha256_is_accepted(tmp_path):
    payload = b"the pinned bytes\n"
    source = tmp_path / "toy.txt"
    source.write_bytes(payload)
    path = fetch(pinned(source.as_uri(), payload), cache=tmp_path / "cache", offline=False, progress=False)
    assert path.read_bytes() == payload
    assert files_under(tmp_path / "cache") == ["datasets/toy/toy.txt"]


def test_a_cached_file_corrupted_later_is_detected_on_every_fetch(tmp_path):
    payload = b"good bytes\n" * 100
    source = tmp_path / "toy.txt"
    source.write_bytes(payload)
    dataset = pinned(source.as_uri(), payload)
    cache = tmp_path / "cache"
    path = fetch(dataset, cache=cache, offline=False, progress=False)
    path.write_bytes(b"tampered")
    with pytest.raises(SeqappsError, match="the cached copy has the wrong sha256"):
        fetch(dataset, cache=cache, offline=True, progress=False)
    # online, the tampered copy is replaced by a verified download
    assert fetch(dataset, cache=cache, offline=False, progress=False).read_bytes() == payload
    # and if the source changed too, the download is refused and the bad copy never returned
    path.write_bytes(b"tampered again")
    source.write_bytes(b"the source changed")
    with pytest.raises(SeqappsError, match="corrupt or has changed"):
        fetch(dataset, cache=cache, offline=False, progress=False)
    assert files_under(cache) == ["datasets/toy/toy.txt"]  # no .part file left behind


def test_a_corrupted_cached_archive_is_downloaded_and_extracted_again(tmp_path):
    payload = make_tar({"corpus/a.txt": b"alpha"})
    source = tmp_path / "corpus.tar.gz"
    source.write_bytes(payload)
    dataset = pinned(source.as_uri(), payload, filename="corpus.tar.gz", extract=True)
    cache = tmp_path / "cache"
    folder = fetch(dataset, cache=cache, offline=False, progress=False)
    (folder / "corpus" / "a.txt").write_bytes(b"stale")
    (cache / "datasets" / "toy" / "corpus.tar.gz").write_bytes(b"tampered")
    assert fetch(dataset, cache=cache, offline=False, progress=False) == folder
    assert (folder / "corpus" / "a.txt").read_bytes() == b"alpha"


# ---------------------------------------------------------------------------------------
# 2. Extraction refuses absolute paths, ``..`` and links, at every entry point
# ---------------------------------------------------------------------------------------


# The unsafe member always comes after a good one, so "refused before anything is written"
# is really tested. Cases already in test_datasets.py are repeated only through fetch().
UNSAFE = {
    "tar-absolute": (lambda: make_tar({"ok.txt": b"1", "/tmp/seqapps-evil": b"x"}), "/tmp/seqapps-evil"),
    "tar-dotdot": (lambda: make_tar({"ok.txt": b"1", "../evil": b"x"}), "../evil"),
    "tar-symlink-then-write-through-it": (
        lambda: make_tar({"ok.txt": b"1"}, extra=[link_member("escape", "..")]), "escape"),
    "tar-relative-symlink-outside": (
        lambda: make_tar({"ok.txt": b"1"}, extra=[link_member("inner/link", "../../evil")]), "inner/link"),
    "tar-hardlink-outside": (
        lambda: make_tar({"ok.txt": b"1"}, extra=[link_member("hard", "../evil", tarfile.LNKTYPE)]), "hard"),
    "tar-chardevice": (lambda: make_tar({"ok.txt": b"1"}, extra=[link_member("dev", "", tarfile.CHRTYPE)]), "dev"),
    "zip-absolute": (lambda: make_zip({"ok.txt": b"1", "/abs/evil": b"x"}), "/abs/evil"),
    "zip-dotdot": (lambda: make_zip({"ok.txt": b"1", "../evil": b"x"}), "../evil"),
    "zip-backslash-dotdot": (lambda: make_zip({"ok.txt": b"1", "..\\evil": b"x"}), "..\\evil"),
    "zip-windows-drive": (lambda: make_zip({"ok.txt": b"1", "C:\\evil": b"x"}), "C:\\evil"),
    "zip-symlink": (lambda: make_zip({"ok.txt": b"1"}, symlinks=[("link", "../evil")]), "link"),
}
# zip has no hardlinks; a zip entry can only be a file, a folder or (by its mode) a symlink.


def assert_nothing_escaped(sandbox, allowed):
    """Only ``allowed`` (relative paths) exist anywhere under ``sandbox``; /tmp is untouched."""
    assert files_under(sandbox) == sorted(allowed)
    assert not Path("/tmp/seqapps-evil").exists()


@pytest.mark.parametrize("case", UNSAFE)
def test_safe_extract_refuses_and_keeps_an_existing_folder(tmp_path, case):
    make, member = UNSAFE[case]
    sandbox = tmp_path / "sandbox"
    (sandbox / "out" / "dest").mkdir(parents=True)
    (sandbox / "out" / "dest" / "previous.txt").write_bytes(b"kept")
    archive = sandbox / "bad.archive"
    archive.write_bytes(make())
    with pytest.raises(SeqappsError, match="refusing to extract") as caught:
        safe_extract(archive, sandbox / "out" / "dest")
    assert repr(member) in str(caught.value)
    assert_nothing_escaped(sandbox, ["bad.archive", "out/dest/previous.txt"])


@pytest.mark.parametrize("case", ["tar-absolute", "tar-dotdot", "tar-relative-symlink-outside",
                                  "tar-hardlink-outside", "zip-absolute", "zip-dotdot", "zip-symlink"])
def test_fetch_refuses_an_unsafe_archive_even_with_the_right_sha256(tmp_path, case):
    make, member = UNSAFE[case]
    payload = make()
    sandbox = tmp_path / "sandbox"
    source = tmp_path / "corpus.tar.gz"
    source.write_bytes(payload)
    dataset = pinned(source.as_uri(), payload, filename="corpus.tar.gz", extract=True)
    with pytest.raises(SeqappsError, match="refusing to extract") as caught:
        fetch(dataset, cache=sandbox, offline=False, progress=False)
    assert repr(member) in str(caught.value)
    assert_nothing_escaped(sandbox, ["datasets/toy/corpus.tar.gz"])


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_stocks_archive_reader_never_follows_a_link_member(tmp_path, kind):
    """apps/stocks reads one CSV straight out of a tar (no extraction); links are not files."""
    from apps.stocks.data import load_prices

    secret = tmp_path / "secret.csv"
    secret.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,1\n")
    archive = tmp_path / "prices.tar.gz"
    archive.write_bytes(make_tar({}, extra=[link_member("msft.csv", str(secret) if kind == tarfile.SYMTYPE
                                                     else "../secret.csv", kind)]))
    with pytest.raises(SeqappsError, match="expected exactly one .csv member"):
        load_prices(archive, log=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prices.tar.gz", "secret.csv"]


# ---------------------------------------------------------------------------------------
# 3. Nothing of ours is stored with pickle
# ---------------------------------------------------------------------------------------

PICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
# gensim's own .save()/.load() pickle the whole model; only *_word2vec_format is plain data
GENSIM_CLASSES = re.compile(r"(KeyedVectors|Word2Vec|FastText|Doc2Vec|\bwv)\b")


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_false(node):
    return isinstance(node, ast.Constant) and node.value is False


def pickle_problems(source, name="<source>"):
    """Every use of pickle (or something that pickles) in one Python source, as messages."""
    problems = []
    tree = ast.parse(source, name)
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            problems += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in PICKLING_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PICKLING_MODULES:
            problems.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted.split(".")[0] in PICKLING_MODULES and "." in dotted:
                problems.append(f"{where}: {dotted}")
            if dotted in ("torch.load", "torch.save") or node.attr in ("read_pickle", "to_pickle"):
                problems.append(f"{where}: {dotted}")
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not _is_false(node.value):
            problems.append(f"{where}: allow_pickle={ast.unparse(node.value)}")
        if isinstance(node, ast.Call):
            dotted = _dotted(node.func)
            if dotted in ("np.load", "numpy.load", "np.save", "numpy.save") and not _is_false(
                    _keyword(node, "allow_pickle")):
                problems.append(f"{where}: {dotted}(...) without allow_pickle=False")
    imports_gensim = any(
        (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "gensim" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gensim")
        for node in ast.walk(tree))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = _dotted(node.func.value)
        gensim_object = GENSIM_CLASSES.search(receiver) or (imports_gensim and receiver not in ("np", "numpy", "json"))
        if node.func.attr in ("save", "load") and gensim_object:
            problems.append(f"{name}:{node.lineno}: gensim-style {receiver}.{node.func.attr}() (pickles the model)")
    return problems


def python_sources():
    files = [path for top in SCANNED for path in sorted((REPO / top).rglob("*.py"))]
    assert len(files) > 30, "the scan found (almost) no sources: wrong folder?"
    return files


def test_the_scanner_catches_every_pickling_pattern():
    bad = {
        "import pickle": "import pickle",
        "from joblib import dump": "from joblib",
        "import cloudpickle as cp": "import cloudpickle",
        "x = pickle.loads(b)": "pickle.loads",
        "np.load(path, allow_pickle=True)": "allow_pickle=True",
        "np.load(path)": "without allow_pickle=False",
        "numpy.load(path, mmap_mode='r')": "without allow_pickle=False",
        "np.save(path, array)": "without allow_pickle=False",
        "torch.load(path)": "torch.load",
        "frame.to_pickle(path)": "to_pickle",
        "import gensim\nmodel.save('w2v.model')": "gensim-style",
        "from gensim.models import KeyedVectors\nKeyedVectors.load('x.kv')": "gensim-style",
    }
    for source, expected in bad.items():
        problems = pickle_problems(source)
        assert any(expected in problem for problem in problems), (source, problems)
    good = ("np.load(path, allow_pickle=False)\nnp.save(path, a, allow_pickle=False)\n"
            "import gensim\nKeyedVectors.load_word2vec_format(path)\nnp.load(p, allow_pickle=False)\n"
            "tokenizer.save_json(path)\njson.load(file)\n")
    assert pickle_problems(good) == []
    assert pickle_problems('"""trained on text that gensim ships"""\ntokenizer.save(path)\n') == []


def test_no_source_of_ours_uses_pickle():
    problems = []
    for path in python_sources():
        problems += pickle_problems(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert problems == []


PICKLE_HEADERS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))


def looks_pickled(path):
    with open(path, "rb") as file:
        head = file.read(2)
    return head in PICKLE_HEADERS or path.suffix.lower() in (".pkl", ".pickle", ".joblib")


def test_the_pickle_detector_recognises_pickles(tmp_path):
    import pickle  # only to produce the bytes the detector must catch

    for protocol in range(2, 6):
        path = tmp_path / f"p{protocol}.bin"
        path.write_bytes(pickle.dumps({"a": 1}, protocol=protocol))
        assert looks_pickled(path)
    (tmp_path / "named.pkl").write_bytes(b"{}")
    assert looks_pickled(tmp_path / "named.pkl")
    (tmp_path / "plain.json").write_text("{}")
    assert not looks_pickled(tmp_path / "plain.json")


def test_a_demo_training_run_and_export_write_no_pickle(demo_exports):
    root, _ = demo_exports("sentiment")
    written = [p for top in ("runs", "exported") for p in (root / top).rglob("*") if p.is_file()]
    assert len(written) > 5 and any(p.name.endswith(".weights.h5") for p in written)
    assert [str(p.relative_to(root)) for p in written if looks_pickled(p)] == []


# ---------------------------------------------------------------------------------------
# 4. Keras models are loaded with safe_mode
# ---------------------------------------------------------------------------------------


def model_loading_problems(source, name="<source>"):
    """``safe_mode=False`` anywhere, unsafe deserialization switched on, or a ``.keras`` load."""
    problems = []
    for node in ast.walk(ast.parse(source, name)):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.keyword) and node.arg == "safe_mode" and not (
                isinstance(node.value, ast.Constant) and node.value.value is True):
            problems.append(f"{where}: safe_mode={ast.unparse(node.value)}")
        if isinstance(node, ast.Attribute) and node.attr == "enable_unsafe_deserialization":
            problems.append(f"{where}: {_dotted(node)}")
        if isinstance(node, ast.Call) and _dotted(node.func).endswith("load_model"):
            if not isinstance(_keyword(node, "safe_mode"), ast.Constant):
                problems.append(f"{where}: {_dotted(node.func)} without an explicit safe_mode=True")
    return problems


def test_the_model_loading_scanner_catches_unsafe_loads():
    assert model_loading_problems("keras.saving.load_model(p, safe_mode=False)")
    assert model_loading_problems("keras.models.load_model(p)")
    assert model_loading_problems("keras.config.enable_unsafe_deserialization()")
    assert model_loading_problems("deserialize_keras_object(c, safe_mode=flag)")
    assert model_loading_problems("keras.saving.load_model(p, safe_mode=True)") == []


def test_our_code_never_loads_a_model_unsafely():
    """Our code reloads only weights (``load_weights`` of ``.weights.h5``), never a ``.keras``
    file; serving loads SavedModels and ONNX. Any model load added later must be safe."""
    problems = []
    for path in python_sources():
        problems += model_loading_problems(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert problems == []


def test_a_keras_file_with_a_lambda_layer_is_refused_in_safe_mode(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="(?i)lambda|safe_mode"):
        keras.saving.load_model(path, safe_mode=True)
    with pytest.raises(ValueError, match="(?i)lambda|safe_mode"):
        keras.saving.load_model(path)  # the default is safe
    # the file itself is fine: only safe mode stops it (so the refusal above is the Lambda)
    loaded = keras.saving.load_model(path, safe_mode=False)
    assert np.allclose(loaded(np.ones((1, 3), np.float32)), 2.0)


# ---------------------------------------------------------------------------------------
# 5. Our models contain no Lambda layers and serialize without Python code
# ---------------------------------------------------------------------------------------


def all_layers(model):
    """Every layer reachable from ``model``: nested models, wrappers, RNN cells, sub-layers."""
    seen, stack, found = set(), [model], []
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        found.append(layer)
        children = list(getattr(layer, "layers", None) or []) + list(layer._flatten_layers(include_self=False))
        for attribute in ("layer", "forward_layer", "backward_layer", "cell"):
            child = getattr(layer, attribute, None)
            if isinstance(child, keras.layers.Layer):
                children.append(child)
        stacked = getattr(getattr(layer, "cell", None), "cells", None)  # StackedRNNCells
        children += list(stacked) if isinstance(stacked, (list, tuple)) else []
        stack += children
    return found


def lambda_layers(model):
    return [layer.name for layer in all_layers(model) if isinstance(layer, keras.layers.Lambda)]


def app_models():
    """``{name: keras.Model}`` for every app with tiny sizes, export sub-models included."""
    from apps.captioning.encoder import EncoderChoice, build_cnn
    from apps.captioning.model import Captioner
    from apps.ner.model import build_model as ner_model
    from apps.sentiment.model import build_model as sentiment_model
    from apps.stocks.features import Scaling
    from apps.stocks.model import build_model as stocks_model
    from apps.translation.model import Translator

    models = {
        "sentiment-binary-bilstm": sentiment_model(vocab_size=20, num_classes=2, embedding_dim=4, units=3),
        "sentiment-3-gru-mean": sentiment_model(vocab_size=20, num_classes=3, embedding_dim=4, units=3, cell="gru",
                                                layers=2, pooling="mean"),
        "ner": ner_model(vocab_size=30, num_chars=20, num_tags=5, embedding_dim=8, char_dim=6, char_filters=7,
                         units=5),
        "stocks": stocks_model(window=5, horizon=2, units=4, layers=1, bidirectional=True,
                               scaling=Scaling(feature_mean=np.zeros(7), feature_variance=np.ones(7),
                                               target_mean=np.zeros(2), target_std=np.ones(2))),
    }
    for attention in ("luong", "bahdanau", "none"):
        translator = Translator(source_vocab_size=20, target_vocab_size=15, embedding_dim=8, units=6,
                                attention_dim=6, attention=attention)
        models.update({f"translation-{attention}-training": translator.training_model,
                       f"translation-{attention}-encoder": translator.encoder_model(),
                       f"translation-{attention}-step": translator.step_model()})
        if attention != "none":  # the model without attention has no replay model
            models[f"translation-{attention}-replay"] = translator.attention_model()
    cnn = build_cnn(EncoderChoice("small", 64, None, "test"))
    for decoder in ("attention", "show-tell"):
        captioner = Captioner(cnn, vocab_size=17, embedding_dim=8, decoder=decoder, units=8, feature_dim=6,
                              attention_dim=5, dropout=0.0, train_cnn=True)
        models.update({f"captioning-{decoder}-full": captioner.full_model,
                       f"captioning-{decoder}-encoder": captioner.encoder_model(),
                       f"captioning-{decoder}-step": captioner.step_model()})
    captioner = Captioner(cnn, vocab_size=17, embedding_dim=8, units=8, feature_dim=6, attention_dim=5,
                          train_cnn=False)
    models.update({"captioning-cached-training": captioner.training_model,
                   "captioning-cached-state": captioner.state_model(),
                   "captioning-replay": captioner.attention_model()})
    return models


@pytest.fixture(scope="module")
def models():
    return app_models()


def test_the_layer_walk_finds_a_lambda_anywhere():
    inputs = keras.Input((None, 3))
    inner_in = keras.Input((None, 3))
    inner = keras.Model(inner_in, keras.layers.Lambda(lambda x: x, name="hidden_lambda")(inner_in))
    outputs = keras.layers.Bidirectional(keras.layers.LSTM(2, name="lstm"), name="bi")(inner(inputs))
    assert lambda_layers(keras.Model(inputs, outputs)) == ["hidden_lambda"]
    names = {layer.name for layer in all_layers(keras.Model(inputs, outputs))}
    assert {"bi", inner.name, "hidden_lambda"} <= names
    assert any(isinstance(layer, keras.layers.LSTMCell) for layer in all_layers(keras.Model(inputs, outputs)))


def test_no_app_model_contains_a_lambda_layer(models):
    found = {name: lambda_layers(model) for name, model in models.items()}
    assert {name: layers for name, layers in found.items() if layers} == {}
    # the walk really descends: wrappers' inner layers and RNN cells are seen
    kinds = {type(layer).__name__ for model in models.values() for layer in all_layers(model)}
    assert {"Bidirectional", "LSTM", "LSTMCell", "GRUCell", "CaptionCell", "Functional"} <= kinds


def test_every_app_model_round_trips_through_safe_deserialization(models):
    failures = {}
    for name, model in models.items():
        config = keras.saving.serialize_keras_object(model)
        try:
            clone = keras.saving.deserialize_keras_object(config, safe_mode=True)
        except Exception as error:  # noqa: BLE001 - collect them all for one readable failure
            failures[name] = f"{type(error).__name__}: {str(error)[:150]}"
            continue
        if sorted(tuple(w.shape) for w in clone.weights) != sorted(tuple(w.shape) for w in model.weights):
            failures[name] = "different weights after the round trip"
    assert failures == {}
