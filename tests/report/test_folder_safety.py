"""Study folders: ownership, and crash safety with a failure injected at every publish step.

After a failure, a SIGTERM or a SIGKILL at any step the output folder must hold
exactly its previous or its new complete state, the input CSVs and the user's
files must be intact byte for byte, and no staging folder may remain (after the
next run, for a SIGKILL).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import avoidrl  # noqa: E402
from avoidrl import QLearning, report  # noqa: E402
from avoidrl.report import _folder  # noqa: E402
from avoidrl.report import _write as _output  # noqa: E402
from avoidrl.report import _figures as _render  # noqa: E402
from avoidrl.recovery import ParameterRecovery  # noqa: E402

USER_FILE = "notes.txt"
USER_TEXT = b"my own notes\n"
NEW_STEPS = ("check", "manifest", "sync", "exchange", "discard")  # a folder that does not exist
#: steps whose failure leaves the new state (the commit is the exchange or the journal)
COMMITTED = {"discard", "move", "remove", "finish"}
#: a signal from these steps on is held back until publishing is done: the new state
DEFERRED = {"exchange", "journal"} | COMMITTED


class Boom(Exception):
    pass


# ------------------------------------------------------------------ fixtures
def _quick_save(figure, stem, formats):
    """Stand-in for rendering the figure files (the slow part; figures are tested elsewhere)."""
    for fmt in formats:
        Path(f"{stem}.{fmt}").write_bytes(f"a figure with {len(figure.axes)} axes\n".encode())


@pytest.fixture(scope="module", autouse=True)
def quick_figures():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_render, "save_figure", _quick_save)
        yield


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Three example participants as CSVs, two fitted FITs and two parameter recoveries."""
    learning, transfer = avoidrl.load_example()
    ids = pd.unique(learning["participant_id"])[:3]
    learning = learning[learning["participant_id"].isin(ids)].reset_index(drop=True)
    transfer = transfer[transfer["participant_id"].isin(ids)].reset_index(drop=True)
    folder = tmp_path_factory.mktemp("inputs")
    paths = (folder / "learning.csv", folder / "transfer.csv")
    learning.to_csv(paths[0], index=False)
    transfer.to_csv(paths[1], index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = {"QLearning+novel": QLearning(novel=True, start="fixed").fit(*paths)}
        other = {"QLearning": QLearning(start="fixed").fit(*paths)}
        recoveries = [ParameterRecovery(QLearning(novel=True, start="fixed"), n_datasets=3,
                                        random_state=seed).fit(learning, transfer)
                      for seed in (0, 1)]
    inputs = {path: path.read_bytes() for path in paths}
    return dict(paths=paths, fitted=fitted, other=other, recoveries=recoveries,
                inputs=inputs)


def write(kind, small, out, **options):
    """One run: the FIT of the 'fitted' model, or the first parameter recovery."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "fit":
            return report.write_fit_report(out, small["fitted"], *small["paths"],
                                           random_state=1, **options)
        return report.write_validation_report(out, parameter_recovery=small["recoveries"][0],
                                              inputs=small["paths"], **options)


@pytest.fixture(scope="module")
def previous(small, tmp_path_factory):
    """Earlier states of a study folder, each with a file of the user's."""
    root = tmp_path_factory.mktemp("previous")
    folders = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = root / "fit"  # an earlier FIT of another model
        fit.mkdir()
        (fit / USER_FILE).write_bytes(USER_TEXT)
        report.write_fit_report(fit, small["other"], *small["paths"], random_state=0)
        folders["fit"] = fit
        both = root / "both"  # ... and an earlier parameter recovery
        shutil.copytree(fit, both)
        report.write_validation_report(both, parameter_recovery=small["recoveries"][1])
        folders["both"] = both
        validation = root / "validation"  # an earlier parameter recovery only
        validation.mkdir()
        (validation / USER_FILE).write_bytes(USER_TEXT)
        report.write_validation_report(validation, parameter_recovery=small["recoveries"][1])
        folders["validation"] = validation
    return folders


def snapshot(folder):
    """{relative path: content} without the time stamps (summaries' created, manifest's written)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(folder).as_posix()
        content = path.read_bytes()
        if path.name.startswith("summary_"):
            data = json.loads(content)
            data.pop("created", None)
            content = data
        elif path.name == _folder.MANIFEST:
            data = json.loads(content)
            for run in data["runs"].values():
                run.pop("written", None)
                for name, record in run["files"].items():  # their time stamps differ
                    if name.startswith("summary_"):
                        record.clear()
            content = data
        state[rel] = content
    return state


#: (run, previous folder, overwrite) of each case
CASES = {
    "fit-overwrite": ("fit", "both", True),   # replaces the FIT, removes the other model's figures
    "fit-add": ("fit", "validation", False),  # adds a FIT beside a parameter recovery
    "validation-add": ("validation", "fit", False),
    "validation-overwrite": ("validation", "both", True),
    "validation-new": ("validation", None, False),  # a folder that does not exist yet
}


@pytest.fixture(scope="module")
def expected(small, previous, tmp_path_factory):
    """The previous and the new state of every case (a successful run)."""
    states = {}
    for case, (kind, start, overwrite) in CASES.items():
        out = tmp_path_factory.mktemp("expected") / "study"
        if start is not None:
            shutil.copytree(previous[start], out)
        before = snapshot(out)
        write(kind, small, out, overwrite=overwrite)
        states[case] = before, snapshot(out)
    return states


def prepare(case, previous, tmp_path):
    kind, start, overwrite = CASES[case]
    out = tmp_path / "study"
    if start is not None:
        shutil.copytree(previous[start], out)
    return kind, overwrite, out


def inject(monkeypatch, step, how):
    """Make publishing fail at ``step``: raise, or send this process SIGTERM."""
    fired = []

    def hook(name):
        if name == step and not fired:  # once: the clean-up may pass the step again
            fired.append(name)
            if how == "raise":
                raise Boom(step)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(_folder, "_checkpoint", hook)
    return fired


def assert_intact(small, out, tmp_path):
    for path, content in small["inputs"].items():
        assert path.read_bytes() == content
    if out.exists() and (out / USER_FILE).exists():
        assert (out / USER_FILE).read_bytes() == USER_TEXT
    assert [p.name for p in tmp_path.iterdir()] in (["study"], [])  # no staging folder


# ------------------------------------------------- every step, every case
def check_step(case, step, how, small, previous, expected, tmp_path, monkeypatch):
    kind, overwrite, out = prepare(case, previous, tmp_path)
    before, after = expected[case]
    assert snapshot(out) == before
    fired = inject(monkeypatch, step, how)
    error = Boom if how == "raise" else _folder.Terminated
    with pytest.raises(error):
        write(kind, small, out, overwrite=overwrite)
    assert fired == [step]
    published = step in (COMMITTED if how == "raise" else DEFERRED)
    assert snapshot(out) == (after if published else before), step
    assert_intact(small, out, tmp_path)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler was restored


@pytest.mark.parametrize("step", _folder.EXCHANGE_STEPS)
@pytest.mark.parametrize("case, how", [("fit-overwrite", "raise"), ("fit-add", "sigterm"),
                                       ("validation-add", "raise"),
                                       ("validation-overwrite", "sigterm")])
def test_exchange_publish_fails_at_every_step(case, how, step, small, previous, expected,
                                              tmp_path, monkeypatch):
    check_step(case, step, how, small, previous, expected, tmp_path, monkeypatch)


@pytest.mark.parametrize("step", NEW_STEPS)
def test_new_folder_publish_fails_at_every_step(step, small, previous, expected, tmp_path,
                                                monkeypatch):
    check_step("validation-new", step, "raise", small, previous, expected, tmp_path,
               monkeypatch)


@pytest.mark.parametrize("step", _folder.JOURNAL_STEPS)
@pytest.mark.parametrize("case, how", [("validation-overwrite", "raise"),
                                       ("validation-add", "sigterm")])
def test_journal_publish_fails_at_every_step(case, how, step, small, previous, expected,
                                             tmp_path, monkeypatch):
    # no renameat2 or hard links: the journaled fallback
    monkeypatch.setattr(_folder, "_can_exchange_and_link", lambda probe: False)
    check_step(case, step, how, small, previous, expected, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["raise", "sigterm"])
def test_failure_while_workers_draw_the_figures(how, small, previous, expected, tmp_path,
                                                monkeypatch):
    """Figures handed to worker processes (n_jobs=2), then an error or a SIGTERM before
    publishing: the previous state, no staging folder, and no worker writes afterwards."""
    kind, overwrite, out = prepare("fit-add", previous, tmp_path)
    before, _ = expected["fit-add"]

    def fail(*args, **kwargs):  # a step after most figures were handed over
        if how == "raise":
            raise Boom("learning dynamics")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(_output, "learning_dynamics", fail)
    with pytest.raises(Boom if how == "raise" else _folder.Terminated):
        write(kind, small, out, overwrite=overwrite, n_jobs=2)
    assert snapshot(out) == before
    assert_intact(small, out, tmp_path)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_successful_runs_give_the_expected_states(expected):
    before, after = expected["fit-overwrite"]
    # the other model's figures were the earlier FIT's and are not written any more
    assert "model_behaviours/QLearning_model_behaviours.png" in before
    assert "model_behaviours/QLearning_model_behaviours.png" not in after
    assert "model_behaviours/QLearning+novel_model_behaviours.png" in after
    assert "summary_PARAMETER.json" in after and after[USER_FILE] == USER_TEXT
    before, after = expected["fit-add"]
    assert set(before) - {"README.md", _folder.MANIFEST} <= set(after)
    assert all(after[name] == before[name] for name in before
               if name not in ("README.md", _folder.MANIFEST))


# --------------------------------------------------------------- SIGKILL
_KILLER = """
import importlib, os, signal, sys, types
# avoidrl.report's folder modules alone (standard library only), without importing avoidrl
package = types.ModuleType("report")
package.__path__ = [os.path.dirname(sys.argv[1])]
sys.modules["report"] = package
folder = importlib.import_module("report._folder")
step, out, mode = sys.argv[2], sys.argv[3], sys.argv[4]
if mode == "journal":
    folder._can_exchange_and_link = lambda probe: False
def hook(name):
    if name == step:
        os.kill(os.getpid(), signal.SIGKILL)
folder._checkpoint = hook
with folder.staged(out, ("FIT",), overwrite=True, info={"seed": 2}) as stage:
    (stage.path / "result.csv").write_text("new result\\n")
    (stage.path / "figures").mkdir()
    (stage.path / "figures" / "new.png").write_bytes(b"new figure")
    stage.describe("FIT", "| result.csv | the new result |")
"""


def killed_run(out, step, mode):
    return subprocess.run([sys.executable, "-c", _KILLER, _folder.__file__, step, str(out),
                           mode], capture_output=True, text=True)


def tiny_previous(out):
    """A folder with a user file and an earlier tiny FIT (result.csv, figures/old.png)."""
    out.mkdir()
    (out / USER_FILE).write_bytes(USER_TEXT)
    with _folder.staged(out, ("FIT",), info={"seed": 1}) as stage:
        (stage.path / "result.csv").write_text("old result\n")
        (stage.path / "figures").mkdir()
        (stage.path / "figures" / "old.png").write_bytes(b"old figure")
        stage.describe("FIT", "| result.csv | the old result |")


@pytest.mark.parametrize("mode, step", [("exchange", s) for s in _folder.EXCHANGE_STEPS]
                         + [("journal", s) for s in _folder.JOURNAL_STEPS])
def test_sigkill_at_every_step_is_cleaned_up_by_the_next_run(mode, step, tmp_path):
    out = tmp_path / "study"
    tiny_previous(out)
    before = snapshot(out)
    result = killed_run(out, step, mode)
    assert result.returncode == -signal.SIGKILL, result.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "study"] + \
        [p.name for p in out.iterdir() if p.name.startswith(".avoidrl-stage-")]
    assert leftovers  # the killed run left its staging (or the swapped-out folder)
    _folder.recover(out)  # what the next run does first; the killed pid is dead
    state = snapshot(out)
    new = {"result.csv": b"new result\n", "figures/new.png": b"new figure"}
    files = {k: v for k, v in state.items()
             if k not in ("README.md", _folder.MANIFEST, USER_FILE)}
    # a journal that was written is rolled forward; before it, nothing happened
    committed = step in COMMITTED or (mode == "exchange" and step == "discard")
    if committed:
        assert files == new, step
    else:
        assert state == before, step
    assert state[USER_FILE] == USER_TEXT
    assert [p.name for p in tmp_path.iterdir()] == ["study"]
    assert not [p for p in out.iterdir() if p.name.startswith(".avoidrl-")
                and p.name != _folder.MANIFEST]


def test_staging_of_a_live_process_is_left_alone(tmp_path):
    out = tmp_path / "study"
    tiny_previous(out)
    live = tmp_path / f".study.avoidrl-stage-{os.getppid()}-0123abcd"
    live.mkdir()
    unrelated = tmp_path / ".study.tmp-123"
    unrelated.mkdir()
    _folder.recover(out)
    assert live.is_dir() and unrelated.is_dir()


# ------------------------------------------------------------ ownership
def test_user_files_and_changed_files_are_never_replaced(tmp_path):
    out = tmp_path / "study"
    tiny_previous(out)
    (out / "figures" / "mine.png").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="result.csv was written by an earlier"):
        with _folder.staged(out, ("FIT",)) as stage:
            (stage.path / "result.csv").write_text("again\n")
    (out / "result.csv").write_text("edited by hand\n")
    with pytest.raises(FileExistsError, match="result.csv was changed since"):
        with _folder.staged(out, ("FIT",), overwrite=True) as stage:
            (stage.path / "result.csv").write_text("again\n")
    with pytest.raises(FileExistsError, match="mine.png is not avoidrl's"):
        with _folder.staged(out, ("FIT",), overwrite=True) as stage:
            (stage.path / "figures").mkdir()
            (stage.path / "figures" / "mine.png").write_bytes(b"avoidrl's")
    assert (out / "figures" / "mine.png").read_bytes() == b"mine"
    assert (out / "result.csv").read_text() == "edited by hand\n"
    assert [p.name for p in tmp_path.iterdir()] == ["study"]


def test_stale_files_are_removed_only_when_unchanged(tmp_path):
    out = tmp_path / "study"
    tiny_previous(out)
    with _folder.staged(out, ("FIT",), overwrite=True) as stage:  # figures/old.png is stale
        (stage.path / "result.csv").write_text("new\n")
    assert not (out / "figures" / "old.png").exists()
    with _folder.staged(out, ("FIT",), overwrite=True) as stage:
        (stage.path / "figures").mkdir()
        (stage.path / "figures" / "a.png").write_bytes(b"a")
    (out / "figures" / "a.png").write_bytes(b"changed")
    with pytest.warns(UserWarning, match="a.png: an earlier avoidrl run wrote it but"):
        with _folder.staged(out, ("FIT",), overwrite=True) as stage:
            (stage.path / "result.csv").write_text("newer\n")
    assert (out / "figures" / "a.png").read_bytes() == b"changed"
    manifest = json.loads((out / _folder.MANIFEST).read_text())
    assert list(manifest["runs"]["FIT"]["files"]) == ["result.csv"]


def test_identical_files_of_another_kind_are_shared(tmp_path):
    out = tmp_path / "study"
    with _folder.staged(out, ("PARAMETER",)) as stage:
        (stage.path / "shared.csv").write_text("same\n")
    with _folder.staged(out, ("MODEL",)) as stage:  # the same bytes: no overwrite needed
        (stage.path / "shared.csv").write_text("same\n")
    manifest = json.loads((out / _folder.MANIFEST).read_text())
    assert "shared.csv" in manifest["runs"]["PARAMETER"]["files"]
    assert "shared.csv" in manifest["runs"]["MODEL"]["files"]
    with pytest.raises(FileExistsError, match="shared.csv was written by an earlier avoidrl PARAMETER"):
        with _folder.staged(out, ("MODEL",)) as stage:
            (stage.path / "shared.csv").write_text("different\n")


def test_a_foreign_readme_is_refused(tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    (out / "README.md").write_text("my project\n")
    with pytest.raises(FileExistsError, match="README.md is not avoidrl's"):
        with _folder.staged(out, ("FIT",), overwrite=True) as stage:
            (stage.path / "result.csv").write_text("x\n")
    assert (out / "README.md").read_text() == "my project\n"


def test_folders_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "study"
        with _folder.staged(out, ("FIT",)) as stage:
            (stage.path / "sub").mkdir()
            (stage.path / "sub" / "f.csv").write_text("x\n")
        assert (out.stat().st_mode & 0o777) == 0o755
        assert ((out / "sub").stat().st_mode & 0o777) == 0o755
        assert ((out / "sub" / "f.csv").stat().st_mode & 0o777) == 0o644
        os.chmod(out, 0o750)  # an existing folder keeps its mode
        with _folder.staged(out, ("MODEL",)) as stage:
            (stage.path / "g.csv").write_text("y\n")
        assert (out.stat().st_mode & 0o777) == 0o750
    finally:
        os.umask(previous)


def test_an_input_inside_the_folder_is_refused_by_path_and_by_inode(tmp_path, monkeypatch):
    out = tmp_path / "study"
    out.mkdir()
    data = out / "learning.csv"
    data.write_text("data\n")
    with pytest.raises(ValueError, match="holds the input file"):
        _folder.check(out, ("FIT",), inputs=[data], overwrite=True)
    monkeypatch.chdir(out)
    with pytest.raises(ValueError, match="holds the input file"):
        _folder.check(".", ("FIT",), inputs=["learning.csv"])
    elsewhere = tmp_path / "learning.csv"
    os.link(data, elsewhere)  # the same file under another name
    with pytest.raises(ValueError, match="holds the input file"):
        _folder.check(out, ("FIT",), inputs=[elsewhere])
    assert data.read_text() == "data\n"
