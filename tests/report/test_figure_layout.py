"""The fixed layout of the report's figures (issue 21, point 3): every text fits, nothing overlaps.

The figures with the most panels and groups are built without a layout engine
(:func:`avoidrl.plotting._style._fixed_layout` places their axes once), then
drawn at their style's resolution; the bounding boxes come from the renderer.
"""

import itertools
import warnings

import numpy as np
import pytest
from matplotlib.text import Text

import avoidrl
from avoidrl import plotting, report
from avoidrl.plotting._style import STYLE_DPI, _fixed_layout, _new_figure

from .test_plotting import _simulate

NAMES = ("QLearning+novel", "ActorCritic+novel", "Hybrid2012+novel")
#: Four groups, one with a long name (wrapped on the parameter panels' axes).
GROUPS = {"a1": "control", "a2": "control", "b1": "acute pain", "b2": "acute pain",
          "c1": "chronic pain, long-standing", "c2": "chronic pain, long-standing",
          "d1": "fourth", "d2": "fourth"}
TOLERANCE = 1.0  # pixels: the renderer's rounding


@pytest.fixture(scope="module")
def fitted():
    data = _simulate(GROUPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {name: avoidrl.make_model(name, n_starts=1, screen_starts=0,
                                           random_state=0).fit(*data) for name in NAMES}
    accuracy, choice = report.posterior_predictive(models, *data, random_state=0)
    return models, accuracy, choice, report.learning_dynamics(models, *data)


def _figures(fitted):
    """The report's largest figures: (name, function building it)."""
    models, accuracy, choice, dynamics = fitted
    return [
        ("simulations", lambda: plotting.plot_model_simulations(accuracy, choice, dynamics,
                                                                "acute pain")),
        ("behaviour", lambda: plotting.plot_model_behaviour(accuracy, choice, NAMES[2])),
        ("parameter fits", lambda: plotting.plot_parameter_fits(models[NAMES[2]])),
        ("distributions", lambda: plotting.plot_fit_distributions(models)),
        ("fit by starts", lambda: plotting.plot_fit_by_starts(models)),
        ("comparison", lambda: plotting.plot_model_comparison(models)),
    ]


def _drawn(figure, dpi):
    """Draw ``figure`` at ``dpi`` (as savefig does); its renderer."""
    figure.set_dpi(dpi)
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def _decorations(ax, renderer):
    """Bounding boxes of ax's titles, axis labels and drawn tick labels."""
    texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
    for axis in (ax.xaxis, ax.yaxis):
        texts += [label for tick in axis._update_ticks()  # the ticks matplotlib draws
                  for label in (tick.label1, tick.label2)]
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def _overlap(a, b):
    """Whether boxes a and b overlap by more than the tolerance."""
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE
            and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE)


def layout_problems(figure, dpi):
    """What is wrong with the figure's layout at ``dpi``: [] when every text fits.

    Every visible text must lie inside the figure; an axes' decorations must
    not overlap another axes or its decorations; the figure's title and
    legends must not overlap any axes or decoration.
    """
    renderer = _drawn(figure, dpi)
    page = figure.bbox
    axes = figure.axes
    decorations = {ax: _decorations(ax, renderer) for ax in axes}
    # tick labels of ticks out of view keep a text but are not drawn: those drawn are
    # in decorations
    ticks = {id(label) for ax in axes for axis in (ax.xaxis, ax.yaxis)
             for tick in axis.get_major_ticks() + axis.get_minor_ticks()
             for label in (tick.label1, tick.label2)}
    boxes = [(text.get_text(), text.get_window_extent(renderer))
             for text in figure.findobj(Text)
             if text.get_visible() and text.get_text() and id(text) not in ticks]
    boxes += [("a tick label", box) for ax in axes for box in decorations[ax]]
    problems = [f"outside the figure: {text[:40]!r}" for text, box in boxes
                if box.x0 < page.x0 - TOLERANCE or box.x1 > page.x1 + TOLERANCE
                or box.y0 < page.y0 - TOLERANCE or box.y1 > page.y1 + TOLERANCE]
    for ax in axes:
        for other in axes:
            if other is ax:
                continue
            for box in decorations[ax]:
                if _overlap(box, other.bbox) or any(_overlap(box, o) for o in decorations[other]):
                    problems.append(f"a decoration of {ax.get_title()[:30]!r} overlaps "
                                    f"{other.get_title()[:30]!r}")
    for ax in axes:  # tick labels side by side
        for axis in (ax.xaxis, ax.yaxis):
            # (the boxes of turned labels overlap where their letters do not)
            drawn = [tick.label1.get_window_extent(renderer) for tick in axis._update_ticks()
                     if tick.label1.get_visible() and tick.label1.get_text()
                     and tick.label1.get_rotation() == 0]
            problems += [f"tick labels overlap on {ax.get_title()[:30]!r}"
                         for a, b in itertools.pairwise(drawn) if _overlap(a, b)]
    shared = [figure._suptitle] if figure._suptitle is not None else []
    for artist in shared + list(figure.legends):
        box = artist.get_window_extent(renderer)
        for ax in axes:
            if _overlap(box, ax.bbox) or any(_overlap(box, d) for d in decorations[ax]):
                problems.append(f"the figure's {type(artist).__name__} overlaps "
                                f"{ax.get_title()[:30]!r}")
    return problems


