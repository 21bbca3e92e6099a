"""``Pipeline``: reference-style scripts give the CLI's folders; clear errors otherwise."""

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avoidrl import cli
from avoidrl.pipeline import PARAMETERS, Pipeline, help_text
from avoidrl.priors import default_bounds, fixed_priors

MODELS = ["QLearning+novel", "Relative+novel"]
BOUNDS = {"QLearning": {"temperature": (0.01, 0.5)}, "Relative": {"temperature": (0.01, 0.5)}}


def assert_same_folder(a, b, *, same_readme=True):
    """Same files with the same bytes; the summaries equal but for their time stamps.

    The manifest records when each run wrote, so it is left out; README.md
    differs when the kinds of runs were written in different runs.
    """
    files_a = sorted(p.relative_to(a) for p in Path(a).rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in Path(b).rglob("*") if p.is_file())
    assert files_a == files_b
    for name in files_a:
        if name.name.startswith("summary_"):
            first, second = (json.loads((root / name).read_text()) for root in (a, b))
            first.pop("created"), second.pop("created")
            assert first == second
        elif name.name == ".avoidrl-manifest.json" or \
                name.name == "README.md" and not same_readme:
            continue
        else:
            assert (Path(a) / name).read_bytes() == (Path(b) / name).read_bytes(), name


@pytest.fixture(scope="module")
def tutorial_fit(data_files, tmp_path_factory):
    """The reference tutorial's FIT call, on avoidrl."""
    out = tmp_path_factory.mktemp("pipeline") / "modelling"
    pipeline = Pipeline(seed=1251)
    result = pipeline.run(mode="fit", models=MODELS, learning_filename=data_files[0],
                          transfer_filename=data_files[1], random_params="normal",
                          number_of_runs=2, fixed=fixed_priors(MODELS), bounds=BOUNDS,
                          multiprocessing=True, out_dir=out)
    return result, out


