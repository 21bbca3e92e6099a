"""Figure writing: formats, the same bytes from worker processes, failures and interrupts."""

import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from avoidrl import QLearning, load_example, report  # noqa: E402
from avoidrl.report import _folder  # noqa: E402
from avoidrl.report import _write as _output  # noqa: E402
from avoidrl.report import _figures as _render  # noqa: E402

PARENT_PID = os.getpid()


def _digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _figures(folder):
    return {rel for rel in _digests(folder) if rel.rsplit(".", 1)[-1] in _render.FORMATS}


def _line_figure(label):
    figure = Figure(figsize=(3, 2), layout="constrained")
    axis = figure.add_subplot()
    axis.plot([0, 1, 2], [1, 0, 2], label=label)
    axis.set_title(label)
    return figure


def _only_in_the_parent(label):
    if os.getpid() != PARENT_PID:
        raise RuntimeError("this figure cannot be drawn in a worker")
    return _line_figure(label)


def _always_fails(label):
    raise ValueError(f"no figure for {label}")


def _drawn_where(label, record, pause=0.0):
    """A figure that notes which process drew it (in the file ``record``/label)."""
    time.sleep(pause)
    Path(record, label).write_text(str(os.getpid()))
    return _line_figure(label)


def _warns(label):
    warnings.warn(f"careful with {label}", UserWarning)
    return _line_figure(label)


@pytest.fixture(scope="module")
def small():
    """Four example participants in two groups, fitted by one model."""
    learning, transfer = load_example()
    ids = list(learning.drop_duplicates("participant_id").groupby("group_code", sort=False)
               .head(2)["participant_id"])[:4]
    learning = learning[learning["participant_id"].isin(ids)].reset_index(drop=True)
    transfer = transfer[transfer["participant_id"].isin(ids)].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {"QLearning+novel": QLearning(novel=True, start="fixed").fit(learning, transfer)}
    return models, learning, transfer


# ----------------------------------------------------------------- formats
def test_check_formats():
    assert _render.check_formats(None) is None
    assert _render.check_formats(["SVG", ".png", "svg"]) == ("png", "svg")  # canonical order
    assert _render.check_formats("pdf") == ("pdf",)
    for bad in (["png", "jpg"], [], 3):
        with pytest.raises(ValueError, match="formats"):
            _render.check_formats(bad)


def test_reference_files_by_default():
    """The reference exported PNGs, and SVGs too of its behaviour and parameter figures."""
    assert _render.figure_files("model_behaviours/M_model_behaviours", None) == \
        ["model_behaviours/M_model_behaviours.png", "model_behaviours/M_model_behaviours.svg"]
    assert _render.figure_files("parameter_fits/M-model-fits", None) == \
        ["parameter_fits/M-model-fits.png", "parameter_fits/M-model-fits.svg"]
    assert _render.figure_files("BIC_model_comparisons", None) == ["BIC_model_comparisons.png"]
    assert _render.figure_files("model_recovery", ("svg", "pdf")) == \
        ["model_recovery.svg", "model_recovery.pdf"]


def _placeholder_figure(figure, stem, formats, **options):
    for fmt in formats:
        Path(f"{stem}.{fmt}").write_text(f"a figure with {len(figure.axes)} axes\n")


@pytest.mark.parametrize("formats", [None, ["svg"], ["pdf", "png"]])
def test_planned_files_are_the_files_written(small, tmp_path, formats, monkeypatch):
    """fit_files names every figure file the report writes, in the formats asked for."""
    models, learning, transfer = small
    monkeypatch.setattr(_render, "save_figure", _placeholder_figure)  # the names matter here
    out = tmp_path / "fit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.write_fit_report(out, models, learning, transfer, random_state=0,
                                formats=formats)
    planned = report.fit_files(models, pd.unique(learning["group_code"]), formats=formats)
    written = _figures(out)
    assert {f for f in planned if f.rsplit(".", 1)[-1] in _render.FORMATS} == written
    assert set(planned) <= set(_digests(out))
    # the manifest lists what was written, the README says which formats
    manifest = _folder.read_manifest(out)["runs"]["FIT"]["files"]
    assert written <= set(manifest)
    readme = (out / "README.md").read_text()
    assert (formats is None) == ("also written as SVG" in readme)
    if formats is not None:
        assert ", ".join(f.upper() for f in _render.check_formats(formats)) in readme
    # the summary names files that exist, whatever the formats
    summary = json.loads((out / "summary_FIT.json").read_text())
    for filename in summary["model_simulation_figures"].values():
        assert (out / filename).is_file(), filename
        assert filename in readme


