"""The figure styles 'screen' and 'paper' (issue 20, point 4)."""

import pytest

from avoidrl import plotting, report
from avoidrl.plotting._style import _new_figure, _suptitle


def test_paper_figures_fit_the_page_and_keep_one_title_line():
    with plotting.headless():
        screen = _new_figure(14.0, 7.0)
        _suptitle(screen, "title\nthe caption's explanation")
        with plotting.figure_style("paper"):
            paper = _new_figure(14.0, 7.0)
            _suptitle(paper, "title\nthe caption's explanation", fontsize=12)
            small = _new_figure(5.0, 3.0)
    assert tuple(screen.get_size_inches()) == (14.0, 7.0)
    assert tuple(paper.get_size_inches()) == pytest.approx((7.0, 3.5))
    assert tuple(small.get_size_inches()) == (5.0, 3.0)  # narrow figures keep their size
    assert screen._suptitle.get_text() == "title\nthe caption's explanation"
    assert paper._suptitle.get_text() == "title" and paper._suptitle.get_fontsize() == 10
    plotting.paper_fonts(paper)
    assert paper._suptitle.get_fontsize() == pytest.approx(8.0)


def test_paper_fonts_keep_order_and_a_floor():
    with plotting.headless():
        figure = _new_figure(4.0, 3.0)
        texts = [figure.text(0.1, 0.1 * i, "x", fontsize=size)
                 for i, size in enumerate((6, 8, 10, 12), start=1)]
    plotting.paper_fonts(figure)
    sizes = [t.get_fontsize() for t in texts]
    assert sizes == pytest.approx([7.0, 7.0, 8.0, 9.5])


@pytest.mark.parametrize("style", ["print", None, 1])
def test_unknown_styles_are_refused(style, tmp_path):
    with pytest.raises(ValueError, match="style must be one of"):
        report.write_fit_report(tmp_path / "x", {}, None, None, style=style)
    with pytest.raises(ValueError, match="style must be one of"):
        with plotting.figure_style(style):
            pass
    assert not (tmp_path / "x").exists()
