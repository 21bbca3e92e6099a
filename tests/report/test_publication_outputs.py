"""Publication-ready outputs of a FIT and a VALIDATION folder (issue 20, point 4).

Effective settings in the summaries (no null), one column vocabulary across
avoidrl's own CSVs, methods.md, and model identification with its n and
interval.
"""

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import avoidrl
from avoidrl import report
from avoidrl.recovery import ModelRecovery, ParameterRecovery
from avoidrl.report._catalogue import REFERENCE_LAYOUT

pytestmark = pytest.mark.slow

NAMES = ("QLearning+novel", "Relative+novel")
GROUPS = {"s0": "alpha", "s1": "alpha", "s2": "alpha", "s3": "beta", "s4": "beta", "s5": "beta"}


def _data():
    model = avoidrl.make_model("QLearning+novel")
    rng = np.random.default_rng(0)
    params = pd.DataFrame({"factual_lr": rng.uniform(0.2, 0.8, 6),
                           "counterfactual_lr": rng.uniform(0.1, 0.6, 6),
                           "temperature": rng.uniform(0.05, 0.3, 6),
                           "novel_value": rng.uniform(-0.5, 0.5, 6)},
                          index=pd.Index(list(GROUPS), name="participant_id"))
    learning, transfer = model.sample(params=params, random_state=0)
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(GROUPS)
    return learning, transfer


@pytest.fixture(scope="module")
def fit_folder(tmp_path_factory):
    learning, transfer = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {name: avoidrl.make_model(name, n_starts=1, random_state=0,
                                           bounds={"temperature": (0.01, 0.5)})
                  .fit(learning, transfer) for name in NAMES}
    out = tmp_path_factory.mktemp("publication") / "fit"
    report.write_fit_report(out, models, learning, transfer, random_state=3, n_simulations=1)
    return out, models


