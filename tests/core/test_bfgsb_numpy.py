"""The numpy twin of the compiled BFGS-B: its pieces against closed forms, its iterates
against the compiled ones (the same bits), and the backend it gives without numba."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from avoidrl._core import _bfgsb, _bfgsb_numpy, compiled


def rosenbrock(X, problem):
    return np.array([rosen(x) for x in X]), np.array([rosen_der(x) for x in X])


def coupled_quadratic(center, scale):
    """sum scale_i (x_i - c_i)^2 + 0.3 (x_0 - c_0)(x_1 - c_1) and its gradient."""
    def fun(X, problem):
        d = X - center
        gradient = 2.0 * scale * d
        gradient[:, 0] += 0.3 * d[:, 1]
        gradient[:, 1] += 0.3 * d[:, 0]
        return (scale * d * d).sum(axis=1) + 0.3 * d[:, 0] * d[:, 1], gradient
    return fun


def test_min_and_max_follow_numbas_rule():
    """The first argument unless the second is strictly beyond it: NaN and -0.0 included."""
    assert _bfgsb_numpy._max(0.0, np.nan) == 0.0 and np.isnan(_bfgsb_numpy._max(np.nan, 0.0))
    assert _bfgsb_numpy._min(1.0, np.nan) == 1.0 and np.isnan(_bfgsb_numpy._min(np.nan, 1.0))
    assert np.signbit(_bfgsb_numpy._max(-0.0, 0.0)) and not np.signbit(_bfgsb_numpy._max(0.0, -0.0))
    assert _bfgsb_numpy._max(1.0, 2.0) == 2.0 and _bfgsb_numpy._min(1.0, 2.0) == 1.0


def test_the_model_matrix_is_symmetric_and_meets_the_newest_secant():
    """A BFGS update leaves B symmetric with B s = y for the pair it took in last."""
    rng = np.random.default_rng(0)
    n, maxcor, k = 6, 4, 5
    pairs_s = rng.normal(size=(n, maxcor, k))
    pairs_y = pairs_s + 0.3 * rng.normal(size=(n, maxcor, k))  # s'y > 0
    count = np.array([0, 1, 2, 3, 4, 4])
    b = _bfgsb_numpy._model_matrix(pairs_s, pairs_y, count)
    np.testing.assert_allclose(b, np.swapaxes(b, 1, 2), atol=1e-12)
    assert np.array_equal(b[0], np.eye(k))  # no pairs: the identity
    for p in range(1, n):
        s, y = pairs_s[p, count[p] - 1], pairs_y[p, count[p] - 1]
        np.testing.assert_allclose(b[p] @ s, y, rtol=1e-10, atol=1e-12)
    # one pair: theta = y'y / s'y, then the update
    s, y = pairs_s[1, 0], pairs_y[1, 0]
    theta = y @ y / (s @ y)
    expected = theta * np.eye(k) + np.outer(y, y) / (s @ y) - theta * np.outer(s, s) / (s @ s)
    np.testing.assert_allclose(b[1], expected, rtol=1e-12)


def test_the_batched_cholesky_solves_each_leading_block():
    rng = np.random.default_rng(1)
    n, k = 8, 5
    m = np.array([1, 2, 3, 4, 5, 5, 3, 2])
    a = rng.normal(size=(n, k, k))
    spd = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(k)
    spd[6, 1, 1] = -1.0  # not positive definite within its leading 3 x 3 block
    spd[7, 4, 4] = -1.0  # ... but outside problem 7's leading 2 x 2 block: still fine
    rhs = rng.normal(size=(n, k))
    with np.errstate(invalid="ignore"):  # problem 7's trailing row has no square root
        work, ok = _bfgsb_numpy._cholesky_solve(spd.copy(), rhs, m)
    assert ok.tolist() == [True] * 6 + [False, True]
    for p in np.flatnonzero(ok):
        lead = slice(0, m[p])
        np.testing.assert_allclose(work[p, lead], np.linalg.solve(spd[p, lead, lead], rhs[p, lead]),
                                   rtol=1e-10)


def test_the_twin_alone_reaches_closed_form_minima():
    """Interior minimum of a coupled quadratic; a separable one's projection onto the box."""
    rng = np.random.default_rng(2)
    center, scale = np.array([0.3, -0.2, 0.5, 0.1]), np.array([1.0, 10.0, 100.0, 0.5])
    x0 = rng.uniform(-1, 1, (20, 4))
    lo, hi = np.full(x0.shape, -1.0), np.full(x0.shape, 1.0)
    x, _, _, status, _, _ = _bfgsb_numpy.minimize_bfgsb_batch(coupled_quadratic(center, scale),
                                                              x0, lo, hi)
    assert np.isin(status, (_bfgsb.CONVERGED_F, _bfgsb.CONVERGED_PG)).all()
    np.testing.assert_allclose(x, np.broadcast_to(center, x0.shape), atol=1e-4)
    outside = np.array([1.7, -0.2, -3.0])
    x, *_ = _bfgsb_numpy.minimize_bfgsb_batch(
        coupled_quadratic(np.append(outside, 0.0), np.array([2.0, 1.0, 5.0, 0.0])),
        np.column_stack([x0[:, :3], np.zeros(20)]), lo, hi)
    # d f / d x_0 = 4 (x_0 - 1.7) + 0.3 (x_1 + 0.2) < 0 on the box: x_0 ends at 1, and then
    # 2 (x_1 + 0.2) + 0.3 (1 - 1.7) = 0 gives x_1 = -0.095; x_2 ends at -1
    assert np.all(x[:, 0] == 1.0) and np.all(x[:, 2] == -1.0)
    np.testing.assert_allclose(x[:, 1], -0.095, atol=1e-6)


