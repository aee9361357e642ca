"""Each app trained once per test session on its offline demo data, and exported.

The app tests check what training printed and wrote; the client tests (Node.js, the
browser page, TensorFlow Serving requests) run the very same exports. Training each app
once for the whole session keeps the suite within its time budget.
"""

import os
from pathlib import Path

from shared.demo import RECIPES
from tests.commands import run
from tests.sharing import exclusive, run_folder

_OFFLINE = {"SEQAPPS_OFFLINE": "1"}

# app -> train arguments after ``python -m apps.<app>.train``
DEMO_TRAINING = {
    "sentiment": ["--epochs", "2", "--verbose", "2"],
    "ner": [*RECIPES["ner"], "--verbose", "2"],
    # the synthetic demo prices follow a learnable AR(1) pattern
    "stocks": ["--data", "demo", "--epochs", "8", "--horizon", "3", "--learning-rate", "3e-3",
               "--units", "16", "--layers", "1", "--verbose", "2"],
    # `make demo`'s recipes (shared/demo.py): 1,500 generated scenes and 2,000 generated
    # pairs for 12 epochs, translation exported with beam 3 (about 2 and 1 minutes)
    "captioning": [*RECIPES["captioning"], "--verbose", "2"],
    "translation": [*RECIPES["translation"], "--verbose", "2"],
    # 30 news paragraphs, three epochs of a tiny two-layer LSTM at a high learning rate
    # (about 25 seconds): enough to beat a unigram model, not the Kneser-Ney trigram
    "textgen": ["--limit", "30", "--epochs", "3", "--learning-rate", "1e-2", "--layers", "2", "--units", "24", "--embeddings", "none",
                "--embedding-dim", "16", "--window", "32", "--sample-length", "12", "--verbose", "0"],
}


def environment(root):
    """Cache, runs and exports of one app's demo under ``root``; no downloads."""
    return {**_OFFLINE, "SEQAPPS_RUNS_DIR": str(root / "runs"), "SEQAPPS_CACHE": str(root / "cache"),
            "SEQAPPS_EXPORT_DIR": str(root / "exported")}


class DemoExports:
    """``demo_exports(app)`` -> ``(root, train stdout)``; trains on first use only.

    The exports live in a folder every xdist worker of the test run shares
    (``tests/sharing.py``): the first worker to ask for an app trains it under a lock,
    the others wait and then read the same files. Tests copy an export before they
    change it. ``SEQAPPS_TEST_EXPORTS=FOLDER`` keeps them in FOLDER between runs, for a
    development loop that does not change what training writes (CI never sets it).
    """

    def __init__(self, tmp_path_factory):
        kept = os.environ.get("SEQAPPS_TEST_EXPORTS")  # a development loop may keep them between runs
        self.folder = Path(kept) if kept else run_folder(tmp_path_factory) / "demo-exports"
        self.done = {}

    def __call__(self, app):
        if app not in self.done:
            root = self.folder / app
            stdout = root / "train.stdout"
            with exclusive(self.folder / f"{app}.lock"):
                if not stdout.exists():
                    root.mkdir(parents=True, exist_ok=True)
                    result = run(f"apps.{app}.train", *DEMO_TRAINING[app], env=environment(root))
                    assert result.returncode == 0, result.stderr[-3000:]
                    stdout.write_text(result.stdout)
            self.done[app] = (root, stdout.read_text())
        return self.done[app]


APPS = tuple(DEMO_TRAINING)
# the apps the Node.js client, the browser page and the TensorFlow Serving examples cover
DEPLOYED_APPS = ("sentiment", "ner", "stocks", "captioning", "translation")


def combined_export_root(demo_exports, folder):
    """One export root holding the deployed apps' demo exports (symlinked) and their models.config."""
    from shared.export import write_models_config

    folder.mkdir(parents=True, exist_ok=True)
    for app in DEPLOYED_APPS:
        root, _ = demo_exports(app)
        link = folder / app
        if not link.exists():
            link.symlink_to(root / "exported" / app, target_is_directory=True)
    write_models_config(folder)
    return folder