@pytest.mark.parametrize("style", ["screen", "paper"])
def test_fixed_layout_fits_every_text_of_the_largest_figures(fitted, style):
    for name, build in _figures(fitted):
        with plotting.headless(), plotting.figure_style(style):
            figure = build()
        if style == "paper":
            plotting.paper_fonts(figure)
        assert figure.get_layout_engine() is None, name  # no engine at save time
        assert layout_problems(figure, STYLE_DPI[style]) == [], name
        # the panels keep most of the figure: the layout gives the decorations what they need
        share = sum(ax.bbox.width * ax.bbox.height for ax in figure.axes) / (
            figure.bbox.width * figure.bbox.height)
        assert share > 0.2, (name, share)


def test_the_check_finds_overlaps():
    # the same crowded grid without the fixed layout: matplotlib's default positions
    def crowded(layout):
        with plotting.headless():
            figure = _new_figure(6.0, 4.0)
            for i, ax in enumerate(figure.subplots(2, 3).ravel()):
                ax.plot([0, 1e5], [0, 1e5])
                ax.set_title(f"panel {i}")
                ax.set_ylabel("a label\non two lines")
                ax.set_xlabel("x")
            title = figure.suptitle("the figure's title")
            figure.legend(["a legend entry"], loc="lower center", ncol=1)
        return _fixed_layout(figure, title) if layout else figure

    assert layout_problems(crowded(False), 100) != []
    assert layout_problems(crowded(True), 100) == []


def test_paper_fonts_lay_the_figure_out_again(fitted):
    models = fitted[0]
    with plotting.headless():
        figure = plotting.plot_parameter_fits(models[NAMES[2]])
    before = np.array([ax.get_position().bounds for ax in figure.axes])
    plotting.paper_fonts(figure)
    after = np.array([ax.get_position().bounds for ax in figure.axes])
    # smaller text needs less room: the panels grow
    assert (after[:, 2] > before[:, 2]).all() and (after[:, 3] > before[:, 3]).all()
    assert layout_problems(figure, STYLE_DPI["screen"]) == []
    # a 'paper' figure has its print sizes already: paper_fonts leaves it alone
    with plotting.headless(), plotting.figure_style("paper"):
        paper = plotting.plot_parameter_fits(models[NAMES[2]])
    sizes = [t.get_fontsize() for t in paper.findobj(Text)]
    assert max(sizes) <= 9.5 and min(sizes) >= 7.0
    plotting.paper_fonts(paper)
    assert [t.get_fontsize() for t in paper.findobj(Text)] == sizes


def test_paper_fonts_take_panels_without_ticks():
    # an empty panel (no ticks), as a comparison figure with nothing to show draws it
    with plotting.headless():
        figure = _new_figure(6.0, 3.0)
        left, right = figure.subplots(1, 2)
        left.plot([0, 1], [0, 1])
        right.set_xticks([])
        right.set_yticks([])
        right.text(0.5, 0.5, "no data", ha="center")
        title = figure.suptitle("a title")
        figure = _fixed_layout(figure, title)
    plotting.paper_fonts(figure)
    assert all(t.get_fontsize() <= 9.5 for t in figure.findobj(Text) if t.get_text())
    assert layout_problems(figure, STYLE_DPI["paper"]) == []
