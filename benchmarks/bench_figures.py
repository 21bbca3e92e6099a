"""CPU seconds of the default fit report's figures, per figure family (issue 21, point 3).

Fits the default ``avoidrl fit`` (five models, the example data, seed 1) once,
collecting the report's figures instead of drawing them, then draws and saves
every figure in this process, in each style, and prints the CPU seconds
(``time.process_time``, not wall time: the machine may be shared) of building
and of saving each family. The figures are the same bytes whichever process
draws them, so one process measures the report's figure CPU.

It runs against older avoidrl versions too, so a change can be read off by
running it on both: ``PYTHONPATH=<old checkout> python benchmarks/bench_figures.py``.

Usage::

    python benchmarks/bench_figures.py [--participants N] [--styles screen paper] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path


def _family(stem):
    for family in ("simulations", "behaviours", "parameter_fits"):
        if family in stem:
            return family
    return "other (comparison, BMS, criteria, starts)"


def collect(participants):
    """The report's figures: [(draw, args, kwargs, stem, formats)] (nothing is drawn)."""
    from avoidrl._workflows._runs import run_fit
    from avoidrl.report import _figures

    jobs = []

    def add(self, stem, draw, *args, **kwargs):
        jobs.append((draw, args, kwargs, stem, _figures.figure_formats(stem, self.formats)))

    original = _figures.FigureWriter.add
    _figures.FigureWriter.add = add
    try:
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_fit(out_dir=Path(folder) / "fit", n_jobs=1, seed=1, n_participants=participants)
    finally:
        _figures.FigureWriter.add = original
    return jobs


def measure(jobs, style, out):
    """{family: [build CPU, save CPU, figures]} of drawing ``jobs`` in ``style`` into ``out``."""
    from avoidrl import plotting
    from avoidrl.plotting._style import STYLE_DPI
    from avoidrl.report import _figures

    spent = defaultdict(lambda: [0.0, 0.0, 0])
    for draw, args, kwargs, stem, formats in jobs:
        path = Path(out) / style / stem
        path.parent.mkdir(parents=True, exist_ok=True)
        start = time.process_time()
        with plotting.headless(), plotting.figure_style(style):
            figure = draw(*args, **kwargs)
            if style == "paper":
                plotting.paper_fonts(figure)
            built = time.process_time()
            _figures.save_figure(figure, str(path), formats, dpi=STYLE_DPI[style])
        row = spent[_family(stem)]
        row[0] += built - start
        row[1] += time.process_time() - built
        row[2] += 1
    return spent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=None)
    parser.add_argument("--styles", nargs="*", default=["screen", "paper"])
    parser.add_argument("--out", default=None,
                        help="keep the figures here (default: a temporary folder)")
    options = parser.parse_args(argv)
    jobs = collect(options.participants)
    with tempfile.TemporaryDirectory() as folder:
        out = options.out or folder
        for style in options.styles:
            spent = measure(jobs, style, out)
            print(f"{style}: {len(jobs)} figures (CPU s)\n{'family':50s} build   save  total")
            for family, (build, save, n) in sorted(spent.items()):
                print(f"{family + f' ({n})':50s} {build:5.2f}  {save:5.2f}  {build + save:5.2f}")
            total = [sum(row[i] for row in spent.values()) for i in (0, 1)]
            print(f"{'all':50s} {total[0]:5.2f}  {total[1]:5.2f}  {sum(total):5.2f}\n")


if __name__ == "__main__":
    main()