# ------------------------------------------------------------ parallel drawing
@pytest.mark.slow
def test_workers_write_the_same_bytes(small, tmp_path):
    """A report drawn by two processes equals the one drawn here, byte for byte (SVG too)."""
    models, learning, transfer = small
    folders = {}
    for n_jobs in (1, 2):
        folders[n_jobs] = tmp_path / f"jobs{n_jobs}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.write_fit_report(folders[n_jobs], models, learning, transfer,
                                    random_state=0, formats=["png", "svg"], n_jobs=n_jobs)
    serial, parallel = (_digests(folders[n]) for n in (1, 2))
    figures = _figures(folders[1])
    assert len(figures) >= 12 and any(f.endswith(".svg") for f in figures)
    assert {f: serial[f] for f in figures} == {f: parallel[f] for f in figures}
    assert set(serial) == set(parallel)


@pytest.mark.slow
def test_validation_report_in_parallel(small, tmp_path):
    from avoidrl.recovery import ParameterRecovery

    models, learning, transfer = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recovery = ParameterRecovery(QLearning(novel=True, start="fixed"), n_datasets=3,
                                     random_state=0).fit(learning, transfer)
        for n_jobs in (1, 2):
            report.write_validation_report(tmp_path / f"jobs{n_jobs}",
                                           parameter_recovery=recovery, formats=["svg"],
                                           n_jobs=n_jobs)
    planned = report.validation_files(["QLearning+novel"], formats=["svg"])
    assert "correlations/recovery_correlation_plot.svg" in planned
    figures = {"correlations/recovery_correlation_plot.svg", "parameter_recovery_calibration.svg"}
    for n_jobs in (1, 2):
        assert _figures(tmp_path / f"jobs{n_jobs}") == figures
    for name in figures:
        assert _digests(tmp_path / "jobs1")[name] == _digests(tmp_path / "jobs2")[name]


@pytest.mark.slow
def test_a_figure_a_worker_cannot_draw_is_drawn_here(tmp_path):
    with _render.FigureWriter(tmp_path, ("png",), n_jobs=2) as figures:
        for i in range(4):
            figures.add(f"sub/figure{i}", _only_in_the_parent, f"figure {i}")
    assert _figures(tmp_path) == {f"sub/figure{i}.png" for i in range(4)}
    expected = tmp_path / "expected"
    with _render.FigureWriter(expected, ("png",), n_jobs=1) as figures:
        figures.add("figure0", _line_figure, "figure 0")
    assert (tmp_path / "sub" / "figure0.png").read_bytes() == \
        (expected / "figure0.png").read_bytes()


def test_a_plotting_error_is_raised_here_and_stops_the_workers(tmp_path):
    writer = _render.FigureWriter(tmp_path, ("png",), n_jobs=2)
    with pytest.raises(ValueError, match="no figure for broken"):
        with writer as figures:
            figures.add("fine", _line_figure, "fine")
            figures.add("broken", _always_fails, "broken")
    assert writer._executor is None and not writer._jobs
    assert not (tmp_path / "broken.png").exists()


def test_started_workers_are_warm_and_the_writer_draws_with_them(tmp_path):
    """start_workers (called before the fits) imports in the pool the writer then uses."""
    warm_ups = _render.start_workers(2)
    assert len(warm_ups) == 1
    warm_ups[0].result(timeout=120)  # imported, without error
    pool = _render._workers(1)
    with _render.FigureWriter(tmp_path, ("png",), n_jobs=2) as figures:
        figures.add("early", _line_figure, "early")
        assert figures._executor is pool
        for i in range(3):
            figures.add(f"late{i}", _line_figure, f"late {i}")
    assert _figures(tmp_path) == {"early.png"} | {f"late{i}.png" for i in range(3)}
    assert _render._workers(1) is pool  # kept for the next report
    assert _render.start_workers(1) == []  # one job: no worker, nothing to start


