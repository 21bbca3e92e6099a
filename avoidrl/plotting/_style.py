"""The look of every avoidrl figure: colours, the figure factory, axis helpers.

The bottom of :mod:`avoidrl.plotting`: the style constants, the figure
factory (:func:`_new_figure`, on the Agg canvas inside :func:`headless`),
grids and titles, and the axis helpers (tick labels, spines, bounds, log
axes) that the figure families share.
"""

from __future__ import annotations

import contextvars
import textwrap
from contextlib import contextmanager

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..stats import is_log_transformed


_HEADLESS = contextvars.ContextVar("avoidrl_headless_figures", default=False)
_CONTEXT_COLORS = {"Reward": "#2f6fa8", "Loss Avoid": "#c0392b"}
_STIMULUS_COLORS = {"HR": "#2f6fa8", "LR": "#9cc7ea", "LP": "#f0a8a8", "HP": "#c0392b",
                    "N": "#bdbdbd"}
_BAR_COLOR = "#8fb05a"
_EMPIRICAL_COLOR = "#404040"
_BOUND_COLOR = "#c0392b"
_PARTICIPANT_COLOR = "#2f6fa8"
#: Option 0 / option 1 of each context, labelled by the transfer stimulus types.
_OPTION_TYPES = {"Reward": ("HR", "LR"), "Loss Avoid": ("LP", "HP")}
_OPTION_LABELS = {"HR": "HR (A/C, option 0)", "LR": "LR (B/D, option 1)",
                  "LP": "LP (E/G, option 0)", "HP": "HP (F/H, option 1)"}
#: How the participants' points are drawn: (face, edge), legend label, gid.
_POINT_STYLES = {"interior": (_PARTICIPANT_COLOR, _PARTICIPANT_COLOR),
                 "at bound": ("white", _BOUND_COLOR),
                 "not identified": ("white", "#e08a00")}
_POINT_LABELS = {"interior": "participant", "at bound": "participant on a bound",
                 "not identified": "not identified (no interval)"}
_POINT_GIDS = {"interior": "participants", "at bound": "at_bound",
               "not identified": "not_identified"}


@contextmanager
def headless():
    """Build figures on the Agg canvas, without pyplot, inside this block.

    Figures made inside are not registered with pyplot: they never open a
    window, need no ``plt.close`` and leave the active backend alone.

    Examples
    --------
    >>> with headless():
    ...     figure = plot_model_comparison(models)          # doctest: +SKIP
    >>> figure.savefig("comparison.png")                    # doctest: +SKIP
    """
    token = _HEADLESS.set(True)
    try:
        yield
    finally:
        _HEADLESS.reset(token)


def _new_figure(width, height):
    if _HEADLESS.get():
        figure = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(figure)
        return figure
    from matplotlib import pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def _wrap(label, width=12):
    return textwrap.fill(str(label), width)


def _rotate(ax, labels, *, threshold=2):
    """x tick labels that do not overlap: rotated 45 degrees when many or long."""
    positions = np.arange(len(labels))
    labels = [str(s) for s in labels]
    longest = max((len(line) for s in labels for line in s.split("\n")), default=0)
    if len(labels) > threshold or longest > 12:
        ax.set_xticks(positions, labels, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(positions, labels)


def _despine(ax):
    ax.spines[["top", "right"]].set_visible(False)


def _grid(figure_width_per_axis, height_per_axis, n, max_columns=4):
    n_cols = max(1, min(max_columns, n))
    n_rows = int(np.ceil(n / n_cols))
    figure = _new_figure(max(6.0, figure_width_per_axis * n_cols + 0.5),
                         height_per_axis * n_rows + 0.9)
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return figure, axes[:n]


def _suptitle(figure, text, fontsize=11):
    """A figure title wrapped to the figure's width (each line break in text is kept)."""
    width = int(figure.get_figwidth() * 120 / fontsize)
    lines = [textwrap.fill(line, max(width, 30)) for line in text.split("\n")]
    figure.suptitle("\n".join(lines), fontsize=fontsize)


def _number(value, fmt=".2f"):
    return "n/a" if value is None or not np.isfinite(value) else format(value, fmt)


def _log_axis(parameter, values):
    """Whether a parameter is drawn on a log axis: log-transformed and every value > 0."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return is_log_transformed(parameter) and len(values) > 0 and bool((values > 0).all())


def _draw_bounds(ax, low, high, *, axis="y", log=False):
    """Dashed lines at a parameter's bounds (a bound <= 0 has no place on a log axis)."""
    drawn = False
    for bound in (low, high):
        if np.isfinite(bound) and (bound > 0 or not log):
            line = ax.axhline(bound) if axis == "y" else ax.axvline(bound)
            line.set(color=_BOUND_COLOR, linestyle="--", linewidth=0.9, alpha=0.8, gid="bound")
            drawn = True
    return drawn


def _plain_log_axis(ax, axis="y"):
    """A log scale labelled with plain numbers (0.01, 0.1, 1), not powers of ten."""
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
