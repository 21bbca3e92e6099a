"""transfer_prediction.csv in the FIT folder: written only on request, recorded in the summary."""

import json

import numpy as np
import pandas as pd
import pytest

import avoidrl
from avoidrl.report import fit_files, write_fit_report
from avoidrl.report._write import check_transfer_prediction

from ..conftest import run_cli

FILE = "transfer_prediction.csv"


def test_the_file_is_planned_only_on_request():
    assert FILE not in fit_files(["QLearning"], ["g"])
    assert FILE in fit_files(["QLearning"], ["g"], transfer_prediction=True)
    assert FILE not in fit_files(["QLearning"], ["g"], method="eb")
    with pytest.raises(ValueError, match="refits maximum-likelihood fits.*'eb' fits"):
        fit_files(["QLearning"], ["g"], method="eb", transfer_prediction=True)
    with pytest.raises(ValueError, match="transfer_prediction must be True or False"):
        check_transfer_prediction("yes", "ml")


def test_cli_refuses_it_with_empirical_bayes(tmp_path):
    code, _, err = run_cli(["fit", "--method", "eb", "--transfer-prediction",
                            "--out", str(tmp_path / "out")])
    assert code == 2 and "--transfer-prediction" in err and "--method eb" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_fit_folder_writes_it_on_request(small_frames, tmp_path):
    learning, transfer = small_frames
    models = {name: avoidrl.make_model(name, start="fixed", random_state=2).fit(learning,
                                                                                 transfer)
              for name in ("QLearning+novel", "Relative")}
    plain = write_fit_report(tmp_path / "plain", models, learning, transfer, random_state=0,
                             n_simulations=1, formats=["png"])
    assert not (plain / FILE).exists()
    settings = json.loads((plain / "summary_FIT.json").read_text())["settings"]
    assert settings["transfer_prediction"] is False
    assert FILE in (plain / "README.md").read_text()  # the row says how to ask for it

    folder = write_fit_report(tmp_path / "asked", models, learning, transfer, random_state=0,
                              n_simulations=1, formats=["png"], transfer_prediction=True)
    table = pd.read_csv(folder / FILE)
    assert table.columns.tolist() == ["model", "participant_id", "group", "n_trials",
                                      "log_loss", "accuracy", "chance_log_loss",
                                      "in_sample_log_loss"]
    assert table["model"].unique().tolist() == list(models)
    assert len(table) == 2 * learning["participant_id"].nunique()
    assert np.allclose(table["chance_log_loss"], np.log(2))
    expected = avoidrl.report.transfer_prediction(models, learning, transfer)
    assert np.allclose(table["log_loss"], expected["log_loss"])
    settings = json.loads((folder / "summary_FIT.json").read_text())["settings"]
    assert settings["transfer_prediction"] is True


@pytest.mark.slow
def test_cli_fit_transfer_prediction(data_files, tmp_path):
    out = tmp_path / "modelling"
    code, _, err = run_cli(["fit", "--models", "QLearning", "--learning", data_files[0],
                            "--transfer", data_files[1], "--n-starts", "1", "--seed", "3",
                            "--n-simulations", "1", "--formats", "png", "--quiet",
                            "--transfer-prediction", "--out", str(out)])
    assert code == 0, err
    table = pd.read_csv(out / FILE)
    assert (table["model"] == "QLearning").all() and table["log_loss"].notna().all()
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert summary["settings"]["transfer_prediction"] is True
