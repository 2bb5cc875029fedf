"""Loggers of the empirics package: the standard library's, or Accelerate's (main process only) when several
processes run. The CLI's -v / -q set the level; progress bars (tqdm) stay on the terminal beside the log."""

from __future__ import annotations

import logging
import os


def get_logger(name: str):
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate.logging import get_logger as accelerate_logger

        # logs from the main process only (the state exists: see empirics.processes)
        return accelerate_logger(name)
    return logging.getLogger(name)
