"""What a result was produced with: package versions and the machine.

Export manifests and benchmark result files record the same facts, so that a number can
always be traced back to the software and hardware that produced it.
"""

import importlib.metadata
import os
import platform

PACKAGES = ("tensorflow", "keras", "tensorflow-text", "tf2onnx", "onnx", "onnxruntime", "gensim", "numpy")


def package_versions(packages=PACKAGES):
    """Installed versions of the packages that decide numeric results (None if missing)."""
    import shared

    versions = {"seqapps": shared.__version__, "python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def machine():
    """Platform, CPU model and count, and memory: enough to compare timings honestly."""
    info = {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or None, "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    try:
        info["memory_gib"] = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in cpuinfo
                                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info
