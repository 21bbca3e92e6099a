"""Progress of long computations: fits, recoveries and EM, in terminals and notebooks.

One protocol, :class:`Progress`, is what every front end implements and every
run reports to. A run (:mod:`avoidrl._workflows`) is a sequence of steps:
``start(total)``, then ``begin(label)`` and ``advance()`` per step, then
``close()``; inside a step the computations' own bars report the fraction
done to ``within(done, total, description)``; the report writers, which take
a callable of one message, get :meth:`Progress.sub_steps`. The command
line's bar (:class:`avoidrl.cli.ProgressBar`) is a :class:`Progress`; the
base class reports nothing.

Estimators show a bar of their own when their ``verbose`` is positive
(:class:`ProgressBar`, drawn by ``tqdm.auto``: a text bar on a terminal, a
widget in Jupyter). :func:`report_to` installs a :class:`Progress` as the
listener of the code run inside it: every bar opened there reports to its
``within`` as well.
"""

from __future__ import annotations

import contextlib
import contextvars
import time

_LISTENER = contextvars.ContextVar("avoidrl_progress_listener", default=None)


class Progress:
    """The progress protocol of a run; this base class reports nothing.

    ``start(total)`` announces the number of steps, ``begin(label)`` names
    the step now running, ``advance()`` marks it done, ``close()`` ends.
    ``within(done, total, description)`` receives the progress inside the
    current step (from the bars of :func:`report_to`).
    """

    def start(self, total):
        pass

    def begin(self, label):
        pass

    def advance(self):
        pass

    def within(self, done, total, description):
        pass

    def close(self):
        pass

    def sub_steps(self, prefix):
        """A callable of one message that names sub-steps of the current step.

        ``sub_steps(prefix)(message)`` is ``begin(f"{prefix}: {message}")``: the
        report writers' ``progress`` argument.
        """
        return lambda message: self.begin(f"{prefix}: {message}")


class _CallbackProgress(Progress):
    """A plain ``listener(done, total, description)`` callable, as a :class:`Progress`."""

    def __init__(self, listener):
        self.listener = listener

    def within(self, done, total, description):
        self.listener(done, total, description)


@contextlib.contextmanager
def report_to(listener):
    """Send the progress of the bars opened inside the block to ``listener``.

    Parameters
    ----------
    listener : Progress or callable
        A :class:`Progress`, whose ``within(done, total, description)`` is
        called whenever a bar advances, or such a callable itself
        (``total`` may grow, as when a fit adds rounds of starts).
    """
    if not isinstance(listener, Progress):
        listener = _CallbackProgress(listener)
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
    """The bar of one computation: a no-op unless shown or listened to (see :func:`report_to`).

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
            self.listener.within(self.done, self.total, self.description)

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
