"""The README's promises: two quick-start commands, and code that runs as written.

Every ```python block of README.md is executed by :func:`test_readme_block_runs`, in a
fresh module that holds six example participants as ``X_learning, X_transfer`` (the names
the first block gives the example data, which later blocks use). A block that needs
something special has an HTML comment ``<!-- readme-test: NAME -->`` on the line before its
fence, and ``SPECIAL[NAME]`` says what the test does with it: text replacements (each must
match, so a rewritten snippet cannot silently escape them), a setup, a check of what it did,
a clean-up, placeholder figures. New blocks are covered without any change here.
"""

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from avoidrl import load_example, make_model
from avoidrl.report import _figures as _render

from .._helpers import small_example

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"(?:<!--\s*readme-test:\s*(?P<name>[\w-]+)\s*-->\n+)?"
                    r"```(?P<language>\w*)\n(?P<code>.*?)```", flags=re.S)


def _blocks(language):
    return [m.group("code") for m in _FENCE.finditer(README.read_text())
            if m.group("language") == language]


def _python_blocks():
    """(line, name, code) of every ```python block, in order."""
    text = README.read_text()
    return [(text.count("\n", 0, m.start("code")), m.group("name"), m.group("code"))
            for m in _FENCE.finditer(text) if m.group("language") == "python"]


def _example_csvs(folder):
    """learning.csv and transfer.csv of six example participants, where the snippet reads them."""
    learning, transfer = small_example()
    learning.to_csv(folder / "learning.csv", index=False)
    transfer.to_csv(folder / "transfer.csv", index=False)


def _placeholder_figure(figure, stem, formats):
    for fmt in formats:
        Path(f"{stem}.{fmt}").write_text(f"a figure with {len(figure.axes)} axes\n")


def _written(path):
    assert Path(path).is_file(), f"the snippet did not write {path}"


def _local_cluster(folder):
    pytest.importorskip("dask.distributed")


def _close_cluster(namespace):
    if "cluster" in namespace:
        namespace["cluster"].close()


def _recovered(namespace):
    assert namespace["models"].confusion_.shape == (3, 3)


#: What the test does with the blocks named by a ``<!-- readme-test: NAME -->`` comment.
SPECIAL = {
    # A SLURM cluster cannot run here: the same code on a local dask cluster (threads in this
    # process), with fewer datasets. dask is in the test extra; without it the block is skipped.
    "cluster": dict(
        replace=[("from dask_jobqueue import SLURMCluster", "from dask.distributed import "
                  "LocalCluster"),
                 ('SLURMCluster(cores=8, memory="16GB", walltime="02:00:00")',
                  "LocalCluster(n_workers=2, threads_per_worker=1, processes=False, "
                  "dashboard_address=None)"),
                 ("cluster.scale(jobs=10)", ""),
                 ("n_datasets=500", "n_datasets=4")],
        setup=_local_cluster, check=_recovered, cleanup=_close_cluster),
    # Reads learning.csv and transfer.csv from the working folder and writes a report there
    # (its figures as placeholders: drawing them is tested in test_report and test_render).
    "csv-files": dict(setup=_example_csvs, placeholder_figures=True,
                      check=lambda namespace: _written("modelling/summary_FIT.json")),
    # Recoveries of 60 and 3 x 40 datasets: the same code with fewer datasets.
    "recovery": dict(replace=[("n_datasets=60", "n_datasets=6"),
                              ("n_datasets=40", "n_datasets=4")]),
}


@pytest.mark.parametrize("line, name, code", _python_blocks(),
                         ids=[f"line{line}" + (f"-{name}" if name else "")
                              for line, name, _ in _python_blocks()])
@pytest.mark.slow
def test_readme_block_runs(line, name, code, tmp_path, monkeypatch):
    """The block runs (six example participants as X_learning, X_transfer; see SPECIAL)."""
    special = SPECIAL.get(name, {}) if name is not None else {}
    if name is not None and name not in SPECIAL:
        pytest.fail(f"README.md line {line}: unknown readme-test name {name!r}; known: "
                    f"{list(SPECIAL)}")
    for old, new in special.get("replace", ()):
        assert old in code, f"README.md line {line}: {old!r} is no longer in the block"
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)  # files a snippet writes go to a temporary folder
    if special.get("placeholder_figures"):
        monkeypatch.setattr(_render, "save_figure", _placeholder_figure)
    if "setup" in special:
        special["setup"](tmp_path)
    # a module of its own, as a script's __main__: classes it defines can be pickled
    module = types.ModuleType("readme_snippet")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    module.X_learning, module.X_transfer = small_example()
    try:
        exec(compile(code, f"README.md:{line}", "exec"), module.__dict__)
        if "check" in special:
            special["check"](module.__dict__)
    finally:
        if "cleanup" in special:
            special["cleanup"](module.__dict__)


def test_quick_start_has_two_commands():
    text = README.read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, flags=re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "avoidrl fit" in commands[0]
    assert "pytest" in commands[1]


@pytest.mark.slow
def test_fit_and_compare_example_prints_the_mean_bic(capsys):
    """The example runs as written and prints each model's mean BIC, k ln(n) + 2 NLL."""
    code = _blocks("python")[0]
    assert len([line for line in code.splitlines() if line.strip()]) == 3
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    # {'QLearning+novel': 123.4, ...}, numbers possibly shown as np.float64(123.4)
    printed = {name: float(value) for name, value in re.findall(
        r"'([\w+]+)': (?:np\.float64\()?(-?[\d.]+)", out)}
    assert set(printed) == {"QLearning+novel", "Relative+novel"}, out
    learning, transfer = load_example()
    for name, value in printed.items():
        model = make_model(name, random_state=0).fit(learning, transfer)
        n = model.n_trials_.to_numpy(float)
        bic = len(model.parameter_names) * np.log(n) + 2 * model.nll_.to_numpy()
        assert abs(value - bic.mean()) <= 0.05 + 1e-9, name  # printed to one decimal
        # choosing at random costs n ln 2 per participant: the fits are far better
        assert value < 0.5 * np.mean(2 * n * np.log(2)), name
    # the example data were generated by QLearning+novel, which fits them best
    assert printed["QLearning+novel"] < printed["Relative+novel"]


def test_model_table_matches_the_estimators():
    """Every row of the README's model table: the class's parameters (in order) and options."""
    from avoidrl.estimators import ESTIMATORS

    section = README.read_text().split("### Models", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \|$", section, flags=re.M)
    assert [r[0] for r in rows] == list(ESTIMATORS)
    listed = {}
    for name, parameters, options in rows:
        same = re.fullmatch(r"as (\w+) \+ (\w+)", parameters)
        names = listed[same.group(1)] + [same.group(2)] if same else \
            [p.strip() for p in parameters.split(",")]
        listed[name] = names
        cls = ESTIMATORS[name]
        assert cls().parameter_names == names, name
        accepted = [o for o in ("bias", "novel", "decay") if o in cls._get_param_names()]
        assert [o.strip() for o in options.split(",")] == accepted, name
