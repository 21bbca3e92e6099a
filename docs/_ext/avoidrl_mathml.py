"""Render the docs' math to MathML at build time, so the pages need no script and no network.

Sphinx's default HTML math renderer (MathJax) loads its script from a CDN:
offline, the pages show raw LaTeX. This extension registers a renderer,
``mathml``, that converts each formula with docutils' LaTeX to MathML
converter (:mod:`docutils.utils.math.latex2mathml`) while the page is
written; browsers display MathML natively. ``conf.py`` selects it with
``html_math_renderer = "mathml"``.

A formula the converter cannot read is a build warning (an error under
``-W``) naming the formula, and is shown as its LaTeX source.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from docutils import nodes
from docutils.utils.math import latex2mathml

from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

#: The stylesheet of the MathML blocks (added to every page).
STYLESHEET = Path(__file__).parent / "static" / "avoidrl_mathml.css"

#: The name ``conf.py`` gives to ``html_math_renderer``.
RENDERER = "mathml"


#: Style switches that docutils' converter accepts only first in a group.
STYLE_SWITCHES = (r"\displaystyle", r"\textstyle", r"\scriptstyle", r"\scriptscriptstyle")


def _group_end(latex: str, start: int) -> int:
    """Index where the group holding ``start`` ends: its ``}``, ``&``, ``\\\\`` or ``\\right``."""
    depth, j = 0, start
    while j < len(latex):
        if depth == 0 and (latex[j] == "&" or latex.startswith(("\\\\", "\\right"), j)):
            return j
        if latex[j] == "\\":
            j += 2  # skip an escaped character or a command's first letter
            continue
        if latex[j] == "{":
            depth += 1
        elif latex[j] == "}":
            if depth == 0:
                return j
            depth -= 1
        j += 1
    return j


def scope_style_switches(latex: str) -> str:
    r"""Brace every ``\textstyle`` (and kin) from the switch to where its group ends.

    In LaTeX a style switch lasts to the end of the enclosing group (or of the
    cell or line in an alignment); docutils' converter accepts one only first
    in a group. Bracing it keeps the meaning (``a \textstyle\sum_j x`` is
    ``a {\textstyle\sum_j x}``).
    """
    out, i = [], 0
    while i < len(latex):
        switch = next((s for s in STYLE_SWITCHES if latex.startswith(s, i)
                       and not latex[i + len(s):i + len(s) + 1].isalpha()), None)
        if switch is None:
            out.append(latex[i])
            i += 1
            continue
        end = _group_end(latex, i + len(switch))
        out.append("{" + switch + scope_style_switches(latex[i + len(switch):end]) + "}")
        i = end
    return "".join(out)


def convert(latex: str, *, block: bool = False) -> str:
    """MathML of one formula; raises what the converter raises if it cannot read it.

    Parameters
    ----------
    latex : str
        The formula's LaTeX source (without ``$`` delimiters). In a display
        block, blank-line separated equations are shown one under the other
        and ``\\\\`` breaks lines (``aligned``, as MathJax does).
    block : bool
        Display math (``<math display="block">``) rather than inline.
    """
    source = latex.strip()
    if block:
        parts = [part.strip() for part in source.split("\n\n") if part.strip()]
        if len(parts) > 1 or r"\\" in source:
            source = r"\begin{aligned}" + r"\\".join(parts) + r"\end{aligned}"
    return latex2mathml.tex2mathml(scope_style_switches(source), as_block=block)


def to_mathml(latex: str, *, block: bool = False, location=None) -> str:
    """:func:`convert`, or the escaped LaTeX after a build warning (``location``: the node)."""
    try:
        return convert(latex, block=block)
    except Exception as error:  # the converter raises SyntaxError and others
        logger.warning("cannot render the math %r as MathML: %s", latex, error,
                       location=location, type="math", subtype="mathml")
        return f'<code class="math">{escape(latex)}</code>'


def visit_math(self, node: nodes.math) -> None:
    """Inline math: ``<span class="math">`` holding the MathML."""
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(to_mathml(node.astext(), location=node) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    """Display math: a ``<div class="math">`` with the equation number, if any, and the MathML."""
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("number"):
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, "Link to this equation")
        self.body.append("</span>")
    self.body.append(to_mathml(node.astext(), block=True, location=node) + "</div>\n")
    raise nodes.SkipNode


def _add_stylesheet(app) -> None:
    if app.builder.format == "html":
        app.config.html_static_path.append(str(STYLESHEET.parent))
        app.add_css_file(STYLESHEET.name)


def setup(app):
    """Sphinx extension entry point: register the ``mathml`` HTML math renderer."""
    app.connect("builder-inited", _add_stylesheet)
    app.add_html_math_renderer(RENDERER, inline_renderers=(visit_math, None),
                               block_renderers=(visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
