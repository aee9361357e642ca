"""Every consumer example in README.md's deployment section runs, as written, on real exports.

The examples use the default export root ``exported/``: they run in a folder where
``exported`` holds the five demo exports and ``clients``, ``web``, ``shared`` and ``apps``
are the repository's.
"""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from shared.paths import REPO_ROOT

SECTION = "## Deploy anywhere"
BLOCK = re.compile(r"```(bash|js|python)\n(.*?)```", re.S)


def deployment_examples():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return BLOCK.findall(text[start:end])


@pytest.fixture(scope="module")
def workdir(all_demo_exports, node_client, tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    (folder / "exported").symlink_to(all_demo_exports, target_is_directory=True)
    for name in ("clients", "web", "shared", "apps"):
        (folder / name).symlink_to(REPO_ROOT / name, target_is_directory=True)
    return folder


def environment():
    env = {key: value for key, value in os.environ.items() if key != "SEQAPPS_EXPORT_DIR"}
    return {**env, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_and_probe(command, workdir):
    """A server example: start it, fetch the page and a manifest through it, stop it."""
    port = free_port()
    argv = [str(port) if word == "8000" else word for word in shlex.split(command)]
    server = subprocess.Popen(argv, cwd=workdir, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        manifest = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/exported/sentiment/manifest.json"))
        assert "<html" in page.lower() and manifest["app"] == "sentiment"
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_bash_line(line, workdir):
    command = line.split("  #")[0].strip()
    if "web/serve.js" in command:
        return serve_and_probe(command, workdir)
    # npm installs into the repository's own folders (npm resolves --prefix through no symlinks)
    cwd = REPO_ROOT if command.startswith("npm ") else workdir
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=environment(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"`{command}` failed:\n{result.stderr[-3000:]}"
    if "--json" in command:
        rows = [json.loads(row) for row in result.stdout.splitlines()]
        assert rows and all("text" in row for row in rows), result.stdout
    elif "cli.js" in command:
        assert result.stdout.strip(), f"`{command}` printed nothing"


def test_the_section_has_examples_for_each_consumer():
    kinds = [kind for kind, _ in deployment_examples()]
    assert kinds.count("bash") >= 2 and "js" in kinds and "python" in kinds


def test_every_deployment_example_runs(workdir):
    for kind, code in deployment_examples():
        if kind == "bash":
            for line in code.strip().splitlines():
                if line.strip() and not line.startswith("#"):
                    run_bash_line(line, workdir)
            continue
        argv = ([sys.executable, "-"] if kind == "python" else ["node", "--input-type=module"])
        result = subprocess.run(argv, input=code, cwd=workdir, env=environment(), capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, f"the {kind} example failed:\n{result.stderr[-3000:]}"
        assert result.stdout.strip(), f"the {kind} example printed nothing"
        if kind == "python":
            label, probability = result.stdout.split()
            app_dir = workdir / "exported" / "sentiment"
            manifest = json.loads((app_dir / "manifest.json").read_text())
            labels = json.loads((app_dir / manifest["files"]["labels.json"]).read_text())["labels"]
            assert label in labels and 0.5 <= float(probability) <= 1.0
