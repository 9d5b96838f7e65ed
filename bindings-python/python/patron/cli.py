"""The ``patron`` command, installed with the package: the same command as
the Rust crate's binary (``patron ingest``, ``run``, ``stats``, ...)."""

from __future__ import annotations

import signal
import sys

from patron import _native


def main() -> None:
    """Runs ``patron`` with the process's arguments and exits with its code."""
    # Ctrl-C stops the command at once; the store is safe to stop anywhere.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.cli(sys.argv[1:]))


if __name__ == "__main__":
    main()
