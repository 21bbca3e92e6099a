"""The ``avoidrl`` command: parsing, one-line errors, full small fit and validate runs."""

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avoidrl import cli, load_example, make_model, report
from avoidrl.report import _folder
from avoidrl._workflows import DEFAULT_MODELS, DEFAULT_N_SIMULATIONS, recovery_seed
from avoidrl.estimators import RLModelBase
from avoidrl.recovery import ParameterRecovery

ROOT = Path(__file__).resolve().parents[2]
TWO_MODELS = ["QLearning+novel", "Relative+novel"]


def data_args(data_files):
    return ["--learning", data_files[0], "--transfer", data_files[1]]


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *fragments):
    assert code == 2
    assert out == ""
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("avoidrl: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# ------------------------------------------------------------------ parsing
def test_help_lists_every_option(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "fit" in out and "validate" in out
    code, out, _ = run(["fit", "--help"], capsys)
    assert code == 0
    for option in ("--models", "--learning", "--transfer", "--n-starts", "--start", "--config",
                   "--jobs", "--seed", "--out", "--overwrite", "--quiet", "--formats",
                   "--n-simulations"):
        assert option in out
    assert "--recovery" not in out
    code, out, _ = run(["validate", "--help"], capsys)
    assert code == 0
    for option in ("--recovery", "--n-datasets", "--sampler", "--models", "--config",
                   "--formats"):
        assert option in out
    assert "--n-simulations" not in out


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("avoidrl ")


def test_parser_values():
    args = cli.build_parser().parse_args(
        ["validate", "--models", "QLearning", "Relative+novel", "--n-starts", "3",
         "--start", "random", "--jobs", "-1", "--seed", "7", "--recovery", "model",
         "--n-datasets", "4", "--sampler", "normal", "--out", "x"])
    assert args.models == ["QLearning", "Relative+novel"]
    assert (args.n_starts, args.start, args.jobs, args.seed) == (3, "random", -1, 7)
    assert (args.recovery, args.n_datasets, args.sampler, args.out) == ("model", 4, "normal", "x")


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("argv, fragments", [
    ([], ["fit", "validate"]),
    (["fitt"], ["invalid choice"]),
    (["fit", "--models", "QLearnin+novel"], ["QLearnin", "QLearning", "StandardHybrid2021"]),
    (["fit", "--models", "QLearning+bias"], ["bias"]),
    (["fit", "--models", "QLearning+novel", "QLearning+novel"], ["more than once"]),
    (["fit", "--learning", "no/such.csv", "--transfer", "no/such.csv"], ["does not exist"]),
    (["fit", "--learning", "x.csv"], ["--transfer"]),
    (["fit", "--start", "fixed", "--n-starts", "3"], ["--n-starts", "fixed"]),
    (["fit", "--n-starts", "0"], ["--n-starts"]),
    (["fit", "--jobs", "zero"], ["--jobs"]),
    (["fit", "--seed", "-4"], ["--seed"]),
    (["fit", "--recovery", "model"], ["unrecognized arguments"]),
    (["fit", "--participants", "1000"], ["1000"]),
    (["validate", "--recovery", "model", "--models", "QLearning"], ["at least 2"]),
    (["validate", "--recovery", "both", "--models", "QLearning"], ["at least 2"]),
    (["validate", "--default-design", "--participants", "3"], ["--n-datasets"]),
    (["fit", "--config", "no/such.toml"], ["does not exist"]),
    (["fit", "--method", "map"], ["--method"]),
    (["fit", "--method", "eb", "--n-samples", "3"], ["--n-samples", "--method eb"]),
    (["fit", "--method", "eb", "--n-starts", "3"], ["--n-starts", "--method eb"]),
    (["fit", "--interval-calibration", "3"], ["--interval-calibration", "--method eb"]),
    (["fit", "--method", "bayes", "--interval-calibration", "3"],
     ["--interval-calibration", "--method eb"]),
    (["fit", "--method", "eb", "--interval-calibration", "0"], ["--interval-calibration"]),
    (["validate", "--method", "eb", "--start", "random"], ["--start", "--method eb"]),
    (["fit", "--formats", "png", "jpg"], ["--formats", "jpg"]),
    (["fit", "--n-simulations", "0"], ["--n-simulations"]),
    (["validate", "--n-simulations", "3"], ["unrecognized arguments"]),
])
def test_usage_errors_are_one_line(argv, fragments, capsys):
    assert_one_line_error(*run(argv, capsys), *fragments)


def test_unreadable_csv(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00\x01 not a csv")
    good = tmp_path / "columns.csv"
    good.write_text("a,b\n1,2\n")
    assert_one_line_error(*run(["fit", "--learning", str(bad), "--transfer", str(good)], capsys),
                          "could not read")
    assert_one_line_error(*run(["fit", "--learning", str(good), "--transfer", str(good)],
                               capsys), "missing column")
    assert_one_line_error(*run(["fit", "--learning", str(tmp_path), "--transfer", str(good)],
                               capsys))


@pytest.mark.parametrize("name, text, fragment", [
    ("c.json", '{"bounds": {"QLearning": {"temperature": [0.01, 0.5]}}, "colour": 1}', "colour"),
    ("c.json", '{"bounds": {"QLearning": {"temprature": [0.01, 0.5]}}}', "temprature"),
    ("c.json", '{"bounds": {"QLearning+novel": {"temperature": [0.01, 0.5]}}}', "base name"),
    ("c.json", '{"bounds": {"QLearning": {"temperature": [0.5, 0.01]}}}', "low < high"),
    ("c.json", '{"init": {"QLearning": {"temperature": 5.0}}}', "outside its bounds"),
    ("c.json", '{"bounds": ', "not valid JSON"),
    ("c.toml", 'bounds = [', "not valid TOML"),
    ("c.toml", 'n_starts = "many"', "integer"),
    ("c.toml", 'start = "sometimes"', "start"),
    ("c.toml", 'formats = ["png", "gif"]', "formats"),
    ("c.toml", 'n_simulations = 0', "n_simulations"),
])
def test_bad_config_is_one_line(tmp_path, capsys, name, text, fragment):
    path = tmp_path / name
    path.write_text(text)
    argv = ["fit", "--config", str(path), "--models", "QLearning+novel", "--out",
            str(tmp_path / "out")]
    assert_one_line_error(*run(argv, capsys), fragment)
    assert not (tmp_path / "out").exists()


def test_existing_output_files_are_refused_before_fitting(tmp_path, capsys, monkeypatch):
    out = tmp_path / "modelling"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    (out / "group_BIC.csv").write_text("my own table")
    monkeypatch.setattr(RLModelBase, "fit", lambda *a, **kw: pytest.fail("fitted anyway"))
    # a user's file with an output's name: refused even with --overwrite
    for extra in ([], ["--overwrite"]):
        assert_one_line_error(*run(["fit", "--out", str(out), *extra], capsys),
                              "group_BIC.csv is not avoidrl's")
    # a file an earlier avoidrl FIT wrote: refused without --overwrite
    (out / "group_BIC.csv").unlink()
    (out / "group_AIC.csv").write_text("avoidrl's table")
    manifest = {"format": 1, "index": None, "runs": {"FIT": {
        "files": {"group_AIC.csv": _folder._record(out / "group_AIC.csv")}}}}
    (out / _folder.MANIFEST).write_text(json.dumps(manifest))
    assert_one_line_error(*run(["fit", "--out", str(out)], capsys), "group_AIC.csv",
                          "--overwrite")
    assert (out / "keep.txt").read_text() == "earlier results"
    assert (out / "group_AIC.csv").read_text() == "avoidrl's table"


def test_an_output_folder_holding_the_inputs_is_refused(data_files, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setattr(RLModelBase, "fit", lambda *a, **kw: pytest.fail("fitted anyway"))
    folder = os.path.dirname(data_files[0])
    before = {name: open(os.path.join(folder, name), "rb").read()
              for name in os.listdir(folder)}
    for extra in ([], ["--overwrite"]):
        assert_one_line_error(*run(["fit", *data_args(data_files), "--out", folder, *extra],
                                   capsys), "holds the input file")
        monkeypatch.chdir(folder)  # --out . in the inputs' folder
        assert_one_line_error(*run(["fit", *data_args(data_files), "--out", ".", *extra],
                                   capsys), "holds the input file")
        assert_one_line_error(*run(["validate", *data_args(data_files), "--out", ".",
                                    *extra], capsys), "holds the input file")
    assert {name: open(os.path.join(folder, name), "rb").read()
            for name in os.listdir(folder)} == before


@pytest.mark.slow
def test_a_drawn_seed_is_printed_and_recorded(data_files, tmp_path, capsys):
    out = tmp_path / "drawn"
    code, stdout, stderr = run(["fit", "--models", "QLearning+novel", *data_args(data_files),
                                "--start", "fixed", "--out", str(out)], capsys)
    assert code == 0, stderr
    first = stdout.splitlines()[0]
    assert first.startswith("seed: ") and "(drawn; pass --seed " in first
    seed = int(first.split()[1])
    assert f"--seed {seed} to repeat" in first
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert summary["seed"] == seed and summary["seed_drawn"] is True
    assert summary["settings"]["estimators"]["QLearning+novel"]["random_state"] == seed
    # the printed seed repeats the run exactly
    again = tmp_path / "again"
    code, stdout, _ = run(["fit", "--models", "QLearning+novel", *data_args(data_files),
                           "--start", "fixed", "--out", str(again), "--seed", str(seed)],
                          capsys)
    assert code == 0 and not stdout.startswith("seed: ")
    for name in ("fit_data_FIT.pkl", "modelsimulation_accuracy_data.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes()
    assert json.loads((again / "summary_FIT.json").read_text())["seed_drawn"] is False


@pytest.mark.slow
def test_errors_from_a_subprocess_have_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "avoidrl", "fit", "--models", "Qlearning"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("avoidrl: error: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "modelling").exists()


def test_progress_bar():
    import io

    stream = io.StringIO()
    bar = cli.ProgressBar(stream)
    bar.start(2)
    bar.begin("fitting A")
    bar.advance()
    bar.begin("fitting B")
    bar.advance()
    bar.close()
    text = stream.getvalue()
    assert "\r[" in text and "1/2" in text and "2/2" in text and "fitting B" in text
    assert text.endswith("\n")
    silent = io.StringIO()
    bar = cli.ProgressBar(silent, enabled=False)
    bar.start(2)
    bar.begin("x")
    bar.advance()
    bar.close()
    assert silent.getvalue() == ""


def test_progress_bar_moves_within_a_model_fit(monkeypatch):
    """The CLI bar follows the fit's starts between two models (issue: it moved once per model)."""
    import io
    import re

    from avoidrl import QLearning, load_example
    from avoidrl._utils.progress import report_to

    learning, transfer = load_example()
    keep = learning["participant_id"].unique()[:4]
    monkeypatch.setenv("COLUMNS", "200")
    stream = io.StringIO()
    bar = cli.ProgressBar(stream, width=20)
    bar.REDRAW_INTERVAL = 0.0
    bar.start(2)
    bar.begin("fitting QLearning+novel")
    with report_to(bar.within):
        QLearning(novel=True, n_starts=3, random_state=0).fit(
            learning[learning["participant_id"].isin(keep)],
            transfer[transfer["participant_id"].isin(keep)])
    bar.advance()
    bar.close()
    lines = stream.getvalue().split("\r")
    within = [line for line in lines if re.search(r"fitting QLearning\+novel \(\d+/\d+\)", line)]
    assert within, lines
    fills = [line.split("]")[0].count("#") for line in within]
    # partial fills between 0 and half the bar (the first of two steps), ending at half
    assert fills == sorted(fills) and fills[-1] == 10 and any(0 < f < 10 for f in fills)
    # 4 participants x (3 drawn + 4 screened starts)
    assert "fitting QLearning+novel (28/28)" in within[-1]


# ----------------------------------------------------------------- config
def test_read_config_json_and_toml(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({
        "models": ["QLearning+novel"], "n-starts": 4, "learning": "data/l.csv",
        "bounds": {"QLearning": {"temperature": [0.01, 0.5]}},
        "init": {"QLearning": {"factual_lr": 0.3}}}))
    (tmp_path / "c.toml").write_text(
        'models = ["QLearning+novel"]\nn_starts = 4\nlearning = "data/l.csv"\n'
        '[bounds.QLearning]\ntemperature = [0.01, 0.5]\n[init.QLearning]\nfactual_lr = 0.3\n')
    from_json = cli.read_config(tmp_path / "c.json")
    from_toml = cli.read_config(tmp_path / "c.toml")
    assert from_json == from_toml
    assert from_json["n_starts"] == 4
    assert from_json["learning"] == str(tmp_path / "data" / "l.csv")  # relative to the file
    assert from_json["bounds"] == {"QLearning": {"temperature": [0.01, 0.5]}}


# ------------------------------------------ full runs (conftest: data_files, fit_ml_run, ...)
@pytest.mark.slow
def test_fit_writes_the_folder_of_the_estimators_results(fit_ml_run, data_files):
    code, out, err, folder = fit_ml_run
    assert code == 0, err
    for name in ("fit_data_FIT.pkl", "full_fit_data_FIT.pkl", "group_AIC.csv", "group_BIC.csv",
                 "group_BIC_percentages.csv", "param_fit_descriptives.csv",
                 "pain_fits_linear_results.csv", "modelsimulation_accuracy_data.csv",
                 "modelsimulation_choice_data.csv", "BIC_model_comparisons.png",
                 "summary_FIT.json"):
        assert (folder / name).is_file(), name
    for model in TWO_MODELS:
        assert (folder / "model_behaviours" / f"{model}_model_behaviours.png").is_file()
    with open(folder / "fit_data_FIT.pkl", "rb") as handle:
        fit_data = pickle.load(handle)
    group_bic = pd.read_csv(folder / "group_BIC.csv", index_col=0)
    learning, transfer = data_files
    for model in TWO_MODELS:
        expected = make_model(model, n_starts=2, random_state=3).fit(learning, transfer)
        table = fit_data[model].set_index("participant")
        got = table.loc[expected.params_.index, expected.parameter_names]
        np.testing.assert_allclose(got.to_numpy(), expected.params_.to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(table.loc[expected.nll_.index, "fit"], expected.nll_,
                                   rtol=1e-12)
        assert group_bic.loc["full", model] == pytest.approx(expected.bic_.mean(), rel=1e-9)
    # the summary: models, participants, mean BIC, best model and the folder
    best = group_bic.loc["full", "best_model"]
    assert "6 participants" in out and f"best model: {best}" in out and str(folder) in out
    for model in TWO_MODELS:
        assert model in out
    # stderr is not a terminal here: no progress bar
    assert "\r" not in err and "[#" not in err
    # the reference's figure files by default, and the default posterior-predictive size
    figures = {str(p.relative_to(folder)) for p in folder.rglob("*")
               if p.suffix in (".png", ".svg", ".pdf")}
    groups = pd.unique(pd.read_csv(learning)["group_code"])
    assert figures == {f for f in report.fit_files(TWO_MODELS, groups)
                       if f.rsplit(".", 1)[-1] in ("png", "svg", "pdf")}
    assert {p for p in figures if p.endswith(".svg")} == {
        f"{folder_}/{name}" for model in TWO_MODELS for folder_, name in (
            ("model_behaviours", f"{model}_model_behaviours.svg"),
            ("parameter_fits", f"{model}-model-fits.svg"))}
    summary = json.loads((folder / "summary_FIT.json").read_text())
    assert summary["settings"]["n_simulations"] == DEFAULT_N_SIMULATIONS
    choice = pd.read_csv(folder / "modelsimulation_choice_data.csv")
    simulations = choice.loc[choice["source"] != "empirical", "simulation"]
    assert sorted(simulations.unique()) == list(range(DEFAULT_N_SIMULATIONS))


@pytest.mark.slow
def test_formats_and_simulations_from_the_command_line_and_a_config(data_files, tmp_path,
                                                                     capsys):
    """--formats writes every figure in those formats only (the manifest lists them);
    --n-simulations and the config keys set the posterior-predictive simulations."""
    config = tmp_path / "settings.toml"
    config.write_text('formats = ["png"]\nn_simulations = 2\n')
    runs = {"cli": ["--formats", "svg", "pdf", "--n-simulations", "3", "--jobs", "2"],
            "config": ["--config", str(config)]}
    for label, options in runs.items():
        out = tmp_path / label
        code, _, err = run(["fit", "--models", "QLearning+novel", *data_args(data_files),
                            "--start", "fixed", "--seed", "1", "--out", str(out), "--quiet",
                            *options], capsys)
        assert code == 0, err
        formats = ["svg", "pdf"] if label == "cli" else ["png"]
        n_simulations = 3 if label == "cli" else 2
        figures = {str(p.relative_to(out)) for p in out.rglob("*")
                   if p.suffix in (".png", ".svg", ".pdf")}
        groups = pd.unique(pd.read_csv(data_files[0])["group_code"])
        planned = report.fit_files(["QLearning+novel"], groups, formats=formats)
        assert figures == {f for f in planned if f.rsplit(".", 1)[-1] in ("png", "svg", "pdf")}
        assert {f.rsplit(".", 1)[-1] for f in figures} == set(formats)
        assert figures <= set(_folder.read_manifest(out)["runs"]["FIT"]["files"])
        summary = json.loads((out / "summary_FIT.json").read_text())
        assert summary["settings"]["n_simulations"] == n_simulations
        choice = pd.read_csv(out / "modelsimulation_choice_data.csv")
        assert choice.loc[choice["source"] != "empirical", "simulation"].nunique() == \
            n_simulations


@pytest.mark.slow
def test_quiet_single_model_with_overwrite(data_files, tmp_path, capsys):
    out = tmp_path / "modelling"
    out.mkdir()
    (out / "old.txt").write_text("old")
    code, stdout, stderr = run(["fit", "--models", "QLearning+novel", *data_args(data_files),
                                "--start", "fixed", "--out", str(out), "--overwrite",
                                "--quiet"], capsys)
    assert code == 0
    assert stdout == "" and stderr == ""
    assert (out / "old.txt").read_text() == "old"  # not avoidrl's: kept
    assert (out / "group_BIC.csv").is_file()
    assert list(pd.read_csv(out / "group_BIC.csv", index_col=0).columns) == \
        ["QLearning+novel", "best_model"]


@pytest.mark.slow
def test_toml_config_and_progress_bar_on_a_terminal(data_files, tmp_path, capsys, monkeypatch):
    config = tmp_path / "settings.toml"
    config.write_text(
        'models = ["QLearning+novel"]\nn_starts = 2\nseed = 5\nout = "from_config"\n'
        f'learning = "{data_files[0]}"\ntransfer = "{data_files[1]}"\n'
        '[bounds.QLearning]\ntemperature = [0.01, 0.3]\n')
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(["fit", "--config", str(config), "--n-starts", "3"], capsys)
    assert code == 0, err
    assert "\r[" in err and "fitting QLearning+novel" in err  # the progress bar
    folder = tmp_path / "from_config"
    summary = json.loads((folder / "summary_FIT.json").read_text())
    settings = summary["settings"]["estimators"]["QLearning+novel"]
    assert settings["bounds"]["temperature"] == [0.01, 0.3]  # the given bound, in the full set used
    assert "bounds" not in settings["defaults"]
    assert settings["n_starts"] == 3  # the command line wins over the config
    assert settings["random_state"] == 5


@pytest.mark.slow
def test_piped_output_has_no_progress_bar(data_files, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "avoidrl", "fit", "--models", "QLearning+novel",
         *data_args(data_files), "--start", "fixed", "--out", str(tmp_path / "m")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "best model: QLearning+novel" in result.stdout
    assert "\r" not in result.stderr and "[#" not in result.stderr and "[." not in result.stderr


@pytest.mark.slow
def test_validate_both_recoveries(validate_run, data_files):
    code, stdout, stderr, out = validate_run
    assert code == 0, stderr
    for name in ("fit_data_PARAMETER.pkl", "param_recovery_corrs.csv", "fit_data_MODEL.pkl",
                 "model_recovery.png", "model_recovery_matrices.csv",
                 "correlations/recovery_correlation_plot.png"):
        assert (out / name).is_file(), name
    corrs = pd.read_csv(out / "param_recovery_corrs.csv")
    learning, transfer = data_files
    model = TWO_MODELS[0]
    expected = ParameterRecovery(make_model(model, n_starts=2), n_datasets=6,
                                 random_state=recovery_seed(7, model)).fit(learning, transfer)
    got = corrs[corrs["Model"] == model].set_index("Parameter")["Correlation"]
    np.testing.assert_allclose(got[expected.correlations_.index],
                               expected.correlations_.round(2))
    assert "parameter recovery" in stdout and "model recovery" in stdout


@pytest.mark.slow
def test_validate_from_fitted_parameters(fit_ml_run, data_files, tmp_path, capsys):
    folder = fit_ml_run[3]
    fit_data = str(folder / "fit_data_FIT.pkl")
    assert_one_line_error(*run(["validate", "--fit-data", fit_data, "--sampler", "normal"],
                               capsys), "--sampler")
    assert_one_line_error(*run(["validate", "--fit-data", fit_data, "--models", "ActorCritic"],
                               capsys), "no fits of ActorCritic")
    out = tmp_path / "v"
    code, _, err = run(["validate", "--fit-data", fit_data, "--models", "QLearning+novel",
                        *data_args(data_files), "--start", "fixed", "--seed", "2", "--out",
                        str(out), "--quiet"], capsys)
    assert code == 0, err
    with open(out / "true_params_PARAMETER.pkl", "rb") as handle:
        true = pickle.load(handle)["QLearning+novel"]
    with open(folder / "fit_data_FIT.pkl", "rb") as handle:
        fitted = pickle.load(handle)["QLearning+novel"]
    names = ["factual_lr", "counterfactual_lr", "temperature", "novel_value"]
    np.testing.assert_array_equal(true[names].to_numpy(), fitted[names].to_numpy())


@pytest.mark.slow
def test_validate_on_the_default_design(tmp_path, capsys):
    out = tmp_path / "v"
    code, stdout, err = run(["validate", "--default-design", "--n-datasets", "4", "--models",
                             "QLearning", "--start", "fixed", "--seed", "1", "--out", str(out)],
                            capsys)
    assert code == 0, err
    assert "QLearning (4 datasets)" in stdout
    results = pd.read_csv(out / "param_recovery_results.csv")
    assert results["dataset"].nunique() == 4


def test_default_models_are_the_reference_scripts():
    assert list(DEFAULT_MODELS) == ["QLearning+novel", "ActorCritic+novel", "Relative+novel",
                                    "Advantage+novel", "Hybrid2012+novel"]


def test_method_in_a_config_file(tmp_path, capsys):
    path = tmp_path / "settings.toml"
    path.write_text('method = "eb"\nn_starts = 3\n', encoding="utf-8")
    assert cli.read_config(path) == {"method": "eb", "n_starts": 3}
    path.write_text('method = "map"\n', encoding="utf-8")
    assert_one_line_error(*run(["fit", "--config", str(path)], capsys), "'method'", "eb",
                          "bayes")


@pytest.mark.slow
def test_fit_and_validate_by_empirical_bayes(fit_eb_run, tmp_path, capsys):
    from avoidrl.hierarchical import EmpiricalBayes
    from avoidrl.model_selection import random_effects_bms

    code, stdout, err, out = fit_eb_run
    assert code == 0, err
    assert "by empirical Bayes" in stdout and "iBIC" in stdout and "BIC per" not in stdout
    for name in ("group_Laplace.csv", "ibic.csv", "population_parameters.csv",
                 "em_history.csv", "parameter_intervals.csv", "model_evidence.csv",
                 "bms_results.csv", "BMS_model_comparison.png"):
        assert (out / name).is_file(), name
    assert not (out / "group_BIC.csv").exists() and not (out / "fit-by-runs.png").exists()
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert summary["method"] == "eb" and summary["evidence"] == "Laplace"
    settings = summary["settings"]["estimators"][TWO_MODELS[0]]
    assert settings["random_state"] == 1 and settings["estimator"]["model"] == TWO_MODELS[0]

    # the folder holds what EmpiricalBayes(make_model(M), random_state=seed) fits
    learning, transfer = load_example()
    ids = pd.unique(learning["participant_id"])[:12]
    learning = learning[learning["participant_id"].isin(ids)]
    transfer = transfer[transfer["participant_id"].isin(ids)]
    expected = EmpiricalBayes(make_model(TWO_MODELS[1]), random_state=1).fit(learning, transfer)
    with open(out / "fit_data_FIT.pkl", "rb") as handle:
        fitted = pickle.load(handle)[TWO_MODELS[1]].set_index("participant")
    np.testing.assert_allclose(fitted[expected.parameter_names].to_numpy(),
                               expected.params_.loc[fitted.index].to_numpy())
    evidence = pd.read_csv(out / "model_evidence.csv").set_index("participant_id")
    np.testing.assert_allclose(evidence[TWO_MODELS[1]],
                               expected.log_evidence_.loc[evidence.index])
    bms = pd.read_csv(out / "bms_results.csv").set_index("model")
    again = random_effects_bms(evidence[TWO_MODELS])
    np.testing.assert_allclose(bms["protected_exceedance_probability"],
                               again["protected_exceedance_probability"])
    assert summary["bms"]["winner"] == again["protected_exceedance_probability"].idxmax()

    # validate --method eb joins the folder; Laplace numbers are never labelled BIC
    out = shutil.copytree(out, tmp_path / "study")
    code, stdout, err = run(["validate", "--method", "eb", "--recovery", "both", "--models",
                             *TWO_MODELS, "--participants", "4", "--seed", "1", "--out",
                             str(out)], capsys)
    assert code == 0, err
    assert "by mean -2 log evidence (Laplace)" in stdout
    corrs = pd.read_csv(out / "param_recovery_corrs.csv")
    assert set(corrs["Model"]) == set(TWO_MODELS)
    parameter = json.loads((out / "summary_PARAMETER.json").read_text())["parameter_recovery"]
    assert parameter[TWO_MODELS[0]]["estimator"]["estimator"]["model"] == TWO_MODELS[0]
    matrices = pd.read_csv(out / "model_recovery_matrices.csv")
    assert set(matrices["matrix"]) == {"mean_laplace", "normalized_laplace", "confusion",
                                       "inversion"}
    model = json.loads((out / "summary_MODEL.json").read_text())["model_recovery"]
    assert model["criterion"] == "-2 log evidence (Laplace)"
    assert model["estimators"][TWO_MODELS[0]]["estimator"]["model"] == TWO_MODELS[0]
    identification = pd.read_csv(out / "model_recovery_identification.csv")
    assert identification["generating_model"].tolist() == TWO_MODELS
    readme = (out / "README.md").read_text()
    assert "empirical-Bayes fits" in readme and "Fitting method: empirical Bayes" in readme


# ------------------------------------------------------------------ --gradient
def small_fit(out, capsys, *options):
    """``avoidrl fit`` of 2 participants and QLearning+novel with ``options``: the
    summary's settings of that estimator."""
    code, _, err = run(["fit", "--participants", "2", "--models", "QLearning+novel",
                        *options, "--n-starts", "2", "--seed", "1", "--jobs", "1",
                        "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary_FIT.json").read_text())
    return summary["settings"]["estimators"]["QLearning+novel"]


def test_gradient_option_reaches_the_estimators_and_methods_md(tmp_path, capsys):
    """--gradient finite-difference fits on the reference's optimizer path, and says so."""
    out = tmp_path / "fd"
    settings = small_fit(out, capsys, "--gradient", "finite-difference")
    assert settings["gradient"] == "finite-difference"
    assert "forward-difference" in (out / "methods.md").read_text()


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "--method", "bayes", "--gradient", "exact"], "--gradient has no effect"),
    (["fit", "--gradient", "forward"], "invalid choice"),
])
def test_gradient_option_is_checked(argv, fragment, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2 and fragment in err


# ------------------------------------------------------------------ --intervals
def test_intervals_option_writes_profile_intervals_and_says_so(tmp_path, capsys):
    """--intervals profile: every estimate of parameter_intervals.csv has an interval, and
    the folder's README describes profile intervals, not Wald ones."""
    out = tmp_path / "profile"
    assert small_fit(out, capsys, "--intervals", "profile")["intervals"] == "profile"
    table = pd.read_csv(out / "parameter_intervals.csv")
    assert table[["lower", "upper"]].notna().all().all()
    readme = (out / "README.md").read_text()
    assert "profile-likelihood intervals" in readme and "Wald intervals from" not in readme
    methods = (out / "methods.md").read_text()  # the setting reaches the methods paragraph
    assert "95 % intervals were profile-likelihood intervals" in methods and "1.92." in methods


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "--method", "eb", "--intervals", "profile"], "--intervals chooses"),
    (["validate", "--method", "bayes", "--intervals", "wald"], "--intervals chooses"),
    (["fit", "--intervals", "bootstrap"], "invalid choice"),
])
def test_intervals_option_is_checked(argv, fragment, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2 and fragment in err


def test_only_the_command_itself_ends_its_process_quickly(monkeypatch):
    """main() reading the process's own command line (the avoidrl command) registers the
    quick exit: the figure workers stopped, then gc.freeze so the interpreter's last
    collection skips everything; main(argv) called from Python (a test, a notebook) does not."""
    calls = []
    monkeypatch.setattr(cli, "_end_quickly_at_exit", lambda: calls.append("registered"))
    assert cli.main(["--version"]) == 0
    assert calls == []
    monkeypatch.setattr(sys, "argv", ["avoidrl", "--version"])
    assert cli.main() == 0
    assert calls == ["registered"]


def test_the_quick_exit_stops_the_workers_then_freezes_once(monkeypatch):
    import atexit
    import gc

    from avoidrl.report import _figures

    monkeypatch.delattr(cli._end_quickly_at_exit, "registered", raising=False)
    monkeypatch.delattr(_figures.freeze_at_exit, "registered", raising=False)
    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    cli._end_quickly_at_exit()
    cli._end_quickly_at_exit()
    # atexit runs last in, first out: the workers are stopped before the freeze
    assert registered == [gc.freeze, _figures.stop_workers]
