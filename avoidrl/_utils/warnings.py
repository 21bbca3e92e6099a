"""Warnings that point at the user's line, not into the package."""

from __future__ import annotations

import inspect
import os
import warnings

#: The avoidrl package folder (this module sits in avoidrl/_utils/).
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel():
    """The ``stacklevel`` of the first calling frame outside the avoidrl package."""
    frame = inspect.currentframe()
    level = 0
    try:
        while frame is not None:
            filename = os.path.abspath(frame.f_code.co_filename)
            if level > 0 and not filename.startswith(_PACKAGE_DIR + os.sep):
                return level
            frame = frame.f_back
            level += 1
    finally:
        del frame
    return 1


def warn(message, category):
    """``warnings.warn`` attributed to the user's call."""
    # user_stacklevel counts from its own frame; this function adds one more.
    warnings.warn(message, category, stacklevel=user_stacklevel())
