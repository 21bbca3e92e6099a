"""The look of every avoidrl figure: colours, the figure factory, axis helpers.

The bottom of :mod:`avoidrl.plotting`: the style constants, the figure
factory (:func:`_new_figure`, on the Agg canvas inside :func:`headless`),
grids and titles, and the axis helpers (tick labels, spines, bounds, log
axes) that the figure families share. :func:`figure_style` chooses the
figures' style: 'screen' (the default, sized for a monitor) or 'paper'.
"""

from __future__ import annotations

import contextvars
import itertools
import re
import textwrap
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FuncFormatter, Locator

from ..stats import is_log_transformed


_HEADLESS = contextvars.ContextVar("avoidrl_headless_figures", default=False)
_CONTEXT_COLORS = {"Reward": "#2f6fa8", "Loss Avoid": "#c0392b"}
_STIMULUS_COLORS = {"HR": "#2f6fa8", "LR": "#9cc7ea", "LP": "#f0a8a8", "HP": "#c0392b",
                    "N": "#bdbdbd"}
_BAR_COLOR = "#8fb05a"
_EMPIRICAL_COLOR = "#404040"
_BOUND_COLOR = "#c0392b"
_PARTICIPANT_COLOR = "#2f6fa8"
#: The tails of the true values in a coverage panel.
_TAIL_COLOR = "#e08a00"
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


#: The figure styles: 'screen' (the figures as they always were, sized for a
#: monitor, PNG at 150 dpi) and 'paper' (at most a journal page's width,
#: :data:`PAPER_WIDTH` inches, print font sizes from 7 to 9.5 points, PNG at
#: 300 dpi, and one-line figure titles: the explanation that follows them on
#: screen is the figure's caption, in the folder's README.md).
STYLES = ("screen", "paper")
#: Width (inches) a 'paper' figure is scaled down to, keeping its aspect ratio.
PAPER_WIDTH = 7.0
#: PNG resolution of each style.
STYLE_DPI = {"screen": 150, "paper": 300}
#: The smallest font size (points) of a 'paper' figure.
PAPER_MIN_FONT = 7.0
_STYLE = contextvars.ContextVar("avoidrl_figure_style", default="screen")


def check_style(style):
    """``style`` if it is one of :data:`STYLES`, else a ValueError naming them."""
    if not isinstance(style, str) or style not in STYLES:
        raise ValueError(f"style must be one of {list(STYLES)}, got {style!r}")
    return style


@contextmanager
def figure_style(style="screen"):
    """Build figures in ``style`` ('screen' or 'paper') inside this block.

    'paper' figures are at most :data:`PAPER_WIDTH` (7) inches wide (the
    aspect ratio kept, taller where the panels need it), have one-line titles
    and print font sizes (:func:`paper_fonts`; pass it a figure of your own).
    'screen' figures are avoidrl's usual ones.

    Examples
    --------
    >>> with headless(), figure_style("paper"):
    ...     figure = plot_model_comparison(models)          # doctest: +SKIP
    """
    token = _STYLE.set(check_style(style))
    try:
        yield
    finally:
        _STYLE.reset(token)


def paper_fonts(figure):
    """Set every text of ``figure`` to a print size: 7 to 9.5 points, larger ones larger.

    The screen figures' sizes (7 to 12 points) on a figure shrunk to the page
    width would collide; these keep their order and stay readable in print.
    avoidrl's figures built in the 'paper' style have them already (and are
    laid out for them): they are left as they are.
    """
    if getattr(figure, "_avoidrl_paper_fonts", False):
        return figure
    _shrink_fonts(figure)
    if hasattr(figure, "_avoidrl_fixed_layout"):  # smaller text, smaller margins
        _fixed_layout(figure, figure._avoidrl_fixed_layout)
    return figure


