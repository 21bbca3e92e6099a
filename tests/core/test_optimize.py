"""Tests for avoidrl._core.optimize: batched L-BFGS-B, bit-identical to scipy."""

import importlib.util
import pathlib
import sys
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

try:
    from avoidrl._core import optimize as opt
except ImportError:  # package not importable: load the module from its file
    _path = pathlib.Path(__file__).resolve().parents[2] / "avoidrl" / "_core" / "optimize.py"
    _spec = importlib.util.spec_from_file_location("avoidrl_optimize_file", _path)
    opt = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = opt
    _spec.loader.exec_module(opt)

minimize_lbfgsb_batch = opt.minimize_lbfgsb_batch
BACKENDS = ["setulb", "scipy"]


# Objectives use element-wise column operations only, so one row or many rows
# go through exactly the same floating-point operations.
def quad_bound(X, owner=None):
    a = X[:, 0] - 2.5          # minimum outside the box -> bound active
    b = X[:, 1] + 0.3
    c = X[:, 2] - 0.7
    return (3.0 * (a * a) + b * b) + (c * c + 0.5 * (a * c))


def rosen(X, owner=None):
    tot = np.zeros(X.shape[0])
    for j in range(X.shape[1] - 1):
        a = X[:, j + 1] - X[:, j] * X[:, j]
        b = 1.0 - X[:, j]
        tot = tot + (100.0 * (a * a) + b * b)
    return tot


def min_at_lower(X, owner=None):
    # minimum at the lower bound (0, 0, 0) of the box [0, 2]^3
    a = X[:, 0] + 1.0
    b = X[:, 1] + 0.5
    c = X[:, 2]
    return (a * a + 2.0 * (b * b)) + (c + c * c)


def rosen_inf(X, owner=None):
    v = rosen(X)
    return np.where(X[:, 0] > 1.2, np.inf, v)


def _single(f):
    return lambda x: f(x[None, :])[0]


