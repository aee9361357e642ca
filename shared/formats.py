"""Recognising a data file's format from its name and its first line, and saying so.

Standard corpora arrive in the form they are downloaded in, often renamed or gzipped, so
the apps decide the format from the content where the name is not enough, and log one line
naming the format they chose: a file read in the wrong format then shows up in the log,
not as a model that quietly learnt nothing.
"""

from shared.datasets import iter_lines


def strip_gz(name):
    """``train.csv.gz`` -> ``train.csv``: gzip is detected from the bytes, the rest from the name."""
    return name[:-3] if name.lower().endswith(".gz") else name


def first_content_line(path, encoding="utf-8"):
    """``(line number, line)`` of the first line that is not blank, or ``(None, None)``."""
    for number, line in iter_lines(path, encoding):
        if line.strip():
            return number, line
    return None, None


def announce(log, path, description):
    """Log ``PATH: read as DESCRIPTION`` when there is a log to write to."""
    if log is not None:
        log(f"{path}: read as {description}")