def _shrink_fonts(figure):
    """The print sizes of :func:`paper_fonts`, once per figure."""
    def smaller(size):
        return max(PAPER_MIN_FONT, min(size, 0.75 * size + 0.5))

    # tick labels made later (at draw time) take the axis' size, not the first tick's
    # (an axis without ticks, e.g. an empty panel, has no size to take)
    axes = [(axis, smaller(ticks[0].label1.get_fontsize()))
            for ax in figure.axes for axis in (ax.xaxis, ax.yaxis)
            if (ticks := axis.get_major_ticks())]
    for text in figure.findobj(lambda artist: hasattr(artist, "set_fontsize")
                               and hasattr(artist, "get_text")):
        text.set_fontsize(smaller(text.get_fontsize()))
    for axis, size in axes:
        axis.set_tick_params(which="both", labelsize=size)
    figure._avoidrl_paper_fonts = True


@contextmanager
def headless():
    """Build figures on the Agg canvas, without pyplot, inside this block.

    Figures made inside are not registered with pyplot: they never open a
    window, need no ``plt.close`` and leave the active backend alone. They
    have their style's file resolution (:data:`STYLE_DPI`: 150 dpi on
    screen, 300 on paper), which ``savefig`` uses unless given a ``dpi``.

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


def _paper():
    """Whether figures are being built in the 'paper' style."""
    return _STYLE.get() == "paper"


def _new_figure(width, height, layout="constrained"):
    """A ``width`` x ``height`` inch figure (narrower on paper).

    ``layout=None``: no layout engine, for figures laid out once by
    :func:`_fixed_layout` (constrained layout runs at every save); the
    others (equal aspects, colour bars) keep constrained layout.
    """
    if _STYLE.get() == "paper" and width > PAPER_WIDTH:
        width, height = PAPER_WIDTH, height * PAPER_WIDTH / width
    if _HEADLESS.get():
        # at the style's file resolution: the layout measures the texts with the renderer
        # that then draws the PNG, which reuses those measurements
        figure = Figure(figsize=(width, height), layout=layout, dpi=STYLE_DPI[_STYLE.get()])
        FigureCanvasAgg(figure)
        return figure
    from matplotlib import pyplot as plt

    return plt.figure(figsize=(width, height), layout=layout)


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


def _grid(figure_width_per_axis, height_per_axis, n, max_columns=4, layout="constrained"):
    n_cols = max(1, min(max_columns, n))
    n_rows = int(np.ceil(n / n_cols))
    figure = _new_figure(max(6.0, figure_width_per_axis * n_cols + 0.5),
                         height_per_axis * n_rows + 0.9, layout=layout)
    return figure, _cells(figure, n_rows, n_cols, n)


def _cells(figure, n_rows, n_cols, n):
    """The first ``n`` cells of an ``n_rows`` x ``n_cols`` grid of axes, row by row.

    Only those are made (an axes costs ~10 ms to build; one made and then
    removed, too).
    """
    grid = figure.add_gridspec(n_rows, n_cols)
    return np.array([figure.add_subplot(grid[i // n_cols, i % n_cols]) for i in range(n)],
                    dtype=object)


def _suptitle(figure, text, fontsize=11, wrap=True):
    """A figure title wrapped to the figure's width (each line break in text is kept).

    'paper' figures keep the first line only, unwrapped (the rest is the caption's).
    Returns the title's Text.
    """
    if _STYLE.get() == "paper":
        return figure.suptitle(text.split("\n")[0], fontsize=min(fontsize, 10))
    if not wrap:
        return figure.suptitle(text, fontsize=fontsize)
    width = int(figure.get_figwidth() * 120 / fontsize)
    lines = [textwrap.fill(line, max(width, 30)) for line in text.split("\n")]
    return figure.suptitle("\n".join(lines), fontsize=fontsize)


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
    """A log scale labelled with plain numbers (0.01, 0.1, 1), not powers of ten.

    Its ticks are those in view only (:class:`_InView`).
    """
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_major_locator(_InView(target.get_major_locator()))
    target.set_minor_locator(_InView(target.get_minor_locator()))


class _InView(Locator):
    """The tick locations of ``locator`` inside the axis' view interval.

    A log locator also returns the decades around the view (for a parameter
    spanning one decade, a hundred minor ticks out of view): matplotlib
    builds, labels and measures a tick for each one, and never draws it.
    Those within a hair of the interval are kept (matplotlib draws them).
    """

    def __init__(self, locator):
        self.locator = locator

    def set_axis(self, axis):
        super().set_axis(axis)
        self.locator.set_axis(axis)

    def __call__(self):
        locations = np.asarray(self.locator(), dtype=float)
        low, high = sorted(self.axis.get_view_interval())
        transform = self.axis.get_transform()
        with np.errstate(invalid="ignore", divide="ignore"):
            at, (low, high) = transform.transform(locations), transform.transform([low, high])
        slack = 1e-6 * abs(high - low)
        return locations[(at >= low - slack) & (at <= high + slack)]

    def tick_values(self, vmin, vmax):
        return self.locator.tick_values(vmin, vmax)

    def nonsingular(self, v0, v1):
        return self.locator.nonsingular(v0, v1)

    def view_limits(self, vmin, vmax):
        return self.locator.view_limits(vmin, vmax)


# ---------------------------------------------------------------- fixed layout
#: Fixed layout: space (inches) between the figure's edge and what is drawn, and between
#: the decorations of neighbouring panels (a little over constrained layout's, since text
#: is measured at the figure's dpi and rendered at the file's, with its own hinting).
_EDGE = 0.06
_GAP = 0.12
#: The lowest a panel may be (inches): a shorter figure grows (a 'paper' figure keeps the
#: screen figure's aspect ratio, too flat for its decorations at print sizes).
_MIN_PANEL_HEIGHT = 1.1


def _legend_columns(figure, labels, fontsize):
    """As many legend columns as fit the figure's width (one row of all may not)."""
    entry = max(len(str(label)) for label in labels) * 0.55 * fontsize / 72 + 0.8  # inches
    return max(1, min(len(labels), int(figure.get_figwidth() / entry)))


def _fixed_layout(figure, title=None):
    """Place the figure's grid of axes so that every title, label and legend fits.

    The layout constrained layout would find, computed once when the figure
    is built: each panel's decorations (tick labels, titles, axis labels, an
    axes legend beside it) are measured, each column of the grid gets the
    room its widest decorations need on either side (each row likewise), the
    axes share what is left equally, the figure ``title`` goes at the top and
    the figure legends at the bottom. A centred title or an axis label
    longer than its panel is wrapped; a figure too low for panels of
    :data:`_MIN_PANEL_HEIGHT` grows.
    Measuring three times lets wrapped and turned texts and legends placed in
    axes units settle (a title overhanging the last column narrows every
    panel, so it overhangs a little more: the third pass takes that in).
    Saving then needs no layout engine, which ran at every save (and with any
    engine matplotlib draws a figure twice per file).

    In the 'paper' style the figure gets its print font sizes (:func:`paper_fonts`)
    first. Every axes must come from one GridSpec (``figure.subplots``) and
    span one cell. :func:`paper_fonts` lays the figure out again after
    changing its fonts; after other changes, call
    ``figure.set_layout_engine('constrained')``.
    """
    axes = [ax for ax in figure.axes if ax.get_subplotspec() is not None]
    if not axes:
        return figure
    if _paper() and not getattr(figure, "_avoidrl_paper_fonts", False):
        _shrink_fonts(figure)  # laid out once, for the print sizes
    wrapped = getattr(figure, "_avoidrl_wrapped", {})
    for text, content in wrapped.items():  # laid out again: wrap anew for today's fonts
        text.set_text(content)
    figure._avoidrl_wrapped = wrapped = {}
    shape = axes[0].get_subplotspec().get_gridspec().get_geometry()
    cells = {ax: (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
             for ax in axes}
    for settle in (False, True, True):  # later passes see everything at its final place
        measured = {ax: _decorations(ax, overhang=settle) for ax in axes}
        need = {side: np.zeros(shape[index]) for index, side in
                ((1, "left"), (1, "right"), (0, "below"), (0, "above"))}
        for ax, (row, column) in cells.items():
            for index, side in enumerate(("left", "right", "below", "above")):
                at = column if index < 2 else row
                need[side][at] = max(need[side][at], measured[ax][0][index])
        panel = _place(figure, cells, need, title, shape)
        if not settle:
            for ax in axes:
                _wrap_long_texts(ax, panel, wrapped)
    for ax, (_, (beside, below)) in measured.items():
        # where matplotlib would put the axis labels, fixed: it need not measure the tick
        # labels again for them at every draw (their offsets do not depend on the size)
        ax.yaxis.set_label_coords(-beside / figure.dpi / panel[0],
                                  ax.yaxis.label.get_position()[1])
        ax.xaxis.set_label_coords(ax.xaxis.label.get_position()[0],
                                  -below / figure.dpi / panel[1])
    figure._avoidrl_fixed_layout = title  # paper_fonts lays the figure out again
    return figure


def _place(figure, cells, need, title, shape):
    """Position the axes given the room their decorations ``need``; (panel width, height).

    The figure grows when its panels would be lower than :data:`_MIN_PANEL_HEIGHT`.
    """
    n_rows, n_cols = shape
    width, height = figure.get_size_inches()
    title_room = 0.0 if title is None else title.get_window_extent().height / figure.dpi
    bottom = max([_EDGE] + [legend.get_window_extent().y1 / figure.dpi + _GAP
                            for legend in figure.legends])
    fixed = (_EDGE + (title_room + _GAP if title is not None else 0.0) + bottom
             + need["below"].sum() + need["above"].sum() + _GAP * (n_rows - 1))
    if (height - fixed) / n_rows < _MIN_PANEL_HEIGHT:
        height = fixed + n_rows * _MIN_PANEL_HEIGHT
        figure.set_size_inches(width, height)
    if title is not None:
        title.set(y=1 - _EDGE / height, verticalalignment="top")
    panel_width = max(0.2, (width - 2 * _EDGE - need["left"].sum() - need["right"].sum()
                            - _GAP * (n_cols - 1)) / n_cols)
    panel_height = (height - fixed) / n_rows
    x0 = _EDGE + np.cumsum(need["left"]) + np.r_[0, np.cumsum(
        need["right"] + panel_width + _GAP)[:-1]]
    top = height - _EDGE - (title_room + _GAP if title is not None else 0.0)
    y1 = top - np.cumsum(need["above"]) - np.r_[0, np.cumsum(
        need["below"] + panel_height + _GAP)[:-1]]
    for ax, (row, column) in cells.items():
        ax.set_position([x0[column] / width, (y1[row] - panel_height) / height,
                         panel_width / width, panel_height / height])
    return panel_width, panel_height


def _wrap_long_texts(ax, panel, wrapped):
    """Wrap ax's title and axis labels where longer than the panel (``panel``: width, height).

    ``wrapped`` gets the texts changed: {Text: its text before}.
    """
    dpi = ax.get_figure(root=True).dpi
    for text, along, room in ((ax.title, "width", panel[0]), (ax.xaxis.label, "width", panel[0]),
                              (ax.yaxis.label, "height", panel[1])):
        content = text.get_text()
        if not (text.get_visible() and content):
            continue
        length = getattr(text.get_window_extent(), along) / dpi
        if length > room:
            longest = max(len(line) for line in content.split("\n"))
            fits = max(8, int(longest * room / length))
            wrapped[text] = content
            text.set_text("\n".join(_fill(line, fits) for line in content.split("\n")))
    labels = [tick.label1 for tick in ax.xaxis._update_ticks()
              if tick.label1.get_visible() and tick.label1.get_text()
              and tick.label1.get_rotation() == 0]
    extents = [label.get_window_extent() for label in labels]
    if any(left.x1 > right.x0 for left, right in itertools.pairwise(extents)):
        # x tick labels that collide in a narrow panel: turned as _rotate turns long ones,
        # on one line each
        formatter = ax.xaxis.get_major_formatter()
        if isinstance(formatter, FixedFormatter):
            ax.xaxis.set_major_formatter(FixedFormatter([str(label).replace("\n", " ")
                                                         for label in formatter.seq]))
        for label in labels:
            label.set(rotation=45, horizontalalignment="right", rotation_mode="anchor")
        ax.xaxis.set_tick_params(labelrotation=45)


def _fill(line, width):
    """``line`` in lines of at most ``width`` characters, broken after spaces, '+', '_' or '/'.

    (Model and parameter names break at their parts: 'QLearning+' 'novel'.)
    """
    lines = [""]
    for word in re.split(r"(?<=[ +_/])", line):
        if lines[-1] and len(lines[-1]) + len(word.rstrip()) > width:
            lines.append("")
        lines[-1] += word
    return "\n".join(part.rstrip() for part in lines)


def _decorations(ax, overhang=True):
    """How far (inches) ax's decorations reach beyond its box, and where its axis labels go.

    Returns ((left, right, below, above), (y label, x label)): the axis labels'
    distances (display units) from the box, beyond the tick labels by their
    label pad, as matplotlib places them. Tick labels, titles and an axes
    legend are measured where they are. How far a centred title or an axis
    label longer than its side of the box overhangs counts with ``overhang``
    only (it is wrapped first, by :func:`_wrap_long_texts`; a word longer
    than the box is left whole).
    """
    box, dpi = ax.get_window_extent(), ax.get_figure(root=True).dpi
    reach = [box.x0, box.x1, box.y0, box.y1]  # min x, max x, min y, max y
    edges = {}
    for axis in (ax.xaxis, ax.yaxis):
        extents = [label.get_window_extent() for tick in axis._update_ticks()  # those drawn
                   for label in (tick.label1, tick.label2)
                   if label.get_visible() and label.get_text()]
        tick = mpl.rcParams[f"{axis.axis_name}tick.major.size"] * dpi / 72
        edges[axis.axis_name] = (min([e.x0 for e in extents] + [box.x0 - tick]),
                                 min([e.y0 for e in extents] + [box.y0 - tick]))
        _grow(reach, [(e.x0, e.x1, e.y0, e.y1) for e in extents])
    if not ax.yaxis.get_major_formatter().get_offset():
        # nothing is drawn above the axes, so its titles stay at y = 1: matplotlib need
        # not look for decorations to lift them above at every draw
        ax._autotitlepos = False
    if ax.title.get_text():
        extent = ax.title.get_window_extent()
        _grow(reach, [(extent.x0 if overhang else box.x0, extent.x1 if overhang else box.x1,
                       extent.y0, extent.y1)])
    shown = [t for t in (ax._left_title, ax._right_title) if t.get_text()]
    if ax.get_legend() is not None:
        shown.append(ax.get_legend())
    _grow(reach, [(e.x0, e.x1, e.y0, e.y1) for e in (a.get_window_extent() for a in shown)])
    beside = box.x0 - edges["y"][0] + ax.yaxis.labelpad * dpi / 72
    below = box.y0 - edges["x"][1] + ax.xaxis.labelpad * dpi / 72
    if ax.yaxis.label.get_visible() and ax.yaxis.label.get_text():
        size = ax.yaxis.label.get_window_extent()
        spill = max(0.0, (size.height - box.height) / 2) if overhang else 0.0  # centred
        _grow(reach, [(box.x0 - beside - size.width, box.x1, box.y0 - spill, box.y1 + spill)])
    if ax.xaxis.label.get_visible() and ax.xaxis.label.get_text():
        size = ax.xaxis.label.get_window_extent()
        spill = max(0.0, (size.width - box.width) / 2) if overhang else 0.0
        _grow(reach, [(box.x0 - spill, box.x1 + spill, box.y0 - below - size.height, box.y1)])
    return (((box.x0 - reach[0]) / dpi, (reach[1] - box.x1) / dpi,
             (box.y0 - reach[2]) / dpi, (reach[3] - box.y1) / dpi), (beside, below))


def _grow(reach, boxes):
    """Extend ``reach`` ([min x, max x, min y, max y]) over ``boxes`` (x0, x1, y0, y1)."""
    for x0, x1, y0, y1 in boxes:
        reach[:] = [min(reach[0], x0), max(reach[1], x1), min(reach[2], y0), max(reach[3], y1)]
