"""Progress of long computations: bars when verbose, listeners for front ends, no effect on results."""

import numpy as np
import pytest

from avoidrl import QLearning, load_example
from avoidrl._core.optimize import minimize_lbfgsb_batch
from avoidrl._utils.progress import ProgressBar, progress_listened, report_to
from avoidrl.hierarchical import EmpiricalBayes
from avoidrl.recovery import ParameterRecovery


@pytest.fixture(scope="module")
def small():
    learning, transfer = load_example()
    keep = learning["participant_id"].unique()[:6]
    return (learning[learning["participant_id"].isin(keep)],
            transfer[transfer["participant_id"].isin(keep)])


def _quadratic(X, owner):
    return ((X - 0.3) ** 2).sum(axis=1) + owner


@pytest.mark.parametrize("backend", ["setulb", "scipy"])
def test_optimizer_reports_every_problem_finished(backend):
    seen = []
    x0 = np.random.default_rng(0).random((7, 2))
    result = minimize_lbfgsb_batch(_quadratic, x0, [(0, 1), (0, 1)], backend=backend,
                                   progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 7
    plain = minimize_lbfgsb_batch(_quadratic, x0, [(0, 1), (0, 1)], backend=backend)
    np.testing.assert_array_equal(result.x, plain.x)


def test_verbose_fit_draws_a_bar_and_quiet_fit_draws_nothing(small, capsys):
    QLearning(novel=True, n_starts=3, random_state=0).fit(*small)
    assert capsys.readouterr().err == ""
    QLearning(novel=True, n_starts=3, random_state=0, verbose=1).fit(*small)
    err = capsys.readouterr().err
    assert "fitting QLearning+novel" in err
    # the bar ends complete: every start planned was descended
    assert "100%" in err


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_listener_sees_the_fit_advance_to_its_end_and_results_do_not_change(small, n_jobs):
    calls = []
    assert not progress_listened()
    with report_to(lambda done, total, what: calls.append((done, total, what))):
        assert progress_listened()
        listened = QLearning(novel=True, n_starts=3, random_state=0, n_jobs=n_jobs).fit(*small)
    assert not progress_listened()
    quiet = QLearning(novel=True, n_starts=3, random_state=0).fit(*small)
    np.testing.assert_array_equal(listened.params_.to_numpy(), quiet.params_.to_numpy())
    done = [c[0] for c in calls]
    assert done == sorted(done)
    assert calls[-1][0] == calls[-1][1] == int(quiet.n_starts_used_.sum())
    assert {c[2] for c in calls} == {"fitting QLearning+novel"}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_and_recovery_report_progress(small):
    calls = []
    with report_to(lambda done, total, what: calls.append((done, total, what))):
        EmpiricalBayes(QLearning(novel=True), random_state=0, max_iter=3).fit(*small)
        ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=4,
                          random_state=0).fit(*small)
    em = [c for c in calls if c[2].startswith("EM QLearning+novel")]
    assert em and em[-1][1] == 3 and 1 <= em[-1][0] <= 3
    recovery = [c for c in calls if c[2].startswith("recovering")]
    assert recovery[-1][:2] == (4, 4)


def test_bar_total_grows_and_never_moves_back():
    calls = []
    with report_to(lambda done, total, what: calls.append((done, total))):
        with ProgressBar(2, "x", "step", 0) as bar:
            bar.update()
            bar.add_total(3)
            bar.update_to(1)  # backwards: ignored
            bar.update_to(10)  # past the end: clipped
    assert calls == [(1, 2), (1, 5), (5, 5)]


def test_model_recovery_reports_every_fit(small):
    from avoidrl import Relative
    from avoidrl.recovery import ModelRecovery

    calls = []
    with report_to(lambda done, total, what: calls.append((done, total, what))):
        ModelRecovery([QLearning(novel=True, n_starts=2), Relative(novel=True, n_starts=2)],
                      n_datasets=3, random_state=0).fit(*small)
    ours = [c for c in calls if c[2] == "model recovery"]
    # 2 generators x 3 datasets, each fitted by both models
    assert ours[-1][:2] == (12, 12)
