"""The gallery shows every example's figures with captions, and no build-machine path.

Examples that run at build time save their figures as PNGs with the caption
in the ``Description`` text chunk; the gallery's scraper
(``docs/_ext/avoidrl_gallery.py``) shows each as a ``figure`` with that
caption. Built pages must not print the machine's paths: the examples print
paths relative to their output folder and warnings are shown without the
raising file. None of this needs a Sphinx build.
"""

import ast
import importlib.util
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hooks():
    return load(DOCS / "_ext" / "avoidrl_gallery.py", "avoidrl_gallery_hooks")


@pytest.fixture(scope="module")
def executed():
    conf = load(DOCS / "conf.py", "avoidrl_docs_conf_gallery").sphinx_gallery_conf
    return [p for p in sorted(EXAMPLES.glob("*.py")) if re.search(conf["filename_pattern"],
                                                                   str(p))]


def test_every_example_run_by_the_gallery_saves_captioned_figures(executed, hooks):
    assert "parameter_recovery.py" in [p.name for p in executed]
    for path in executed:
        source = path.read_text()
        assert path.name in hooks.TAKES_OUTPUT_FOLDER and "sys.argv[1]" in source, path.name
        calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                 and getattr(node.func, "attr", None) == "savefig"]
        assert calls, f"{path.name} saves no figure"
        for call in calls:
            assert any(k.arg == "metadata" for k in call.keywords), path.name
        # paths are printed relative to the output folder
        assert not re.search(r"print\(f?\"[^\"]*saved \{path\}", source), path.name


def test_the_scraper_shows_each_saved_figure_with_its_caption(tmp_path, hooks):
    from matplotlib.figure import Figure

    src_dir = tmp_path / "docs"
    example = src_dir / ".." / "examples" / "demo.py"
    gallery_conf = {"src_dir": str(src_dir)}
    folder = hooks.output_folder(gallery_conf, example) / "figures"
    folder.mkdir(parents=True)
    figure = Figure()
    figure.subplots().plot([0, 1])
    figure.savefig(folder / "one.png", metadata={"Description": "First figure. In detail."})
    figure.savefig(folder / "two.png")
    images = src_dir / "auto_examples" / "images"
    images.mkdir(parents=True)
    block_vars = {"src_file": str(example),
                  "image_path_iterator": iter([images / "sphx_glr_demo_001.png",
                                               images / "sphx_glr_demo_002.png"])}
    rst = hooks.saved_figures(None, block_vars, gallery_conf)
    assert ".. figure:: /auto_examples/images/sphx_glr_demo_001.png" in rst
    assert "   First figure. In detail." in rst and ":alt: First figure" in rst
    assert ".. figure:: /auto_examples/images/sphx_glr_demo_002.png" in rst
    assert (images / "sphx_glr_demo_002.png").is_file()
    # figures shown once: the next block shows nothing new
    assert hooks.saved_figures(None, block_vars, gallery_conf) == ""


def test_gallery_warnings_do_not_show_the_raising_file(hooks):
    previous = warnings.formatwarning
    try:
        hooks.short_warnings({}, "demo.py")
        text = warnings.formatwarning("careful", UserWarning, "/work/x/demo.py", 3)
    finally:
        warnings.formatwarning = previous
    assert text == "UserWarning: careful\n"


@pytest.mark.slow
def test_parameter_recovery_example(tmp_path, capsys):
    example = load(EXAMPLES / "parameter_recovery.py", "example_parameter_recovery")
    recoveries = example.main(tmp_path, n_datasets=12, n_starts=1)
    out = capsys.readouterr().out
    assert "Recoverability" in out and str(tmp_path) not in out
    assert list(recoveries) == list(example.BOUNDS)
    capped = recoveries["temperature up to 0.2"]
    assert capped.true_params_["temperature"].max() <= 0.2
    for name in ("recovery_correlation_plot.png", "recoverability.png"):
        assert (tmp_path / "figures" / name).is_file()
