"""Each app trained once per test session on its offline demo data, and exported.

The app tests check what training printed and wrote; the client tests (Node.js, the
browser page, TensorFlow Serving requests) run the very same exports. Training each app
once for the whole session keeps the suite within its time budget.
"""

from tests.commands import run

_OFFLINE = {"SEQAPPS_OFFLINE": "1"}

# app -> train arguments after ``python -m apps.<app>.train``
DEMO_TRAINING = {
    "sentiment": ["--epochs", "2", "--verbose", "2"],
    "ner": ["--epochs", "15", "--learning-rate", "5e-3", "--verbose", "2"],
    # the synthetic demo prices follow a learnable AR(1) pattern
    "stocks": ["--data", "demo", "--epochs", "8", "--horizon", "3", "--learning-rate", "3e-3",
               "--units", "16", "--layers", "1", "--verbose", "2"],
    # 1,500 generated scenes for 12 short epochs (about 2 minutes); the full default run
    # (3,000 scenes, 30 epochs) reaches near-perfect exact match
    "captioning": ["--demo-images", "1500", "--epochs", "12", "--learning-rate", "4e-3", "--units", "128",
                   "--feature-dim", "128", "--attention-dim", "64", "--batch-size", "32", "--verbose", "2"],
    # 2,000 generated pairs for 12 epochs, exported with beam 3 (about a minute)
    "translation": ["--demo-size", "2000", "--epochs", "12", "--beam", "3", "--units", "128", "--batch-size", "32",
                    "--verbose", "2"],
    # 30 news paragraphs, one epoch of a tiny two-layer LSTM (about 30 seconds)
    "textgen": ["--limit", "30", "--epochs", "1", "--layers", "2", "--units", "24", "--embeddings", "none",
                "--embedding-dim", "16", "--window", "32", "--sample-length", "12", "--verbose", "0"],
}


def environment(root):
    """Cache, runs and exports of one app's demo under ``root``; no downloads."""
    return {**_OFFLINE, "SEQAPPS_RUNS_DIR": str(root / "runs"), "SEQAPPS_CACHE": str(root / "cache"),
            "SEQAPPS_EXPORT_DIR": str(root / "exported")}


class DemoExports:
    """``demo_exports(app)`` -> ``(root, train stdout)``; trains on first use only."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.done = {}

    def __call__(self, app):
        if app not in self.done:
            root = self.tmp_path_factory.mktemp(app)
            result = run(f"apps.{app}.train", *DEMO_TRAINING[app], env=environment(root))
            assert result.returncode == 0, result.stderr[-3000:]
            self.done[app] = (root, result.stdout)
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
