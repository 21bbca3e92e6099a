"""Writing the report's figures: in this process, or in parallel worker processes.

The report writers hand over each figure as the function that draws it, its
arguments and its file stem (:meth:`FigureWriter.add`). With one job a figure
is drawn and saved at once, in this process. With ``n_jobs`` jobs, ``n_jobs -
1`` worker processes (a pool kept for the process, which :func:`start_workers`
can start before the fits) draw and save the figures while this process goes
on computing the tables; each worker is handed one figure at a time, the
oldest first. When the tables are done, this process draws the figures no
worker has taken (the newest first), so every core stays busy to the end and
one worker fewer has to start up (importing avoidrl costs about 2 s of CPU).
Processes, because matplotlib's drawing holds the GIL; the workers build the
figures too, from their arguments, rather than render a pickled Figure.

Every file lands in the run's staging folder (:mod:`avoidrl.report._folder`). The
writer waits for all of them before the folder is published; on an error or
an interrupt it cancels the figures not started and waits for those being
drawn before the staging folder is removed, so nothing is written into it
afterwards (workers never create folders, so a late write could not recreate
it either). A figure whose worker failed for any reason (a model class the
worker cannot unpickle, a crashed worker) is drawn again in this process, so
a real error in a plotting function is raised here, with its traceback.

A figure's files are the same bytes whichever process draws it: the workers
use this process's matplotlib settings, and the vector formats carry no date
and no random ids.
"""

from __future__ import annotations

import collections
import threading
import warnings
from pathlib import Path

from ..plotting._style import PAPER_WIDTH, STYLE_DPI

