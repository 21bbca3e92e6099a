"""The CLI refuses a study folder it could not publish into before any fitting.

A crafted or malformed journal, a manifest naming a file outside the folder:
one line ``avoidrl: error: ...``, exit status 2, nothing touched.
"""

import json

import pytest

from avoidrl import cli
from avoidrl.report import _folder
from avoidrl.report._atomic import _record

BESIDE = b"beside the study folder\n"


@pytest.fixture
def study(tmp_path):
    out = tmp_path / "study"
    with _folder.staged(out, ("FIT",), info={"seed": 1}) as stage:
        (stage.path / "group_BIC.csv").write_text("old\n")
        stage.describe("FIT", "| group_BIC.csv | old |")
    (tmp_path / "victim.txt").write_bytes(BESIDE)
    return out


def _fit(out, capsys, monkeypatch):
    def no_fitting(*args, **kwargs):
        raise AssertionError("fitting started")

    monkeypatch.setattr("avoidrl._workflows._runs._fit_models", no_fitting)
    code = cli.main(["fit", "--models", "QLearning", "--participants", "2", "--start", "fixed",
                     "--seed", "1", "--overwrite", "--quiet", "--out", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("journal, match", [
    ({"staging": ".avoidrl-stage-999999-0123abcd", "moves": ["../victim.txt"], "remove": {}},
     "not a path inside"),
    ({"staging": ".avoidrl-stage-999999-0123abcd", "moves": []}, "has no 'remove' dict"),
])
def test_a_crafted_or_malformed_journal_is_refused_before_fitting(study, journal, match, capsys,
                                                                 monkeypatch):
    (study / ".avoidrl-stage-999999-0123abcd").mkdir()
    (study / _folder.JOURNAL).write_text(json.dumps(journal))
    code, err = _fit(study, capsys, monkeypatch)
    assert code == 2 and match in err and err.startswith("avoidrl: error:")
    assert len(err.strip().splitlines()) == 1
    assert (study.parent / "victim.txt").read_bytes() == BESIDE
    assert (study / _folder.JOURNAL).exists()  # left for the user to look at


def test_a_manifest_naming_a_file_outside_is_refused_before_fitting(study, capsys, monkeypatch):
    manifest = json.loads((study / _folder.MANIFEST).read_text())
    manifest["runs"]["FIT"]["files"]["../victim.txt"] = _record(study.parent / "victim.txt")
    (study / _folder.MANIFEST).write_text(json.dumps(manifest))
    code, err = _fit(study, capsys, monkeypatch)
    assert code == 2 and "'../victim.txt', which is not a path inside" in err
    assert (study.parent / "victim.txt").read_bytes() == BESIDE