@pytest.fixture(scope="module")
def validation_folder(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parameter = ParameterRecovery(avoidrl.make_model("QLearning+novel", n_starts=1),
                                      n_datasets=3, random_state=4).fit()
        model = ModelRecovery([avoidrl.make_model(n, n_starts=1) for n in NAMES],
                              n_datasets=3, random_state=5).fit()
    out = tmp_path_factory.mktemp("publication") / "validation"
    report.write_validation_report(out, parameter_recovery=parameter, model_recovery=model)
    return out, model


def _nulls(value, path=""):
    """The paths of the None values in a JSON document."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{path}/{i}")]
    return [path] if value is None else []


# ------------------------------------------------------------ effective settings
def test_fit_summary_records_the_settings_used(fit_folder):
    out, models = fit_folder
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert _nulls(summary["settings"]) == []
    for name, estimator in models.items():
        settings = summary["settings"]["estimators"][name]
        assert settings["bounds"] == {p: list(b) for p, b in estimator.bounds_.items()}
        assert settings["bounds"]["temperature"] == [0.01, 0.5]  # the given one, completed
        assert settings["init"] == estimator.init_
        assert settings["start"] == "normal"
        assert settings["n_starts"] == 1 and settings["max_starts"] == 3
        assert settings["optimizer_options"] == {}
        assert settings["random_state"] == 0 and settings["n_jobs"] == 1
        assert {"init", "start", "max_starts", "n_jobs"} <= set(settings["defaults"])
        assert "bounds" not in settings["defaults"]
    assert summary["settings"]["random_state"] == 3


def test_fit_summary_says_when_unseeded(tmp_path, fit_folder):
    _, models = fit_folder
    one = {NAMES[0]: models[NAMES[0]]}
    out = report.write_fit_report(tmp_path / "unseeded", one, *_data(), n_simulations=1)
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert "not reproducible" in summary["settings"]["random_state"]
    assert _nulls(summary["settings"]) == []


def test_validation_summaries_record_the_seeds_and_settings_used(validation_folder):
    out, _ = validation_folder
    parameter = json.loads((out / "summary_PARAMETER.json").read_text())
    model = json.loads((out / "summary_MODEL.json").read_text())
    assert parameter["seed"] == 4 and model["seed"] == 5
    entry = parameter["parameter_recovery"]["QLearning+novel"]
    assert _nulls(entry["settings"]) == [] and _nulls(entry["estimator"]) == []
    assert entry["settings"]["random_state"] == 4
    assert entry["settings"]["generating_bounds"]["temperature"] == [0.01, 1.0]
    assert "per dataset" in entry["estimator"]["random_state"]
    settings = model["model_recovery"]["settings"]
    assert _nulls(settings) == [] and settings["random_state"] == 5
    for estimator in model["model_recovery"]["estimators"].values():
        assert _nulls(estimator) == [] and "bounds" in estimator["defaults"]


# -------------------------------------------------------------- vocabulary
def _is_reference(relative):
    for pattern in REFERENCE_LAYOUT:
        regex = re.escape(pattern).replace(r"\{label\}", "[^/]+").replace(r"\{model\}", "[^/]+")
        if re.fullmatch(regex, relative):
            return True
    return False


def _allowed(column, names):
    return (column in report.COLUMN_VOCABULARY or column in names
            or (column.startswith("ibic_") and column[len("ibic_"):] in names))


@pytest.mark.parametrize("which", ["fit", "validation"])
def test_own_csvs_use_the_column_vocabulary(which, fit_folder, validation_folder):
    out, fitted = fit_folder if which == "fit" else validation_folder
    names = set(NAMES) | set(GROUPS.values()) | {"0"}  # models, groups, a group index
    for estimator in (fitted.values() if which == "fit" else [fitted]):
        names |= set(getattr(estimator, "parameter_names", []))
    names |= {"factual_lr", "counterfactual_lr", "contextual_lr", "temperature", "novel_value"}
    checked = 0
    for path in sorted(out.rglob("*.csv")):
        relative = path.relative_to(out).as_posix()
        if _is_reference(relative):
            continue
        columns = pd.read_csv(path, nrows=0).columns
        wrong = [c for c in columns if not _allowed(c, names)]
        assert wrong == [], (relative, wrong)
        assert all(c == c.lower() or c in names or c.startswith("ibic_") for c in columns)
        checked += 1
    assert checked >= (6 if which == "fit" else 4)


def test_vocabulary_renames_the_former_names(fit_folder):
    out, _ = fit_folder
    assert pd.read_csv(out / "information_criteria.csv", nrows=0).columns[0] == "participant_id"
    bounds = pd.read_csv(out / "parameter_bounds.csv", nrows=0).columns
    assert {"n_at_lower", "n_at_upper"} <= set(bounds) and "n_lower" not in bounds
    assert "participant_id" in pd.read_csv(out / "modelsimulation_dynamics_data.csv",
                                           nrows=0).columns


def test_reference_files_keep_their_layout(fit_folder):
    out, _ = fit_folder
    posthoc = pd.read_csv(out / "pain_fits_posthoc_results.csv", nrows=0).columns.tolist()
    assert posthoc[:8] == ["model", "parameter", "factor", "meandiff", "p-adj", "reject",
                           "cohens_d", "note"]
    readme = (out / "README.md").read_text()
    assert "keep the reference's layout" in readme and "`participant_id`" in readme


# ----------------------------------------------------------------- methods.md
def test_methods_is_written_from_the_summary(fit_folder):
    out, models = fit_folder
    methods = (out / "methods.md").read_text()
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert "methods.md" in report.fit_files(NAMES, ["alpha", "beta"])
    for name in NAMES:
        assert name in methods
    assert "temperature [0.01, 0.5]" in methods  # the bounds used
    assert "1 per participant and up to 3" in methods  # starts and max_starts
    assert "Seed: 3." in methods
    assert f"avoidrl {summary['avoidrl_version']}" in methods
    assert "AIC and BIC" in methods and "Bayesian model selection" in methods
    assert "Palminteri, S." in methods and "Stephan, K. E." in methods
    assert "Holm, S." in methods
    assert "| methods.md |" in (out / "README.md").read_text()


# ------------------------------------------------------------ identification
def test_identification_carries_n_and_an_interval(validation_folder):
    out, recovery = validation_folder
    table = pd.read_csv(out / "model_recovery_identification.csv", index_col=0)
    assert table.index.tolist() == list(NAMES)
    for generator, row in table.iterrows():
        assert row["n_groups"] == 1  # one group per generator: a share of 0 or 1
        k = row["bms_n_correct"]
        assert row["bms_correct"] == k / row["n_groups"]
        # Clopper-Pearson with n = 1: k = 1 -> [0.025, 1], k = 0 -> [0, 0.975]
        expected = (0.025, 1.0) if k == 1 else (0.0, 0.975)
        assert (row["bms_correct_lower"], row["bms_correct_upper"]) == \
            pytest.approx(expected)
        assert 0 <= row["mean_bor"] <= 1 and 0 <= row["mean_bms_pxp"] <= 1
    summary = json.loads((out / "summary_MODEL.json").read_text())
    identification = summary["model_recovery"]["group_identification"]
    assert identification[NAMES[0]]["n_groups"] == 1
    assert "bms_correct_lower" in identification[NAMES[0]]
    pd.testing.assert_frame_equal(report.model_identification(recovery), table,
                                  check_dtype=False, check_names=False)


# ------------------------------------------------------------------ figure style
def test_paper_style_folder(tmp_path, fit_folder):
    from PIL import Image

    _, models = fit_folder
    out = report.write_fit_report(tmp_path / "paper", models, *_data(), random_state=3,
                                  n_simulations=1, style="paper")
    for png in out.rglob("*.png"):
        width, _ = Image.open(png).size
        assert width <= 7 * 300, png  # at most 7 inches at 300 dpi
    assert json.loads((out / "summary_FIT.json").read_text())["settings"]["figure_style"] == \
        "paper"
    assert "'paper' style" in (out / "README.md").read_text()