#: Figure formats the writers can produce, in the order they are rendered.
FORMATS = ("png", "svg", "pdf")
#: The reference's figure files: a PNG of every figure, plus an SVG of the figures in these
#: folders (its model_behaviours/ and parameter_fits/ exports).
REFERENCE_SVG_FOLDERS = ("model_behaviours", "parameter_fits")
DPI = 150
#: No creation date in vector files, so the same run gives the same bytes.
_METADATA = {"png": None, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
#: Salt of the ids in SVG files (random otherwise).
_SVG_SALT = "avoidrl"


def check_formats(formats):
    """Validate ``formats``: None (the reference's files) or some of :data:`FORMATS`.

    Returns None or a tuple in the order of :data:`FORMATS` (so the same
    formats in any order write the same files).
    """
    if formats is None:
        return None
    if isinstance(formats, str):
        formats = [formats]
    try:
        given = [str(f).lower().lstrip(".") for f in formats]
    except TypeError:
        raise ValueError(f"formats must be a list of figure formats, some of {list(FORMATS)}, "
                         f"or None for the reference's files; got {formats!r}") from None
    unknown = [f for f in given if f not in FORMATS]
    if unknown or not given:
        raise ValueError(f"formats must be some of {list(FORMATS)} (or None for the "
                         f"reference's files); got {list(formats)!r}")
    return tuple(f for f in FORMATS if f in given)


def figure_formats(stem, formats):
    """The formats of the figure ``stem`` (a relative path without suffix)."""
    if formats is not None:
        return formats
    folder = stem.rsplit("/", 1)[0] if "/" in stem else ""
    return ("png", "svg") if folder in REFERENCE_SVG_FOLDERS else ("png",)


def figure_files(stem, formats):
    """The files of the figure ``stem`` written with ``formats`` (relative paths)."""
    return [f"{stem}.{fmt}" for fmt in figure_formats(stem, formats)]


def describe_formats(formats, reference_svg, style="screen"):
    """The README paragraph saying which files each figure has.

    ``reference_svg``: the run has figures the reference also wrote as SVG;
    ``style``: the figures' style (see :func:`avoidrl.plotting.figure_style`).
    """
    if style == "paper":
        return (f"Figures are in the 'paper' style: at most {PAPER_WIDTH:g} inches wide, print "
                "font sizes and one-line titles (the explanations above are their captions), "
                f"PNG at {STYLE_DPI['paper']} dpi" + ("; every figure is also written as "
                + ", ".join(f.upper() for f in formats[1:]) if formats and len(formats) > 1
                else "") + ".\n")
    if formats is None:
        extra = ("; those in " + " and ".join(f"{f}/" for f in REFERENCE_SVG_FOLDERS)
                 + " are also written as SVG, as the reference did") if reference_svg else ""
        return f"Figures are PNG files at {DPI} dpi{extra}.\n"
    names = ", ".join(f.upper() for f in formats)
    return (f"Every figure is written as {names} (formats {', '.join(formats)}; "
            f"PNG at {DPI} dpi); the table names each figure's PNG file.\n")


def save_figure(figure, stem, formats, dpi=DPI):
    """Save ``figure`` as ``stem.<format>`` for each of ``formats``, in that order, PNG at ``dpi``.

    A figure with a layout engine has its layout computed once, for the first
    format: the others reuse it (it is set in figure units, so it does not
    depend on the resolution).
    """
    from matplotlib import rc_context

    for fmt in formats:
        if fmt == "png" and figure.get_layout_engine() is None and _save_png(figure, stem, dpi):
            continue
        with rc_context({"svg.hashsalt": _SVG_SALT}):
            figure.savefig(f"{stem}.{fmt}", format=fmt, dpi=dpi, metadata=_METADATA[fmt])
        figure.set_layout_engine("none")


def _save_png(figure, stem, dpi):
    """Write ``stem.png`` as savefig would, in RGB when opaque; False if it cannot here.

    An opaque figure's alpha channel is all 255: without it, and at zlib
    level 3, the PNG encoder needs about half the CPU for the same pixels and
    a file of the same size.
    """
    import numpy as np
    from PIL import Image

    if not hasattr(figure.canvas, "print_to_buffer"):  # not an Agg canvas
        return False
    kept = figure.dpi
    try:
        figure.set_dpi(dpi)
        buffer, size = figure.canvas.print_to_buffer()
    finally:
        figure.set_dpi(kept)
    image = Image.frombuffer("RGBA", size, buffer, "raw", "RGBA", 0, 1)
    if np.frombuffer(buffer, np.uint8)[3::4].min() == 255:
        image = image.convert("RGB")
    image.save(f"{stem}.png", format="png", dpi=(dpi, dpi), compress_level=3)
    return True


def _draw_and_save(draw, args, kwargs, stem, formats, style="screen"):
    from .. import plotting

    with plotting.headless(), plotting.figure_style(style):
        figure = draw(*args, **kwargs)
        if style == "paper":
            plotting.paper_fonts(figure)
        save_figure(figure, stem, formats, dpi=STYLE_DPI[style])


def _work(draw, args, kwargs, stem, formats, style, rc):
    """A worker's job: draw and save one figure with the caller's settings.

    Returns the warnings raised, as (category, message), for the caller to
    raise again.
    """
    from matplotlib import rc_context

    freeze_at_exit()
    with warnings.catch_warnings(record=True) as caught, rc_context(rc):
        warnings.simplefilter("always")
        _draw_and_save(draw, args, kwargs, stem, formats, style)
    return [(w.category, str(w.message)) for w in caught]


#: this process's pool of figure workers, kept from one report to the next (its own:
#: loky's global reusable pool is joblib's, which expects its own set-up in it)
_POOL = {"executor": None, "size": 0}
_POOL_LOCK = threading.Lock()
_IDLE_TIMEOUT = 300


def _workers(n_workers):
    """The pool of ``n_workers`` figure processes :func:`start_workers` warmed (renewed if broken)."""
    from joblib.externals.loky import ProcessPoolExecutor

    with _POOL_LOCK:
        pool = _POOL["executor"]
        flags = getattr(pool, "_flags", None)
        if pool is None or _POOL["size"] != n_workers or getattr(flags, "broken", None) \
                or getattr(flags, "shutdown", False):
            if pool is not None:
                pool.shutdown(wait=False)
            # workers idle for five minutes exit (the pool starts new ones when needed)
            pool = ProcessPoolExecutor(max_workers=n_workers, timeout=_IDLE_TIMEOUT)
            _POOL.update(executor=pool, size=n_workers)
        return pool


def _warm_up():
    """A worker's first job: import what drawing a figure needs (about 2 s of CPU)."""
    from .. import plotting  # noqa: F401  (avoidrl, numpy, pandas, matplotlib)

    freeze_at_exit()


def freeze_at_exit():
    """Skip the interpreter's last garbage collection when this process exits (registered once).

    For processes whose objects are not needed at exit: a figure worker, which
    holds nothing once its figures are saved and is waited for by the process
    that started it (0.15 s of walking matplotlib's objects), and the
    ``avoidrl`` command (:func:`avoidrl.cli.main`). :func:`gc.freeze` at exit
    moves every object out of the collector's reach.
    """
    import atexit
    import gc

    if not getattr(freeze_at_exit, "registered", False):
        atexit.register(gc.freeze)
        freeze_at_exit.registered = True


def start_workers(n_jobs):
    """Start the figure workers of a report with ``n_jobs`` jobs now, importing in the background.

    A command-line run calls it before fitting: each worker's import (about 2
    s of CPU, the longest wait of the report) then overlaps the fits, whose
    threads leave part of the cores idle. :class:`FigureWriter` finds the
    same pool warm; a run that stops before its report leaves idle workers,
    which exit after five minutes or with the process. Returns the warm-up
    futures.
    """
    from joblib import effective_n_jobs

    n_workers = effective_n_jobs(n_jobs) - 1
    return [_workers(n_workers).submit(_warm_up) for _ in range(max(n_workers, 0))]


def stop_workers():
    """Stop the figure workers now, killing them: for a process that draws no more reports.

    Idle workers would otherwise be waited for at exit, each ending its own
    interpreter (about 0.15 s of a command-line run). The next report starts
    a new pool.
    """
    with _POOL_LOCK:
        pool = _POOL["executor"]
        _POOL.update(executor=None, size=0)
    if pool is not None:
        pool.shutdown(wait=True, kill_workers=True)


def _settings():
    """This process's matplotlib settings, for the workers (the backend is theirs)."""
    import matplotlib

    return {key: value for key, value in matplotlib.rcParams.items()
            if not key.startswith("backend") and key != "interactive"}


class FigureWriter:
    """Draws and saves the figures of one report into ``folder``.

    Parameters
    ----------
    folder : Path
        The staging folder; figure stems are relative to it.
    formats : None or tuple of str
        As :func:`check_formats` returns.
    n_jobs : int or None
        Processes drawing figures, this one included, as in joblib (None
        and 1: only this one).
    style : {'screen', 'paper'}
        The figures' style (:func:`avoidrl.plotting.figure_style`).
    """

    def __init__(self, folder, formats=None, n_jobs=None, style="screen"):
        from joblib import effective_n_jobs

        self.folder = Path(folder)
        self.formats = formats
        self.style = style
        self.n_workers = effective_n_jobs(n_jobs) - 1
        self._executor = None
        self._rc = None
        self._jobs = []  # [(future, job)] handed to a worker
        self._waiting = collections.deque()  # jobs no worker has yet: this process may take them
        self._lock = threading.RLock()  # a future done at once calls back under add's lock

    def add(self, stem, draw, *args, **kwargs):
        """Draw ``draw(*args, **kwargs)`` and save it as ``stem`` in the writer's formats.

        ``draw`` must be a module-level function (workers import it by name).
        """
        formats = figure_formats(stem, self.formats)
        path = self.folder / stem
        path.parent.mkdir(parents=True, exist_ok=True)  # here: workers never create folders
        job = (draw, args, kwargs, str(path), formats, self.style)
        if self.n_workers < 1:
            _draw_and_save(*job)
            return
        with self._lock:
            if self._rc is None:
                self._rc = _settings()
                self._executor = _workers(self.n_workers)
            self._waiting.append(job)
            self._hand_out()

    def _hand_out(self):
        """Give each idle worker the oldest waiting figure (under ``self._lock``).

        One figure per worker at a time: a figure handed to loky sits in its
        call queue (three deep for one worker) and cannot be taken back, so at
        the end this process waited idle while the worker drew them all.
        """
        busy = sum(not future.done() for future, _ in self._jobs)
        while self._waiting and busy < self.n_workers and self._executor is not None:
            job = self._waiting.popleft()
            try:
                future = self._executor.submit(_work, *job, self._rc)
            except Exception:  # noqa: BLE001 - a broken pool: this process draws the rest
                self._waiting.appendleft(job)
                self._executor = None
                return
            self._jobs.append((future, job))
            busy += 1
            future.add_done_callback(self._next)

    def _next(self, future):
        """A worker finished a figure (loky's thread calls this): hand it the next one."""
        if not future.cancelled():
            with self._lock:
                self._hand_out()

    def _take_waiting(self):
        """The newest figure no worker has, taken for this process; None when there is none."""
        with self._lock:
            return self._waiting.pop() if self._waiting else None

    def finish(self):
        """Draw here the figures no worker has taken (newest first); wait for the others.

        A figure whose worker failed is drawn here too.
        """
        try:
            while (job := self._take_waiting()) is not None:
                _draw_and_save(*job)
            for future, job in list(self._jobs):
                if future.cancelled():
                    continue
                try:
                    caught = future.result()
                except Exception:  # noqa: BLE001 - any worker failure: draw it here
                    _draw_and_save(*job)
                    continue
                for category, message in caught:
                    warnings.warn(message, category, stacklevel=3)
        finally:  # after an error drawing here, or an interrupt while waiting, too
            self.abort()

    def abort(self):
        """Cancel the figures not started and wait for those being drawn (a second or two).

        Waiting rather than killing the workers: loky fails on cancelled futures
        when it kills workers, and an interrupt from the terminal reaches the
        workers anyway. The pool itself stays for the next report, and ends
        with the process.
        """
        from concurrent.futures import wait

        with self._lock:
            self._waiting.clear()
            self._executor = None  # no more figures handed out
            jobs, self._jobs = self._jobs, []
        for future, _ in jobs:
            future.cancel()
        wait([future for future, _ in jobs])

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.finish()
        else:
            self.abort()
        return False
