"""Progress of long computations: fits, recoveries and EM, in terminals and notebooks.

Estimators show a bar when their ``verbose`` is positive, drawn by
``tqdm.auto`` (a text bar on a terminal, a widget in Jupyter). A front end
with a display of its own (the command line's bar) can instead receive the
fraction done of the current step: :func:`report_to` installs a listener for
the code run inside it, and every bar opened there reports to it as well.
"""

from __future__ import annotations

import contextlib
import contextvars
import time

_LISTENER = contextvars.ContextVar("avoidrl_progress_listener", default=None)


@contextlib.contextmanager
def report_to(listener):
    """Send the progress of the bars opened inside the block to ``listener``.

    Parameters
    ----------
    listener : callable
        Called as ``listener(done, total, description)`` whenever a bar
        advances (``total`` may grow, as when a fit adds rounds of starts).
    """
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


@contextlib.contextmanager
def silenced():
    """Hide the bars opened inside the block from the listener (inner steps of a bigger one)."""
    token = _LISTENER.set(None)
    try:
        yield
    finally:
        _LISTENER.reset(token)


class ProgressBar:
    """A progress bar that is a no-op unless shown or listened to.

    Parameters
    ----------
    total : int
        Steps planned (may grow with :meth:`add_total`).
    description : str
        Shown before the bar.
    unit : str
        What a step is ("start", "dataset", "iteration").
    verbose : int
        A bar is drawn when positive.
    """

    def __init__(self, total, description, unit, verbose):
        self.total = int(total)
        self.done = 0
        self.description = description
        self.listener = _LISTENER.get()
        self._bar = None
        self._start = time.monotonic()
        if verbose and verbose > 0:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=description, unit=unit, leave=True,
                             dynamic_ncols=True)

    def _notify(self):
        if self.listener is not None:
            self.listener(self.done, self.total, self.description)

    def add_total(self, n):
        """Plan ``n`` more steps."""
        if n:
            self.total += int(n)
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()
            self._notify()

    def update_to(self, done):
        """Mark ``done`` steps done in all (never moves backwards)."""
        done = min(int(done), self.total)
        if done > self.done:
            step = done - self.done
            self.done = done
            if self._bar is not None:
                self._bar.update(step)
            self._notify()

    def update(self, n=1):
        """Mark ``n`` more steps done."""
        self.update_to(self.done + n)

    def note(self, text):
        """Show ``text`` after the bar (e.g. the current EM change)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self):
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress_listened():
    """Whether a front end listens (:func:`report_to`) to the code running now."""
    return _LISTENER.get() is not None
