"""What both command lines share: argparse whose usage errors are one line, and the error-to-exit mapping."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

from .errors import InvalidInputError, StorageError


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr ("<prog>: error: ...") and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog.split()[0]}: error: {message} (see {self.prog} --help)\n")


def number(kind: type = int, low: float | None = None, high: float | None = None, open_low: bool = False):
    """An argparse ``type``: a finite `kind` in [low, high] (low excluded with `open_low`, and a float's high
    always excluded); anything else is the parser's one-line usage error naming the option."""
    lo, hi = "-inf" if low is None else low, "inf" if high is None else high
    bounds = f"{'(' if open_low else '['}{lo}, {hi}{')' if kind is float else ']'}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text}")
        too_low = low is not None and (value <= low if open_low else value < low)
        too_high = high is not None and (value >= high if kind is float else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"must lie in {bounds}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


COUNT = number(int, 1)  # how many of something: >= 1
MAX_LENGTH = number(int, 8, 131_072)  # as the sweep's --max-length


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
    except BrokenPipeError:  # the reader left (`... | head`): nothing to say, and nobody to say it to
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141
    except OSError as exc:  # a folder that cannot be made, a file where a folder should be, ...
        print(f"{prog}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
