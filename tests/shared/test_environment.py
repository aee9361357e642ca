"""Manifests and benchmark files record the versions and machine that produced them."""

import os

import keras
import tensorflow as tf

from shared.environment import machine, package_versions


def test_versions_are_the_installed_ones():
    versions = package_versions()
    assert versions["tensorflow"] == tf.__version__ and versions["keras"] == keras.__version__
    assert package_versions(("no-such-package-seqapps",))["no-such-package-seqapps"] is None


def test_machine_reports_this_machine():
    info = machine()
    assert info["cpu_count"] == os.cpu_count() and info["memory_gib"] > 0
