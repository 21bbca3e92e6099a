"""The public API does not move: every import path and name, and saved work, keep working.

``PUBLIC`` is written out literally: the public names of each public module at commit
2d2f5e8, the last commit before the package was split into the folders of its flow
(each module's ``__all__``; for a module without one, the functions, classes and
constants defined there). A refactor may add names, never drop or move one.

Saved work: ``tests/fixtures/legacy/`` holds pickles written by that old version
(``make_legacy.py`` there says how): a fitted ``QLearning(novel=True)``, a fitted
``EmpiricalBayes(QLearning(novel=True))`` and two pickles of a FIT folder. They must
load with the current code and give what a fresh fit with the same seed gives.
"""

import importlib
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"

#: module -> (public names, whether the module had an ``__all__`` listing them).
PUBLIC = {
    "avoidrl": ((
        "QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012", "Hybrid2021",
        "StandardHybrid2012", "StandardHybrid2021", "CustomModel", "make_model",
        "load_example", "__version__"), True),
    "avoidrl.models": ((
        "Parameter", "BaseModel", "learning_rate", "temperature", "by_choice",
        "both_options", "delta_rule", "stimulus_table", "decayed", "check_model",
        "make_estimator", "OPTION_PARAMETERS", "N_PAIRS", "N_STIMULI"), True),
    "avoidrl.estimators": ((
        "RLModelBase", "QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012",
        "Hybrid2021", "StandardHybrid2012", "StandardHybrid2021", "CustomModel",
        "make_model", "ESTIMATORS"), True),
    "avoidrl.hierarchical": (("EmpiricalBayes",), True),
    "avoidrl.recovery": (("ParameterRecovery", "ModelRecovery", "SyntheticDataset"), True),
    "avoidrl.model_selection": ((
        "InSampleSplit", "combine_phases", "log_evidence_table", "random_effects_bms"), True),
    "avoidrl.priors": (("fixed_priors", "default_bounds", "base_parameters"), True),
    "avoidrl.stats": ((
        "cohens_d", "is_log_transformed", "log_transform", "group_linear_model",
        "planned_comparisons", "tukey_posthoc", "transformed_parameters", "fit_statistics",
        "ALPHA", "BOUND_SHARE_NOTE", "CRITERIA", "LINEAR_COLUMNS", "POSTHOC_COLUMNS",
        "TTEST_COLUMNS", "UNTRANSFORMED_PARAMETERS"), False),
    "avoidrl.report": ((
        "BINS", "BOUND_SHARE_NOTE", "BOUND_TOLERANCE", "COMPARISONS", "CONTEXT_ORDER",
        "CONTEXTS", "CRITERIA", "EMPIRICAL", "EVIDENCE_LABELS", "INTERVAL_STATUSES",
        "METHODS", "PARAMETERS_OF_INTEREST", "START_TOLERANCE", "STIMULUS_TYPES",
        "bms_results", "bound_counts", "bound_sides", "criterion_differences",
        "criterion_distributions", "criterion_label", "criterion_values", "em_history",
        "fit_by_starts", "fit_files", "fit_method", "fit_tables", "generated_data",
        "group_best_fit_percentages", "group_criteria", "ibic_table", "information_criteria",
        "interval_status_counts", "learning_dynamics", "model_evidence",
        "model_recovery_fit_tables", "model_recovery_matrices", "parameter_descriptives",
        "parameter_intervals", "parameter_of_interest_correlations",
        "parameter_of_interest_values", "parameter_outliers",
        "parameter_recovery_correlations", "parameter_recovery_tables",
        "parameters_at_bounds", "population_parameters", "posterior_predictive",
        "recovery_at_bounds", "recovery_criterion", "validation_files", "write_fit_report",
        "write_validation_report"), True),
    "avoidrl.plotting": ((
        "headless", "plot_model_comparison", "plot_bms", "plot_fit_distributions",
        "plot_fit_by_starts", "plot_parameter_of_interest_comparisons",
        "plot_model_behaviour", "plot_model_simulations", "plot_parameter_fits",
        "plot_parameter_recovery", "plot_model_recovery"), False),
    "avoidrl.pipeline": (("Pipeline", "PARAMETERS"), True),
    "avoidrl.cli": ((
        "UsageError", "ProgressBar", "build_parser", "read_config", "main", "CONFIG_KEYS",
        "CONFIG_SECTIONS", "EXIT_USAGE", "PROG"), False),
    "avoidrl.datasets": (("load_example", "example_metadata"), False),
}

#: Names that are one object under several paths (re-exports), as they were.
SAME_OBJECT = [
    ("avoidrl", "avoidrl.estimators", ("QLearning", "ActorCritic", "Relative", "Advantage",
                                       "Hybrid2012", "Hybrid2021", "StandardHybrid2012",
                                       "StandardHybrid2021", "CustomModel", "make_model")),
    ("avoidrl", "avoidrl.datasets", ("load_example",)),
]


@pytest.mark.parametrize("module_name", list(PUBLIC))
def test_every_public_name_imports_from_its_path(module_name):
    module = importlib.import_module(module_name)
    names, had_all = PUBLIC[module_name]
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module_name} lost {missing}"
    for name in names:  # as users write it
        namespace = {}
        exec(f"from {module_name} import {name}", namespace)
        assert namespace[name] is getattr(module, name)
    if had_all:  # `from module import *` still gives every name
        dropped = sorted(set(names) - {"__version__"} - set(module.__all__))
        assert not dropped, f"{module_name}.__all__ lost {dropped}"


@pytest.mark.parametrize("first, second, names", SAME_OBJECT)
def test_re_exports_are_the_same_objects(first, second, names):
    a, b = importlib.import_module(first), importlib.import_module(second)
    for name in names:
        assert getattr(a, name) is getattr(b, name), name


