"""What both command lines share: argparse whose usage errors are one line, and the error-to-exit mapping."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .errors import InvalidInputError, StorageError


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr ("<prog>: error: ...") and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog.split()[0]}: error: {message} (see {self.prog} --help)\n")


def run_command(prog: str, call: Callable[[], int], interrupted: str = "interrupted") -> int:
    """Run a command; bad input is one line and exit 2, a file that cannot be written one line and exit 3."""
    try:
        return call()
    except InvalidInputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:  # a folder that cannot be made, a file where a folder should be, ...
        print(f"{prog}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
