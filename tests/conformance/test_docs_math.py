"""The docs' math renders offline: every formula converts to MathML at build time.

``docs/_ext/avoidrl_mathml.py`` replaces MathJax (a CDN script) by MathML
written into the pages. A formula docutils' converter cannot read would be a
build error under ``-W``; these tests find that without Sphinx by converting
every formula of the hand-written pages, the generated models page and the
package's docstrings.
"""

import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import avoidrl

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mathml():
    pytest.importorskip("sphinx")
    return load(DOCS / "_ext" / "avoidrl_mathml.py", "avoidrl_mathml")


INLINE = re.compile(r":math:`([^`]+)`")


def display_blocks(text):
    """The bodies of ``.. math::`` directives (their indented lines)."""
    blocks, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".. math::":
            indent = len(line) - len(line.lstrip())
            body = []
            for following in lines[i + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            blocks.append("\n".join(body).strip())
    return blocks


def package_docstrings():
    modules = [avoidrl] + [importlib.import_module(info.name) for info in
                           pkgutil.walk_packages(avoidrl.__path__, "avoidrl.")
                           if info.name not in ("avoidrl.__main__",)]
    for module in modules:
        yield inspect.getdoc(module) or ""
        for value in vars(module).values():
            if (inspect.isfunction(value) or inspect.isclass(value)) and \
                    getattr(value, "__module__", None) == module.__name__:
                yield inspect.getdoc(value) or ""
                for member in vars(value).values() if inspect.isclass(value) else ():
                    if inspect.isfunction(member):
                        yield inspect.getdoc(member) or ""


def all_math():
    pages = [path.read_text(encoding="utf-8") for path in DOCS.glob("*.rst")]
    pages.append(load(DOCS / "_ext" / "avoidrl_generated_pages.py", "pages_for_math").models_rst())
    texts = pages + list(package_docstrings())
    inline = {m for text in texts for m in INLINE.findall(text)}
    display = {b for text in texts for b in display_blocks(text)}
    return inline, display


def test_every_formula_of_the_docs_converts_to_mathml(mathml):
    inline, display = all_math()
    assert len(inline) >= 10 and len(display) >= 3, (len(inline), len(display))
    for latex in inline:
        assert mathml.convert(latex).startswith("<math"), latex
    for latex in display:
        assert 'display="block"' in mathml.convert(latex, block=True), latex


def test_style_switches_are_scoped_to_their_group(mathml):
    scope = mathml.scope_style_switches
    assert scope(r"a + \textstyle\sum_j x, b") == r"a + {\textstyle\sum_j x, b}"
    assert scope(r"\left(\textstyle\sum x\right) y") == r"\left({\textstyle\sum x}\right) y"
    assert scope(r"a & \displaystyle b \\ c") == r"a & {\displaystyle b }\\ c"
    assert scope(r"\textstyled") == r"\textstyled"  # another command, left alone
    # the docstring formula docutils refused before the scoping
    html = mathml.convert(r"F_0 = \sum_n \log \tfrac{1}{K} \textstyle\sum_k \exp(L_{nk}),",
                          block=True)
    assert 'displaystyle="false"' in html


def test_display_blocks_with_several_equations_are_aligned(mathml):
    html = mathml.convert("a = b\n\nc = d", block=True)
    assert html.count("<mtr>") == 2


def test_the_docs_use_the_mathml_renderer_and_no_mathjax():
    conf = load(DOCS / "conf.py", "avoidrl_docs_conf_math")
    assert conf.html_math_renderer == "mathml"
    assert "avoidrl_mathml" in conf.extensions
    assert not any("mathjax" in extension for extension in conf.extensions)
    assert conf.sphinx_gallery_conf["write_computation_times"] is False  # CDN scripts