def test_the_command_line_entry_point_is_unchanged():
    from importlib.metadata import PackageNotFoundError, entry_points

    import avoidrl.cli

    try:
        scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    except PackageNotFoundError:  # pragma: no cover - not installed
        pytest.skip("avoidrl is not installed")
    if "avoidrl" not in scripts:
        pytest.skip("avoidrl is not installed")
    assert scripts["avoidrl"] == "avoidrl.cli:main"
    assert callable(avoidrl.cli.main)
    assert importlib.import_module("avoidrl.__main__")


# ------------------------------------------------------------------ saved work
def example_subset(n=3):
    """The first ``n`` example participants, as make_legacy.py fitted them."""
    from avoidrl import load_example

    learning, transfer = load_example()
    ids = pd.unique(learning["participant_id"])[:n]
    return (learning[learning["participant_id"].isin(ids)].reset_index(drop=True),
            transfer[transfer["participant_id"].isin(ids)].reset_index(drop=True))


def load_legacy(name):
    with open(LEGACY / name, "rb") as handle:
        return pickle.load(handle)


@pytest.fixture(scope="module")
def fresh():
    """Fits of the current code with make_legacy.py's settings: {'ml': ..., 'eb': ...}."""
    from avoidrl import QLearning
    from avoidrl.hierarchical import EmpiricalBayes

    data = example_subset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # screen_starts=0, m_step='laplace', scale_prior=None: the starts and the EB
        # method of the version that wrote the pickles (before issue 18);
        # gradient='finite-difference': its optimizer path (before issue 21)
        old = dict(screen_starts=0, gradient="finite-difference")
        ml = QLearning(novel=True, random_state=0, **old).fit(*data)
        eb = EmpiricalBayes(QLearning(novel=True, **old), m_step="laplace",
                            scale_prior=None, random_state=0).fit(*data)
    return {"ml": ml, "eb": eb, "data": data}


# To the optimizer's precision, not bit for bit: numpy's exp and log differ in
# the last digit between CPUs (its AVX-512 code paths) and versions, and a
# finite-difference descent carries such differences into the 8th digit of an
# estimate (measured: 7e-8 relative), and of the NLL at an EB MAP (9e-9: not an
# optimum of the NLL, so not flat there).
CLOSE = dict(rtol=1e-6, atol=1e-9)


def assert_same_fit(old, new, data):
    pd.testing.assert_index_equal(old.params_.index, new.params_.index)
    assert list(old.params_.columns) == list(new.params_.columns)
    np.testing.assert_allclose(old.params_.to_numpy(), new.params_.to_numpy(), **CLOSE)
    np.testing.assert_allclose(old.nll_.to_numpy(), new.nll_.to_numpy(), **CLOSE)
    assert old.score(*data) == pytest.approx(new.score(*data), rel=CLOSE["rtol"])
    np.testing.assert_allclose(old.evidence_.to_numpy(), new.evidence_.to_numpy(), **CLOSE)
    assert old.bounds_ == new.bounds_


def test_a_pickled_maximum_likelihood_fit_still_works(fresh):
    old = load_legacy("qlearning_novel.pkl")
    assert type(old) is type(fresh["ml"])
    assert_same_fit(old, fresh["ml"], fresh["data"])
    assert old.fit_method == "ml" and old.uses_starts and old.simulator is old
    # a constructor parameter added since keeps the old behaviour on refit
    assert old.get_params()["screen_starts"] == 0
    assert old.get_params()["gradient"] == "finite-difference"
    assert old.get_params()["intervals"] == "wald"


def test_a_pickled_empirical_bayes_fit_still_works_and_answers_the_protocol(fresh):
    old, new = load_legacy("empirical_bayes.pkl"), fresh["eb"]
    assert type(old) is type(new)
    assert_same_fit(old, new, fresh["data"])
    for attribute in ("fit_method", "evidence_label", "comparison_criteria",
                      "recovery_criterion_label", "uses_starts", "fit_method_description",
                      "interval_description", "evidence_description"):
        assert getattr(old, attribute) == getattr(new, attribute), attribute
    assert old.fit_method == "eb" and not old.uses_starts
    # it reported MAPs, and refits as it was fitted
    assert old.get_params()["point_estimate"] == "map"
    assert old.get_params()["m_step"] == "laplace" and old.get_params()["scale_prior"] is None
    assert type(old.simulator) is type(new.simulator)
    assert old.simulator.get_params() == new.simulator.get_params()
    assert type(old).from_model(old.simulator).fit_method == "eb"


def assert_same_content(old, new, where="pickle"):
    """Equal dicts of pandas objects (numbers to CLOSE)."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and list(old) == list(new), where
        for key in old:
            assert_same_content(old[key], new[key], f"{where}[{key!r}]")
    elif isinstance(old, pd.DataFrame):
        pd.testing.assert_frame_equal(old, new, check_exact=False, obj=where, **CLOSE)
    elif isinstance(old, pd.Series):
        pd.testing.assert_series_equal(old, new, check_exact=False, obj=where, **CLOSE)
    else:
        assert old == new, where


def test_pickles_of_an_old_fit_folder_load_and_match_the_current_tables(fresh):
    from avoidrl import report

    models = {"QLearning+novel": fresh["ml"]}
    assert_same_content(load_legacy("fit_data_FIT.pkl"), report.fit_tables(models)[0],
                        "fit_data_FIT.pkl")
    assert_same_content(load_legacy("parameter_outlier_results.pkl"),
                        report.parameter_outliers(models, *fresh["data"]),
                        "parameter_outlier_results.pkl")