def _both(fun, x0, lo, hi, **options):
    twin = _bfgsb_numpy.minimize_bfgsb_batch(fun, x0, lo, hi, **options)
    own = _bfgsb.minimize_bfgsb_batch(fun, x0, lo, hi, **options)
    return own, twin


def _assert_same_bits(own, twin):
    for name, a, b in zip(("x", "f", "g", "status", "nit", "nfev"), own, twin):
        assert np.array_equal(a, b, equal_nan=True), name


needs_numba = pytest.mark.skipif(not compiled.ENABLED,
                                 reason="numba is not installed (or disabled)")


@needs_numba
def test_the_twin_follows_the_compiled_iterates_on_the_test_problems():
    rng = np.random.default_rng(3)
    box = np.tile([-2.0, 2.0], (60, 5, 1))
    box[:, 0] = (1.2, 2.0)  # the unconstrained minimum is outside: a bound is active
    x0 = rng.uniform(box[..., 0], box[..., 1])
    _assert_same_bits(*_both(rosenbrock, x0, box[..., 0], box[..., 1]))
    x0 = rng.uniform(-1, 1, (30, 4))
    _assert_same_bits(*_both(coupled_quadratic(np.array([1.7, -0.2, -3.0, 0.4]),
                                               np.array([2.0, 1.0, 5.0, 30.0])),
                             x0, np.full(x0.shape, -1.0), np.full(x0.shape, 1.0)))
    fixed_lo, fixed_hi = np.array([[-1.0, 0.25, -1.0]] * 2), np.array([[1.0, 0.25, 1.0]] * 2)
    _assert_same_bits(*_both(coupled_quadratic(np.array([0.1, 0.0, 0.4]), np.ones(3)),
                             np.array([[0.9, 0.25, -0.9], [-0.5, 0.25, 0.5]]), fixed_lo, fixed_hi))


