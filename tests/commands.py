"""Run the apps' commands as a user would: ``python -m ...`` in a fresh process."""

import json
import os
import subprocess
import sys

from shared.paths import REPO_ROOT


def run(*args, stdin=None, timeout=900, env=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, input=stdin,
                          cwd=REPO_ROOT, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def json_rows(result):
    """The JSON lines a ``--json`` predict command printed; fails on a non-zero exit."""
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main_output(main, argv, capsys, stdin=None):
    """What a command's ``main(argv)`` printed, called in this process.

    The code path of ``python -m ...`` without a new interpreter and TensorFlow start-up
    (seconds per process); ``stdin`` (a string) stands in for standard input.
    """
    import io

    capsys.readouterr()  # drop what was printed before
    real_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        assert main([str(arg) for arg in argv]) == 0
    finally:
        sys.stdin = real_stdin
    return capsys.readouterr().out


def main_rows(main, argv, capsys, stdin=None):
    """The JSON rows ``main(argv + ["--json"])`` printed in this process, one per "\\n"-ended line."""
    out = main_output(main, [*argv, "--json"], capsys, stdin=stdin)
    assert out.endswith("\n") or not out
    return [json.loads(line) for line in out[:-1].split("\n")] if out else []