@pytest.mark.parametrize("n_workers", [1, 2])
def test_figure_workers_leave_joblibs_process_pool_alone(n_workers):
    """joblib's loky backend still runs after the figure workers started (it failed with
    "no attribute '_temp_folder_manager'" when they took loky's global reusable pool)."""
    from joblib import Parallel, delayed

    _render.start_workers(n_workers + 1)[0].result(timeout=120)
    assert Parallel(n_jobs=n_workers, backend="loky")(delayed(abs)(-i) for i in range(3)) == \
        [0, 1, 2]


@pytest.mark.slow
def test_a_worker_holds_one_figure_and_this_process_takes_the_newest(tmp_path):
    """Each worker is handed one figure at a time: the rest stay for this process, which
    draws the newest first (figures handed to loky's call queue could not be taken back,
    and this process waited idle at the end while a worker drew them)."""
    record = tmp_path / "drawn_by"
    record.mkdir()
    writer = _render.FigureWriter(tmp_path / "out", ("png",), n_jobs=2)
    with writer as figures:
        figures.add("first", _drawn_where, "first", str(record), 3.0)
        for i in range(3):
            figures.add(f"later{i}", _drawn_where, f"later{i}", str(record))
        assert len(writer._jobs) == 1 and len(writer._waiting) == 3  # the worker has one
    drawn_by = {path.name: int(path.read_text()) for path in record.iterdir()}
    assert drawn_by["first"] != PARENT_PID
    assert drawn_by["later2"] == PARENT_PID  # the newest, taken before the worker was free
    assert _figures(tmp_path / "out") == {"first.png"} | {f"later{i}.png" for i in range(3)}


def test_stopped_workers_are_gone_and_the_next_report_starts_new_ones(tmp_path):
    """stop_workers (the command line's exit) kills the pool; a later writer has workers."""
    _render.start_workers(2)[0].result(timeout=120)
    pool = _render._workers(1)
    processes = list(pool._processes.values())
    _render.stop_workers()
    assert _render._POOL["executor"] is None
    assert all(not process.is_alive() for process in processes)
    _render.stop_workers()  # nothing to stop: no error
    with _render.FigureWriter(tmp_path, ("png",), n_jobs=2) as figures:
        figures.add("after", _line_figure, "after")
        assert figures._executor is not None and figures._executor is not pool
    assert _figures(tmp_path) == {"after.png"}


def test_warnings_of_workers_reach_the_caller(tmp_path):
    with pytest.warns(UserWarning, match="careful with") as record:
        with _render.FigureWriter(tmp_path, ("png",), n_jobs=2) as figures:
            for i in range(3):
                figures.add(f"w{i}", _warns, f"w{i}")
    assert sorted(str(w.message) for w in record) == [f"careful with w{i}" for i in range(3)]


def test_every_format_gives_the_same_bytes_again(tmp_path):
    """No dates or random ids: the same figure twice is the same file, in every format."""
    for run in ("first", "second"):
        with _render.FigureWriter(tmp_path / run, _render.FORMATS) as figures:
            figures.add("figure", _line_figure, "same")
    assert _digests(tmp_path / "first") == _digests(tmp_path / "second")
    assert set(_digests(tmp_path / "first")) == {f"figure.{f}" for f in _render.FORMATS}


@pytest.mark.slow
def test_a_failing_report_leaves_nothing_with_workers(small, tmp_path, monkeypatch):
    """An error after figures were handed to workers: no folder, no staging, workers gone."""
    models, learning, transfer = small

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_output, "learning_dynamics", boom)
    with pytest.raises(RuntimeError, match="boom"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.write_fit_report(tmp_path / "fit", models, learning, transfer, random_state=0,
                                n_jobs=2)
    assert list(tmp_path.iterdir()) == []