@pytest.mark.slow
def test_tutorial_fit_script_gives_the_cli_folder(tutorial_fit, data_files, tmp_path, capsys):
    result, out = tutorial_fit
    assert list(result.models) == MODELS
    config = tmp_path / "bounds.json"
    config.write_text(json.dumps({"bounds": BOUNDS}))
    code = cli.main(["fit", "--models", *MODELS, "--learning", data_files[0], "--transfer",
                     data_files[1], "--start", "normal", "--n-starts", "2", "--config",
                     str(config), "--jobs", "-1", "--seed", "1251", "--out",
                     str(tmp_path / "cli"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert_same_folder(out, tmp_path / "cli")


@pytest.mark.slow
def test_validation_parameter_then_model_gives_the_cli_folder(data_files, validate_run,
                                                             tmp_path):
    common = dict(mode="validation", models=MODELS, learning_filename=data_files[0],
                  transfer_filename=data_files[1], random_params="random",
                  fixed=fixed_priors(MODELS), number_of_runs=2, datasets_to_generate=6,
                  out_dir=tmp_path / "pipeline")
    pipeline = Pipeline(seed=7)
    first = pipeline.run(recovery="parameter", **common)
    second = pipeline.run(recovery="model", generate_data=False, clear_data=True, **common)
    # the model recovery reused the parameter recovery's datasets and joined its folder
    # without overwrite: it added its own files, the generated data are the same bytes
    pooled = [d.id for r in first.parameter_recovery.values() for d in r.datasets_]
    assert [d.id for d in second.model_recovery.datasets_] == pooled
    assert second.parameter_recovery == {}
    # the command line: validate --recovery both of MODELS, 2 starts, 6 datasets, seed 7
    code, _, err, cli_folder = validate_run
    assert code == 0, err
    assert_same_folder(tmp_path / "pipeline", cli_folder, same_readme=False)
    readme = (tmp_path / "pipeline" / "README.md").read_text()
    assert "## PARAMETER" in readme and "## MODEL" in readme


@pytest.mark.slow
def test_an_earlier_fit_is_not_replaced_without_overwrite(tutorial_fit, data_files):
    _, out = tutorial_fit
    # the message names the first files (alphabetically) of those it may not replace
    with pytest.raises(FileExistsError, match="AIC_model_comparisons.png was written by an "
                                              "earlier avoidrl FIT run"):
        Pipeline(seed=1251).run(mode="fit", models=MODELS, learning_filename=data_files[0],
                                transfer_filename=data_files[1], out_dir=out)


@pytest.mark.slow
def test_fit_filename_simulates_the_fitted_parameters(tutorial_fit, data_files, tmp_path):
    _, out = tutorial_fit
    run = Pipeline(seed=3).run(
        mode="validation", models=["QLearning+novel"], learning_filename=data_files[0],
        transfer_filename=data_files[1], fit_filename=str(out / "fit_data_FIT.pkl"),
        number_of_runs=1, out_dir=tmp_path / "v")
    with open(out / "fit_data_FIT.pkl", "rb") as handle:
        fitted = pickle.load(handle)["QLearning+novel"].set_index("participant")
    recovery = run.parameter_recovery["QLearning+novel"]
    for dataset in recovery.datasets_:
        expected = fitted.loc[dataset.template, dataset.true_params.index]
        np.testing.assert_array_equal(dataset.true_params.to_numpy(), expected.to_numpy(float))
    assert len(recovery.datasets_) == len(fitted)


@pytest.mark.slow
def test_parameters_and_task_design(tmp_path):
    table = pd.DataFrame({"factual_lr": [0.2, 0.4, 0.6], "counterfactual_lr": [0.1, 0.2, 0.3],
                          "temperature": [0.05, 0.1, 0.15], "novel_value": [0.0, 0.3, -0.3]})
    run = Pipeline(seed=5).run(
        mode="validation", models=["QLearning+novel"], parameters={"QLearning+novel": table},
        task_design={"learning_phase": {"number_of_trials": 8, "number_of_blocks": 2},
                     "transfer_phase": {"times_repeated": 1}},
        number_of_runs=1, out_dir=tmp_path / "v")
    datasets = run.parameter_recovery["QLearning+novel"].datasets_
    assert len(datasets) == 3
    np.testing.assert_array_equal([d.true_params.to_numpy() for d in datasets], table.to_numpy())
    for dataset in datasets:
        assert len(dataset.learning) == 16  # 8 trials x 2 blocks: 4 per pair
        assert len(dataset.transfer) == 32  # the 32 transfer pairs once

    drawn = Pipeline(seed=5).run(
        mode="validation", models=["QLearning+novel"], datasets_to_generate=4,
        task_design={"learning_phase": {"number_of_trials": 4, "number_of_blocks": 3},
                     "transfer_phase": {"number_of_trials": 64}},
        number_of_runs=1, out_dir=tmp_path / "w")
    datasets = drawn.parameter_recovery["QLearning+novel"].datasets_
    assert len(datasets) == 4
    assert {len(d.learning) for d in datasets} == {12}
    assert {len(d.transfer) for d in datasets} == {64}


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("params, match", [
    (dict(mode="fit", models=MODELS, number_of_run=3),
     r"unknown parameter\(s\) \['number_of_run'\]"),
    (dict(mode="fit", models=["QLearning+novle"]), "unknown option 'novle'"),
    (dict(mode="fit", models=["Qlearning"]), "valid bases are"),
    (dict(mode="fit", models=MODELS, training="torch"), "torch backend is not reproduced"),
    (dict(mode="fit", models=MODELS, training_epochs=100), "not maximum likelihood"),
    (dict(mode="validation", models=MODELS, optimizer_lr=0.01), "torch"),
    (dict(models=MODELS), "'mode' is required"),
    (dict(mode="fitting", models=MODELS), "mode must be"),
    (dict(mode="fit"), "'models' is required"),
    (dict(mode="fit", models=MODELS, recovery="model"), "do not apply in fit mode"),
    (dict(mode="fit", models=MODELS, generated=True), "generated=True"),
    (dict(mode="fit", models=MODELS, random_params="uniform"), "random_params"),
    (dict(mode="fit", models=MODELS, bounds={"QLearning+novel": {"temperature": (0, 1)}}),
     "base name"),
    (dict(mode="fit", models=MODELS, fixed={"QLearning": {"temprature": 0.1}}), "temprature"),
    (dict(mode="validation", models=MODELS, random_params=False), "same generating"),
    (dict(mode="validation", models=["QLearning"], recovery="model"), "at least 2"),
    (dict(mode="validation", models=MODELS, parameters={}, fit_filename="x.pkl"),
     "either parameters or fit_filename"),
    (dict(mode="validation", models=MODELS, fit_filename="no/such.pkl"), "does not exist"),
    (dict(mode="validation", models=["QLearning"],
          task_design={"learning_phase": {"number_of_trials": 5, "number_of_blocks": 1}}),
     "multiple of 4"),
])
def test_clear_errors(params, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        Pipeline(seed=0).run(out_dir=tmp_path / "out", **params)
    assert not (tmp_path / "out").exists()


def test_help(capsys):
    pipeline = Pipeline(help=True)
    out = capsys.readouterr().out
    assert pipeline.help is True  # a flag, not the builtin help (the reference's Q23)
    for name in PARAMETERS:
        assert f"\n{name}\n" in out
    assert out.strip() == help_text().strip()
    assert Pipeline().run(help=True) is None
    assert "FIT MODE PARAMETERS" in capsys.readouterr().out


def test_priors_come_from_the_model_declarations():
    priors = fixed_priors(["QLearning+novel", "Hybrid2021+bias"])
    assert priors["QLearning"] == {"factual_lr": 0.28, "counterfactual_lr": 0.18,
                                   "temperature": 0.06, "novel_value": 0.0, "decay_factor": 0.08}
    assert priors["Hybrid2021"]["mixing_factor"] == 0.69
    assert priors["Hybrid2021"]["noise_factor"] == 0.04
    assert "decay_factor" not in fixed_priors(["ActorCritic"])["ActorCritic"]
    bounds = default_bounds(["Relative"])["Relative"]
    assert bounds["contextual_lr"] == (0.01, 0.99) and bounds["novel_value"] == (-1.0, 1.0)
    assert set(fixed_priors()) == set(default_bounds()) and len(fixed_priors()) == 8
    with pytest.raises(ValueError, match="valid bases"):
        fixed_priors(["QLeaning"])


@pytest.mark.slow
def test_one_model_and_one_group_work(tmp_path):
    # the reference crashes on both (Q2: one model; Q36: fewer than two groups)
    run = Pipeline(seed=2).run(mode="fit", models=["QLearning+novel"], number_of_participants=2,
                               out_dir=tmp_path / "m")
    assert run.n_participants == 2 and run.groups == ["control"]
    assert run.models["QLearning+novel"].n_starts_ == 1  # random_params=False: one fixed start
    linear = pd.read_csv(tmp_path / "m" / "pain_fits_linear_results.csv")
    assert linear["F"].isna().all()


def files_of(folder):
    return {p.relative_to(folder): p.read_bytes() for p in Path(folder).rglob("*")
            if p.is_file()}


@pytest.mark.slow
def test_the_reference_tutorial_sequence_shares_one_folder(data_files, tmp_path):
    """RL_fit_main then RL_validation_main (parameter, then model recovery) into one folder."""
    out = tmp_path / "modelling"
    before = {path: Path(path).read_bytes() for path in data_files}
    Pipeline(seed=1251).run(mode="fit", models=MODELS, learning_filename=data_files[0],
                            transfer_filename=data_files[1], number_of_participants=3,
                            out_dir=out)
    after_fit = files_of(out)
    validation = Pipeline(seed=2)
    common = dict(mode="validation", models=MODELS, learning_filename=data_files[0],
                  transfer_filename=data_files[1], number_of_participants=3,
                  number_of_runs=1, out_dir=out)
    validation.run(recovery="parameter", **common)
    after_parameter = files_of(out)
    validation.run(recovery="model", generate_data=False, **common)
    final = files_of(out)
    for name in ("fit_data_FIT.pkl", "summary_FIT.json", "fit_data_PARAMETER.pkl",
                 "summary_PARAMETER.json", "fit_data_MODEL.pkl", "summary_MODEL.json",
                 "data/generated/QLearning+novel_generated_learning.csv", "README.md"):
        assert Path(name) in final, name
    # each run only added files (and rewrote the README); nothing earlier changed
    for earlier in (after_fit, after_parameter):
        for name, content in earlier.items():
            if name.name not in ("README.md", ".avoidrl-manifest.json"):
                assert final[name] == content, name
    readme = (out / "README.md").read_text()
    assert readme.index("## FIT") < readme.index("## PARAMETER") < readme.index("## MODEL")
    manifest = json.loads((out / ".avoidrl-manifest.json").read_text())
    assert list(manifest["runs"]) == ["FIT", "PARAMETER", "MODEL"]
    assert manifest["runs"]["FIT"]["seed"] == 1251 and manifest["runs"]["MODEL"]["seed"] == 2
    assert {path: Path(path).read_bytes() for path in data_files} == before


@pytest.mark.slow
def test_fit_then_validate_on_the_command_line_share_one_folder(data_files, tmp_path,
                                                                 capsys):
    out = str(tmp_path / "study")
    data = ["--learning", data_files[0], "--transfer", data_files[1], "--participants", "3"]
    assert cli.main(["fit", "--models", MODELS[0], *data, "--start", "fixed", "--seed", "1",
                     "--out", out, "--quiet"]) == 0, capsys.readouterr().err
    assert cli.main(["validate", "--models", MODELS[0], *data, "--n-starts", "1",
                     "--seed", "1", "--out", out, "--quiet"]) == 0, capsys.readouterr().err
    names = {p.name for p in Path(out).iterdir()}
    assert {"fit_data_FIT.pkl", "summary_FIT.json", "fit_data_PARAMETER.pkl",
            "summary_PARAMETER.json", "README.md", ".avoidrl-manifest.json"} <= names
    # the same validation again needs --overwrite, and then replaces only its own files
    assert cli.main(["validate", "--models", MODELS[0], *data, "--n-starts", "1",
                     "--seed", "1", "--out", out, "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    fit_before = (Path(out) / "fit_data_FIT.pkl").read_bytes()
    assert cli.main(["validate", "--models", MODELS[0], *data, "--n-starts", "1",
                     "--seed", "1", "--out", out, "--quiet", "--overwrite"]) == 0
    assert (Path(out) / "fit_data_FIT.pkl").read_bytes() == fit_before


@pytest.mark.slow
def test_a_pipeline_without_a_seed_draws_and_records_one(tmp_path):
    pipeline = Pipeline()
    assert pipeline.seed_drawn and isinstance(pipeline.seed, int) and 0 <= pipeline.seed < 2**32
    pipeline.run(mode="fit", models=["QLearning+novel"], number_of_participants=2,
                 out_dir=tmp_path / "m")
    summary = json.loads((tmp_path / "m" / "summary_FIT.json").read_text())
    assert summary["seed"] == pipeline.seed and summary["seed_drawn"] is True
    again = Pipeline(seed=pipeline.seed)
    assert not again.seed_drawn
    again.run(mode="fit", models=["QLearning+novel"], number_of_participants=2,
              out_dir=tmp_path / "n")
    assert (tmp_path / "m" / "fit_data_FIT.pkl").read_bytes() == \
        (tmp_path / "n" / "fit_data_FIT.pkl").read_bytes()


@pytest.mark.slow
def test_method_eb_gives_the_cli_folder(data_files, tmp_path, capsys):
    """Pipeline(method='eb') is ``avoidrl fit --method eb``: empirical Bayes, same folder."""
    run = Pipeline(seed=4).run(mode="fit", models=["QLearning+novel"], method="eb",
                               learning_filename=data_files[0], transfer_filename=data_files[1],
                               out_dir=tmp_path / "pipeline")
    assert type(run.models["QLearning+novel"]).__name__ == "EmpiricalBayes"
    assert (tmp_path / "pipeline" / "population_parameters.csv").is_file()
    code = cli.main(["fit", "--models", "QLearning+novel", "--method", "eb", "--learning",
                     data_files[0], "--transfer", data_files[1],
                     "--seed", "4", "--out", str(tmp_path / "cli"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert_same_folder(tmp_path / "pipeline", tmp_path / "cli")
    with pytest.raises(ValueError, match="method must be one of"):
        Pipeline(seed=4).run(mode="fit", models=["QLearning+novel"], method="map",
                             out_dir=tmp_path / "never")
    with pytest.raises(ValueError, match="number_of_runs has no effect with method='eb'"):
        Pipeline(seed=4).run(mode="validation", models=["QLearning+novel"], method="eb",
                             number_of_runs=3, out_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_gradient_is_passed_and_checked(tmp_path):
    """Pipeline's gradient reaches the estimators; a bad one is refused before fitting."""
    run = Pipeline(seed=4).run(mode="fit", models=["QLearning+novel"], number_of_participants=2,
                               number_of_runs=2, random_params="normal",
                               gradient="finite-difference", out_dir=tmp_path / "fd")
    assert run.models["QLearning+novel"].gradient == "finite-difference"
    for bad, method in (("forward", "ml"), ("exact", "bayes")):
        with pytest.raises(ValueError, match="gradient"):
            Pipeline(seed=4).run(mode="fit", models=["QLearning+novel"], gradient=bad,
                                 method=method, out_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_intervals_is_passed_and_checked(tmp_path):
    """Pipeline's intervals reaches the estimators; with another method it is refused."""
    run = Pipeline(seed=4).run(mode="fit", models=["QLearning+novel"], number_of_participants=2,
                               number_of_runs=2, random_params="normal", intervals="profile",
                               out_dir=tmp_path / "profile")
    assert run.models["QLearning+novel"].intervals == "profile"
    assert run.models["QLearning+novel"].params_ci_[["lower", "upper"]].notna().all().all()
    for bad, method in (("bootstrap", "ml"), ("profile", "eb")):
        with pytest.raises(ValueError, match="intervals"):
            Pipeline(seed=4).run(mode="fit", models=["QLearning+novel"], intervals=bad,
                                 method=method, out_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
