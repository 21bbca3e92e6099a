"""What keeps the report's figures cheap to draw (issue 21): no work repeated or wasted.

Each test checks the saving's mechanism, never a time: the renderer that
measured the layout is the one that draws the PNG (so it reuses its text
measurements), and log axes build only the ticks they draw.
"""

import numpy as np
import pytest
from matplotlib.ticker import LogLocator

from avoidrl import plotting
from avoidrl.plotting._style import (
    STYLE_DPI, _fixed_layout, _InView, _new_figure, _plain_log_axis, _suptitle,
)
from avoidrl.report._figures import save_figure


@pytest.mark.parametrize("style", ["screen", "paper"])
def test_the_png_is_drawn_by_the_renderer_that_measured_the_layout(style, tmp_path):
    with plotting.headless(), plotting.figure_style(style):
        figure = _new_figure(6.0, 3.0, layout=None)
        axes = figure.subplots(1, 2)
        for ax in axes:
            ax.plot([1, 2, 3], [3, 1, 2])
            ax.set(title="a panel", xlabel="x", ylabel="y")
        _fixed_layout(figure, _suptitle(figure, "a figure (n = 3)"))
    assert figure.dpi == STYLE_DPI[style]
    measured = figure.canvas.get_renderer()
    save_figure(figure, str(tmp_path / "figure"), ("png",), dpi=STYLE_DPI[style])
    assert figure.canvas.get_renderer() is measured  # the text measurements' cache key
    assert figure.dpi == STYLE_DPI[style]


def _drawn_ticks(axis):
    """Locations of the ticks matplotlib draws on ``axis``, major then minor."""
    return [tick.get_loc() for tick in axis._update_ticks()]


@pytest.mark.parametrize("limits", [(0.05, 0.4), (0.3, 30.0), (1e-3, 1e3), (2.0, 2.5)])
def test_log_axes_build_only_the_ticks_they_draw(limits):
    values = np.geomspace(*limits, 7)
    with plotting.headless():
        figure = _new_figure(6.0, 3.0, layout=None)
        plain, trimmed = figure.subplots(1, 2)
    plain.plot(values, values)
    plain.set_yscale("log")
    trimmed.plot(values, values)
    _plain_log_axis(trimmed)
    for ax in (plain, trimmed):
        ax.set_ylim(*limits)
    assert isinstance(trimmed.yaxis.get_major_locator(), _InView)
    assert isinstance(trimmed.yaxis.get_minor_locator().locator, LogLocator)
    # the same ticks are drawn, at the same places ...
    assert _drawn_ticks(trimmed.yaxis) == pytest.approx(_drawn_ticks(plain.yaxis))
    assert len(_drawn_ticks(trimmed.yaxis)) > 0
    # ... and no other tick is made
    made = len(trimmed.yaxis.get_majorticklocs()) + len(trimmed.yaxis.get_minorticklocs())
    assert made == len(_drawn_ticks(trimmed.yaxis))
    plain_made = len(plain.yaxis.get_majorticklocs()) + len(plain.yaxis.get_minorticklocs())
    assert plain_made > made  # matplotlib's locators reach beyond the view


def test_the_figures_confidence_intervals_are_those_of_the_tables():
    from avoidrl._tables import _t_ci
    from avoidrl.plotting._behaviour import _t_cis

    rng = np.random.default_rng(7)
    rows = [rng.normal(60.0, 25.0, size=k) for k in rng.integers(0, 30, 200)]
    for v in rows[::5]:
        v[:1] = np.nan  # a missing value is left out, as the tables do
    rows += [np.array([]), np.array([4.0]), np.array([np.nan, 3.0]), np.array([2.0, 2.0])]
    expected = np.array([_t_ci(v) for v in rows])
    assert np.array_equal(_t_cis(rows), expected, equal_nan=True)  # the same floats
    assert np.isnan(expected[-4:-1]).all() and expected[-1] == 0.0


def test_a_grid_makes_only_the_axes_it_shows():
    from avoidrl.plotting._style import _grid

    with plotting.headless():
        figure, axes = _grid(3.0, 3.0, 5, layout=None)
    assert len(axes) == 5 and list(figure.axes) == list(axes)  # none made and removed
    cells = [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
             for ax in axes]
    assert cells == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]  # row by row, 4 columns
    assert {ax.get_subplotspec().get_gridspec() for ax in axes} == \
        {axes[0].get_subplotspec().get_gridspec()}  # one grid, as _fixed_layout needs