@needs_numba
def test_the_twin_follows_the_compiled_iterates_at_the_limits():
    """A start without a value, maxiter, maxfun, and the likelihood's jump at a bound."""
    x0 = np.array([[-1.5, 1.8, -0.3, 0.4, 1.1], [0.0, 0.0, 0.0, 0.0, 0.0]])
    lo, hi = np.full(x0.shape, -2.0), np.full(x0.shape, 2.0)

    def with_nan(X, problem):
        value, gradient = rosenbrock(X, problem)
        value[problem == 1] = np.nan
        return value, gradient

    own, twin = _both(with_nan, x0, lo, hi, maxiter=5)
    _assert_same_bits(own, twin)
    assert twin[3].tolist() == [_bfgsb.MAX_ITER, _bfgsb.ABNORMAL]
    own, twin = _both(rosenbrock, x0[:1], lo[:1], hi[:1], maxfun=7)
    _assert_same_bits(own, twin)
    assert twin[3][0] == _bfgsb.MAX_FUN

    def jumpy(X, problem):
        value = (X[:, 0] - 0.3) ** 2 + 10.0 * (X[:, 1] - 0.6) ** 2 + X[:, 2]
        return value, np.column_stack([2.0 * (X[:, 0] - 0.3), 20.0 * (X[:, 1] - 0.6),
                                       1e17 * (1.0 + X[:, 0] + X[:, 1])])

    _assert_same_bits(*_both(jumpy, np.array([[0.9, 0.1, 0.0]]), np.zeros((1, 3)),
                             np.ones((1, 3))))


@needs_numba
@pytest.mark.parametrize("model", ["QLearning+novel",
                                   pytest.param("Hybrid2012+novel", marks=pytest.mark.slow)])
def test_the_twin_follows_the_compiled_iterates_on_the_likelihood(model):
    """20 example participants x 3 random starts: every descent the same bits."""
    from avoidrl import load_example, make_model
    from avoidrl._core.data import load_task_data
    from avoidrl._core.likelihood import Objective

    learning, transfer = load_example()
    keep = learning["participant_id"].drop_duplicates().iloc[:20]
    data = load_task_data(learning[learning["participant_id"].isin(keep)],
                          transfer[transfer["participant_id"].isin(keep)])
    settings = make_model(model)._fit_settings()
    box = np.array([settings.bounds[name] for name in settings.variant.parameter_names])
    objective = Objective(settings.variant, data)
    owner = np.repeat(np.arange(data.n_participants), 3)
    x0 = box[:, 0] + (box[:, 1] - box[:, 0]) * np.random.default_rng(4).random((owner.size,
                                                                                 len(box)))
    lo, hi = np.broadcast_to(box[:, 0], x0.shape), np.broadcast_to(box[:, 1], x0.shape)
    own, twin = _both(lambda X, p: objective.value_and_gradient(X, owner[p]), x0, lo, hi)
    _assert_same_bits(own, twin)
    assert np.all(twin[4] > 0)  # every start descended


def test_without_numba_bfgsb_runs_on_the_twin():
    """numba unimportable: 'auto' with exact gradients and finite bounds is the BFGS-B."""
    script = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from scipy.optimize import rosen, rosen_der\n"
        "from avoidrl._core import compiled\n"
        "from avoidrl._core.optimize import minimize_lbfgsb_batch\n"
        "assert not compiled.ENABLED\n"
        "def fun(X, p):\n"
        "    return np.array([rosen(x) for x in X]), np.array([rosen_der(x) for x in X])\n"
        "x0 = np.random.default_rng(5).uniform(-2, 2, (6, 3))\n"
        "box = np.tile([-2.0, 2.0], (3, 1))\n"
        "auto = minimize_lbfgsb_batch(fun, x0, box, jac=True)\n"
        "chosen = minimize_lbfgsb_batch(fun, x0, box, jac=True, backend='bfgsb')\n"
        "assert auto.backend == chosen.backend == 'bfgsb' and auto.success.all()\n"
        "assert np.array_equal(auto.x, chosen.x)\n"
        "scipys = minimize_lbfgsb_batch(fun, x0, box, jac=True, backend='setulb')\n"
        "assert scipys.backend == 'setulb'\n"
        "assert sys.modules['numba'] is None\n"
        "print(auto.x.tobytes().hex(), auto.nfev.tolist())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    if compiled.ENABLED:  # and the same bits as the compiled step gives here
        x0 = np.random.default_rng(5).uniform(-2, 2, (6, 3))
        x, _, _, _, _, nfev = _bfgsb.minimize_bfgsb_batch(rosenbrock, x0, np.full(x0.shape, -2.0),
                                                          np.full(x0.shape, 2.0))
        assert result.stdout.split(" ", 1) == [x.tobytes().hex(), f"{nfev.tolist()}\n"]
