"""The example scripts run (in a reduced size) and the bundled data regenerate bit for bit."""

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DATASETS = Path(__file__).resolve().parents[1] / "avoidrl" / "datasets"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tutorial_fit(tmp_path, capsys):
    tutorial = load("tutorial_fit")
    result = tutorial.main(tmp_path, n_starts=1, participants_per_group=2,
                           models=["QLearning+novel", "Relative+novel"], write_folder=False)
    out = capsys.readouterr().out
    assert "Mean BIC per group" in out and "Best model overall" in out
    assert list(result["group_bic"].index) == ["control", "acute", "chronic", "full"]
    for model in ("QLearning+novel", "Relative+novel"):
        assert (tmp_path / "figures" / f"{model}_model_behaviours.png").is_file()
        assert len(result["models"][model].params_) == 6
    assert (tmp_path / "figures" / "BIC_model_comparisons.png").is_file()
    assert set(result["recovered"].index) == {"factual_lr", "counterfactual_lr",
                                              "temperature", "novel_value"}


def test_tutorial_validation(tmp_path, capsys):
    tutorial = load("tutorial_validation")
    result = tutorial.main(tmp_path, n_datasets=6, n_starts=1, n_templates=6,
                           models=["QLearning+novel", "Relative+novel"])
    out = capsys.readouterr().out
    assert "Parameter recovery" in out and "Confusion matrix" in out
    assert (tmp_path / "figures" / "model_recovery.png").is_file()
    assert (tmp_path / "validation" / "param_recovery_corrs.csv").is_file()
    recovery = result["model_recovery"]
    assert len(recovery.datasets_) == 12
    np.testing.assert_allclose(recovery.confusion_.sum(axis=0), 1.0)


def test_grid_search_bounds(capsys):
    search = load("grid_search_bounds").main(n_starts=1)
    assert "selected" in capsys.readouterr().out
    assert search.best_params_["bounds"]["temperature"][1] in (0.1, 0.2, 0.5, 1.0)


def test_make_example_data_regenerates_the_bundled_files(tmp_path, monkeypatch, capsys):
    script = load("make_example_data")
    monkeypatch.setattr(script, "OUT", tmp_path)
    script.main()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(["example_learning_data.csv", "example_transfer_data.csv",
                              "example_parameters.csv", "example_metadata.json"])
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATASETS / name).read_bytes(), name

