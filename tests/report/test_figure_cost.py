"""What keeps the report's figures cheap to draw (issue 21): no work repeated or wasted.

Each test checks the saving's mechanism, never a time: the renderer that
measured the layout is the one that draws the PNG (so it reuses its text
measurements).
"""

import pytest

from avoidrl import plotting
from avoidrl.plotting._style import (
    STYLE_DPI, _fixed_layout, _new_figure, _suptitle,
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

