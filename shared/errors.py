"""Errors a user can fix, and the one place that turns them into a clean exit.

Bad input should never end in a traceback: the user needs the file, the line and what was
expected. Commands wrap their ``main`` in :func:`run_cli`; ``--debug`` keeps the traceback.
"""

import sys


class SeqappsError(Exception):
    """An error caused by input or configuration; printed as one line, exit status 2."""


class DataError(SeqappsError):
    """Bad input data, located by file and (when known) line number.

    ``str(error)`` reads ``path:line: message (got: 'content')`` so editors and terminals can
    jump to the place.
    """

    def __init__(self, path, message, line=None, content=None):
        self.path = str(path)
        self.message = message
        self.line = line
        self.content = content
        super().__init__(str(self))

    def __str__(self):
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        text = f"{where}: {self.message}"
        if self.content is not None:
            shown = self.content if len(self.content) <= 80 else self.content[:77] + "..."
            text += f" (got: {shown!r})"
        return text


def run_cli(main, argv=None):
    """Run ``main(argv)`` and exit; a SeqappsError becomes ``error: ...`` and status 2.

    Pass ``--debug`` anywhere on the command line to see the full traceback instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        status = main(argv)
    except SeqappsError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)