def _reference(f, x0, bounds, **options):
    """scipy.optimize.minimize problem by problem (bounds (N, k, 2))."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(len(x0)):
            out.append(minimize(_single(f), x0[i], method="L-BFGS-B",
                                bounds=[tuple(b) for b in bounds[i]],
                                options=options))
    return out


def _assert_identical(res, refs):
    k = res.x.shape[1]
    for i, ref in enumerate(refs):
        assert np.array_equal(res.x[i], ref.x), i
        assert np.array_equal(res.fun[i], ref.fun, equal_nan=True), i
        assert res.nit[i] == ref.get("nit", 0), i
        assert res.nfev[i] == ref.nfev, i
        assert res.success[i] == ref.success, i
        assert res.status[i] == ref.get("status", 0), i
        assert res.message[i] == ref.message, i
        assert np.array_equal(res.jac[i], ref.get("jac", np.full(k, np.nan)),
                              equal_nan=True), i


def _run_and_compare(f, x0, bounds, backend, **options):
    x0 = np.asarray(x0, dtype=float)
    bounds = np.asarray(bounds, dtype=float)
    b3 = np.broadcast_to(bounds, (x0.shape[0],) + bounds.shape[-2:])
    res = minimize_lbfgsb_batch(f, x0, bounds, backend=backend, **options)
    assert res.backend == backend
    _assert_identical(res, _reference(f, x0, b3, **options))
    return res


class Recorder:
    """Wraps a batched objective and records every call."""

    def __init__(self, f):
        self.f = f
        self.calls = []

    def __call__(self, X, owner):
        self.calls.append((X.copy(), owner.copy()))
        return self.f(X, owner)


# ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ["quad", pytest.param("rosen2", marks=pytest.mark.slow),
                                  pytest.param("rosen5", marks=pytest.mark.slow), "at_bound"])
def test_identical_to_scipy(case, backend):
    rng = np.random.default_rng(42)
    if case == "quad":
        f, k, bounds = quad_bound, 3, np.array([[-2.0, 2.0]] * 3)
        x0 = rng.uniform(-2, 2, (6, k))
    elif case == "rosen2":
        f, k, bounds = rosen, 2, np.array([[-2.0, 2.0], [-1.0, 3.0]])
        x0 = rng.uniform(-2, 2, (6, k))
    elif case == "rosen5":
        f, k, bounds = rosen, 5, np.array([[-2.0, 2.0]] * 5)
        x0 = rng.uniform(-2, 2, (6, k))
    else:
        f, k, bounds = min_at_lower, 3, np.array([[0.0, 2.0]] * 3)
        x0 = rng.uniform(0, 2, (6, k))
        x0[0] = 0.0                      # start at the optimum / lower bound
        x0[1] = 2.0                      # start at the upper bound
        x0[2, 0], x0[3, 1:] = 0.0, 2.0
    res = _run_and_compare(f, x0, bounds, backend)
    assert res.success.all()
    if case == "quad":
        assert np.all(res.x[:, 0] == 2.0)       # bound active
    if case == "at_bound":
        assert np.all(res.x == 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_per_problem_bounds(backend):
    rng = np.random.default_rng(1)
    n, k = 8, 3
    lo = rng.uniform(-2, 0, (n, k))
    hi = lo + rng.uniform(0.5, 3, (n, k))
    bounds = np.stack([lo, hi], axis=-1)
    bounds[2, 1] = (-np.inf, 1.0)        # half-open and unbounded variables
    bounds[3, 2] = (0.2, np.inf)
    bounds[4, 0] = (-np.inf, np.inf)
    x0 = rng.uniform(-3, 3, (n, k))      # some outside: clipped like scipy
    _run_and_compare(rosen, x0, bounds, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_objective_depends_on_owner(backend):
    # problem i belongs to participant i // 3 with its own target
    targets = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [-1.0, 1.0, 0.3]])
    part = np.repeat(np.arange(3), 3)

    def f(X, owner):
        d = X - targets[part[owner]]
        q = d[:, 2] * d[:, 2]
        return (d[:, 0] * d[:, 0] + 2.0 * (d[:, 1] * d[:, 1])) + q * q

    rng = np.random.default_rng(6)
    x0 = rng.uniform(-1, 1, (9, 3))
    bounds = np.array([[-1.2, 1.2]] * 3)
    res = minimize_lbfgsb_batch(f, x0, bounds, backend=backend)
    refs = [minimize(lambda x, i=i: f(x[None, :], np.array([i]))[0], x0[i],
                     method="L-BFGS-B", bounds=bounds) for i in range(9)]
    _assert_identical(res, refs)
    expected = np.clip(targets[part], -1.2, 1.2)
    assert np.allclose(res.x[:, :2], expected[:, :2], atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fixed_variables(backend):
    # lo == hi variables are removed as scipy.optimize.minimize does.
    rng = np.random.default_rng(2)
    n, k = 6, 3
    bounds = np.tile([-2.0, 2.0], (n, k, 1))
    bounds[0, 1] = (0.5, 0.5)
    bounds[1, [0, 2]] = (0.7, 0.7)
    bounds[2] = [(0.1, 0.1), (0.2, 0.2), (0.3, 0.3)]     # all fixed
    x0 = rng.uniform(-2, 2, (n, k))
    res = _run_and_compare(rosen, x0, bounds, backend)
    assert res.message[2] == "All independent variables were fixed by bounds."
    assert np.isnan(res.jac[0, 1]) and not np.isnan(res.jac[0, [0, 2]]).any()


def test_batch_shrinks_and_one_call_per_round():
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-2, 2, (10, 5))
    x0[0] = 1.0                          # at the optimum: finishes at once
    bounds = np.array([[-2.0, 2.0]] * 5)
    rec = Recorder(rosen)
    res = minimize_lbfgsb_batch(rec, x0, bounds, backend="setulb")
    _assert_identical(res, _reference(rosen, x0, np.broadcast_to(bounds, (10, 5, 2))))
    assert len(set(res.nit.tolist())) > 3
    # every evaluation of a problem is in its own call, all in one call a round
    assert len(rec.calls) == res.njev.max()
    rows = [X.shape[0] for X, _ in rec.calls]
    assert rows[0] == 10 * 6 and rows[-1] < rows[0]
    assert sum(rows) == res.nfev.sum()
    for X, owner in rec.calls:
        assert X.shape[0] == owner.shape[0]
        assert np.all(np.bincount(owner, minlength=10)[np.unique(owner)] == 6)
        assert np.all((X >= -2.0) & (X <= 2.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_maxiter_and_maxfun(backend):
    rng = np.random.default_rng(4)
    x0 = rng.uniform(-2, 2, (5, 3))
    bounds = np.array([[-2.0, 2.0]] * 3)
    res = _run_and_compare(rosen, x0, bounds, backend, maxiter=5)
    assert not res.success.any()
    assert set(res.message) == {"STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"}
    assert np.all(res.nit == 5) and np.all(res.status == 1)
    res = _run_and_compare(rosen, x0, bounds, backend, maxfun=30)
    assert set(res.message) == {"STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_nonfinite_objective(backend):
    rng = np.random.default_rng(5)
    x0 = rng.uniform(-2, 2, (12, 3))
    bounds = np.array([[-2.0, 2.0]] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # batch stays quiet
        res = _run_and_compare(rosen_inf, x0, bounds, backend)
    assert res.success.any() and not res.success.all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_options_and_relative_step_fallback(backend):
    # x + eps == x for x ~ 1e9 -> scipy's relative-step fallback; array eps.
    def f(X, owner=None):
        a = (X[:, 0] - 3e9) * 1e-9
        return a * a + X[:, 1] * X[:, 1]

    x0 = np.array([[1e9, 1.0], [2e9, -3.0], [5e9, 10.0]])
    bounds = np.array([[0.0, 5e9], [-10.0, 10.0]])
    _run_and_compare(f, x0, bounds, backend)
    _run_and_compare(rosen, x0[:, ::-1] * 1e-9, np.array([[-2.0, 2.0]] * 2),
                     backend, eps=np.array([1e-6, 1e-7]), maxcor=4, ftol=1e-12,
                     gtol=1e-7, maxls=5)


def test_auto_backend_and_fallback(monkeypatch):
    assert opt.setulb_available() == (True, "")
    x0 = np.array([[0.5, 0.5], [-1.0, 1.5]])
    bounds = np.array([[-2.0, 2.0]] * 2)
    assert minimize_lbfgsb_batch(rosen, x0, bounds).backend == "setulb"
    monkeypatch.setattr(opt, "_setulb_guard", lambda: (False, "test"))
    res = minimize_lbfgsb_batch(rosen, x0, bounds)
    assert res.backend == "scipy"
    _assert_identical(res, _reference(rosen, x0, np.broadcast_to(bounds, (2, 2, 2))))
    with pytest.raises(RuntimeError, match="unavailable"):
        minimize_lbfgsb_batch(rosen, x0, bounds, backend="setulb")


def test_result_access_and_validation():
    x0 = np.array([[0.5, 0.5]])
    bounds = np.array([[-2.0, 2.0]] * 2)
    res = minimize_lbfgsb_batch(rosen, x0, bounds)
    assert res["x"] is res.x and "nfev" in res.keys()
    assert res.x.shape == (1, 2) and res.jac.shape == (1, 2)
    with pytest.raises(ValueError, match="upper bound"):
        minimize_lbfgsb_batch(rosen, x0, np.array([[1.0, 0.0]] * 2))
    with pytest.raises(ValueError, match="bounds must have shape"):
        minimize_lbfgsb_batch(rosen, x0, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="maxls"):
        minimize_lbfgsb_batch(rosen, x0, bounds, maxls=0)
    with pytest.raises(ValueError, match="backend"):
        minimize_lbfgsb_batch(rosen, x0, bounds, backend="nope")
    with pytest.raises(ValueError, match="values for"):
        minimize_lbfgsb_batch(lambda X, o: np.zeros(1), x0, bounds)
