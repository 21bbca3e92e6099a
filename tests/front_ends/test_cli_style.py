"""The command line's --style option (issue 20, point 4)."""

import json

import pytest
from PIL import Image

from avoidrl import cli
from avoidrl.datasets import load_example


def _files(folder):
    learning, transfer = load_example()
    ids = learning["participant_id"].drop_duplicates().head(2)
    paths = folder / "learning.csv", folder / "transfer.csv"
    learning[learning["participant_id"].isin(ids)].to_csv(paths[0], index=False)
    transfer[transfer["participant_id"].isin(ids)].to_csv(paths[1], index=False)
    return ["--learning", str(paths[0]), "--transfer", str(paths[1])]


@pytest.mark.parametrize("command", ["fit", "validate"])
def test_style_is_an_option(command, capsys):
    assert cli.main([command, "--help"]) == 0
    assert "--style" in capsys.readouterr().out
    assert cli.build_parser().parse_args([command]).style == "screen"
    assert cli.main([command, "--style", "print"]) == 2  # a one-line usage error
    assert "invalid choice: 'print'" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_with_the_paper_style(tmp_path, capsys):
    out = tmp_path / "paper"
    code = cli.main(["fit", *_files(tmp_path), "--models", "QLearning+novel", "--n-starts", "1",
                     "--n-simulations", "1", "--seed", "2", "--style", "paper", "--quiet",
                     "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert summary["settings"]["figure_style"] == "paper"
    widths = {Image.open(png).size[0] for png in out.rglob("*.png")}
    assert max(widths) <= 7 * 300


def test_pipeline_takes_the_style(monkeypatch):
    from avoidrl import pipeline

    seen = {}
    monkeypatch.setattr(pipeline, "run_fit", lambda **kwargs: seen.update(kwargs))
    pipeline.Pipeline(seed=1).run(mode="fit", models=["QLearning+novel"], style="paper")
    assert seen["style"] == "paper"
    assert "style" in pipeline.PARAMETERS
