"""The documentation: the generated models page, the API reference and the gallery set-up.

The models page is generated from the model declarations at every build
(``docs/_ext/avoidrl_generated_pages.py``); it is checked here against the
reference's table of default bounds and start values (reference-spec.md,
section 2.2), written out independently below. None of this needs Sphinx:
the docs build itself runs in CI (``.ci/run``).
"""

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import avoidrl
from avoidrl.models._builtin import BASE_MODELS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LR = (0.01, 0.99)
#: The reference's default bounds by parameter (every *_lr shares LR).
REFERENCE_BOUNDS = {"temperature": (0.01, 1.0), "mixing_factor": (0.0, 1.0),
                    "weighting_factor": (0.0, 1.0), "noise_factor": (0.0, 0.2),
                    "valence_factor": (0.0, 1.0), "novel_value": (-1.0, 1.0),
                    "decay_factor": (0.0, 0.2)}
#: The reference's base parameters, in order, with their start values ("fixed priors").
_HYBRID = {"factual_lr": 0.49, "counterfactual_lr": 0.49, "factual_actor_lr": 0.33,
           "counterfactual_actor_lr": 0.33, "critic_lr": 0.48, "temperature": 0.06}
_STANDARD = {"factual_lr": 0.49, "factual_actor_lr": 0.33, "critic_lr": 0.48,
             "temperature": 0.06}
REFERENCE_STARTS = {
    "QLearning": {"factual_lr": 0.28, "counterfactual_lr": 0.18, "temperature": 0.06},
    "ActorCritic": {"factual_actor_lr": 0.33, "counterfactual_actor_lr": 0.33,
                    "critic_lr": 0.48, "temperature": 0.06},
    "Relative": {"factual_lr": 0.19, "counterfactual_lr": 0.15, "contextual_lr": 0.33,
                 "temperature": 0.05},
    "Advantage": {"factual_lr": 0.28, "counterfactual_lr": 0.18, "temperature": 0.06,
                  "weighting_factor": 0.5},
    "Hybrid2012": {**_HYBRID, "mixing_factor": 0.70},
    "Hybrid2021": {**_HYBRID, "mixing_factor": 0.69, "noise_factor": 0.04},
    "StandardHybrid2012": {**_STANDARD, "mixing_factor": 0.70},
    "StandardHybrid2021": {**_STANDARD, "mixing_factor": 0.69, "noise_factor": 0.04},
}
REFERENCE_OPTIONS = {"bias": ("valence_factor", 0.33), "novel": ("novel_value", 0.0),
                     "decay": ("decay_factor", 0.08)}


def reference_bounds(parameter):
    return LR if parameter.endswith("_lr") else REFERENCE_BOUNDS[parameter]


def table_rows(text):
    """The rows of every list-table in ``text``, each a list of its cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith("   * - "):
            rows.append([line[len("   * - "):]])
        elif line.startswith("     - ") and rows:
            rows[-1].append(line[len("     - "):])
    return rows


def section(text, label):
    """The text of the section after ``.. _label:``, up to the next label."""
    start = text.index(f".. _{label}:")
    end = text.find("\n.. _", start + 1)
    return text[start:] if end < 0 else text[start:end]


@pytest.fixture(scope="module")
def models_page():
    return load(DOCS / "_ext" / "avoidrl_generated_pages.py", "generated_pages").models_rst()


def test_models_page_has_every_models_parameters_with_the_reference_bounds_and_starts(
        models_page):
    assert set(BASE_MODELS) == set(REFERENCE_STARTS)
    for model, starts in REFERENCE_STARTS.items():
        rows = table_rows(section(models_page, f"model-{model}"))[1:]  # after the header
        assert [row[0] for row in rows] == [f"``{name}``" for name in starts], model
        for row, (name, start) in zip(rows, starts.items()):
            low, high = reference_bounds(name)
            assert row[1] == f"({low:g}, {high:g})", (model, name, row)
            assert float(row[2]) == start, (model, name, row)


def test_models_page_has_the_options_parameters(models_page):
    rows = table_rows(models_page.split(".. _model-")[0])[1:]
    assert len(rows) == len(REFERENCE_OPTIONS)
    for row, (option, (name, start)) in zip(rows, REFERENCE_OPTIONS.items()):
        assert row[0] == f"``+{option}``: ``{name}``"
        low, high = REFERENCE_BOUNDS[name]
        assert row[1] == f"({low:g}, {high:g})" and float(row[2]) == start, row
    # which bases take +bias and +decay (reference-spec.md 2.1, as avoidrl refuses the rest)
    assert "Offered by: ActorCritic, Hybrid2012, Hybrid2021, StandardHybrid2012, " \
           "StandardHybrid2021." in rows[0][4]
    assert "ActorCritic" not in rows[2][4]


def test_models_page_follows_the_declarations(models_page, monkeypatch):
    # the page is generated, not copied: a changed declaration shows on it
    from avoidrl.models._builtin import QLearning
    from avoidrl.models import learning_rate, temperature

    changed = (learning_rate("factual_lr", 0.42, "changed"),
               learning_rate("counterfactual_lr", 0.18, "unchanged", low=0.05),
               temperature(0.06, high=0.5))
    monkeypatch.setattr(QLearning, "parameters", changed)
    page = load(DOCS / "_ext" / "avoidrl_generated_pages.py", "models_page_again").models_rst()
    rows = table_rows(section(page, "model-QLearning"))[1:]
    assert [row[1:3] for row in rows] == [["(0.01, 0.99)", "0.42"], ["(0.05, 0.99)", "0.18"],
                                          ["(0.01, 0.5)", "0.06"]]


# ------------------------------------------------------------------ API reference
#: Public modules documented elsewhere: the command line on docs/cli.rst (its help texts).
NOT_IN_API = {"avoidrl.cli", "avoidrl.__main__"}


def public_modules():
    names = ["avoidrl"]
    for info in pkgutil.walk_packages(avoidrl.__path__, "avoidrl."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(set(names) - NOT_IN_API)


def public_names(module):
    """``__all__`` without dunders; without one, the public functions and classes defined there."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if not n.startswith("__")]
    return [n for n, v in vars(module).items() if not n.startswith("_")
            and (inspect.isfunction(v) or inspect.isclass(v))
            and v.__module__ == module.__name__]


