"""Sphinx configuration of avoidrl's documentation.

Build (from the project root, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``-D plot_gallery=0`` skips running the examples.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import avoidrl  # noqa: E402  (after the path set-up)

project = "avoidrl"
author = "avoidrl developers"
copyright = "2026, avoidrl developers"
release = version = avoidrl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "avoidrl_generated_pages",
    "avoidrl_mathml",
]
# math is converted to MathML while the pages are written (docs/_ext/avoidrl_mathml.py):
# no MathJax script, so the pages render offline
html_math_renderer = "mathml"

exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
html_theme = "furo"
html_title = f"avoidrl {release}"

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
# the estimators' signatures are documented in their numpydoc "Parameters" sections
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Example gallery -----------------------------------------------------------
# Which examples run at build time (and how long each takes) is written down in
# examples/README.rst; the others are shown with their code only.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": (r"/(tutorial_fit|parameter_recovery|custom_asymmetric_q"
                         r"|custom_perseveration|grid_search_bounds|full_bayes)\.py$"),
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "avoidrl_gallery.ExampleOrder",
    "image_scrapers": ("matplotlib", "avoidrl_gallery.saved_figures"),
    "reset_argv": "avoidrl_gallery.example_argv",
    # warnings without the build machine's paths (matplotlib: the default reset)
    "reset_modules": ("matplotlib", "avoidrl_gallery.short_warnings"),
    "backreferences_dir": None,
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "show_memory": False,
    # its timing pages load jQuery and DataTables from CDNs; the times are in examples/README.rst
    "write_computation_times": False,
}


def _skip_sklearn_routing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods (set_fit_request, ...)."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