def documented_names():
    """``module.name`` of every autosummary entry of docs/api.rst."""
    names, module, in_summary = [], None, False
    for line in (DOCS / "api.rst").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and line.strip() and not line.startswith("   "):
            in_summary = False
        elif in_summary and line.strip() and not line.strip().startswith(":"):
            names.append(f"{module}.{line.strip()}")
    return names


def test_api_reference_lists_every_public_name():
    documented = documented_names()
    objects = []
    for qualified in documented:
        module, _, name = qualified.rpartition(".")
        assert hasattr(importlib.import_module(module), name), f"{qualified} does not exist"
        objects.append(getattr(importlib.import_module(module), name))
    modules = public_modules()
    assert "avoidrl.report" in modules and "avoidrl.recovery" in modules
    missing = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            same_object = (inspect.isclass(value) or inspect.isfunction(value)) and \
                any(value is obj for obj in objects)
            if f"{module_name}.{name}" not in documented and not same_object:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"add to docs/api.rst: {missing}"
    documented_modules = {q.rpartition(".")[0] for q in documented}
    assert documented_modules == set(modules), set(modules) ^ documented_modules


# ------------------------------------------------------------------ gallery
@pytest.fixture(scope="module")
def gallery_conf():
    return load(DOCS / "conf.py", "avoidrl_docs_conf").sphinx_gallery_conf


def test_every_example_in_the_gallery_has_a_title(gallery_conf):
    shown = [p for p in sorted(EXAMPLES.glob("*.py"))
             if not re.search(gallery_conf["ignore_pattern"], str(p))]
    assert {"tutorial_fit.py", "tutorial_validation.py", "grid_search_bounds.py"} <= \
        {p.name for p in shown}
    for path in shown:
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        title, underline = docstring.splitlines()[:2]
        assert set(underline) == {"="} and len(underline) == len(title), path.name


def test_the_gallery_runs_examples_that_exist_and_take_the_documented_arguments(gallery_conf):
    executed = [p.name for p in sorted(EXAMPLES.glob("*.py"))
                if re.search(gallery_conf["filename_pattern"], str(p))]
    assert executed == ["custom_asymmetric_q.py", "custom_perseveration.py", "full_bayes.py",
                        "grid_search_bounds.py", "parameter_recovery.py", "tutorial_fit.py"]
    hooks = load(DOCS / "_ext" / "avoidrl_gallery.py", "avoidrl_gallery")
    for name in hooks.TAKES_OUTPUT_FOLDER:
        source = (EXAMPLES / name).read_text()
        assert "sys.argv[1]" in source, name


def test_command_line_page_has_every_command_and_option():
    from avoidrl.cli import build_parser

    page = load(DOCS / "_ext" / "avoidrl_generated_pages.py", "cli_page").cli_rst()
    for command in ("fit", "validate"):
        assert f"``avoidrl {command}``" in page
    options = {option for action in build_parser()._actions for option in action.option_strings}
    assert all(option in page for option in options), options
    assert "--n-datasets" in page and "--method" in page
