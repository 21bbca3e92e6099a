"""The BFGS-B (exact-gradient backend): closed forms, SciPy's optima, batches.

Every test runs on the compiled step (needs numba) and on its numpy twin
(compiled kernels switched off), which 'bfgsb' takes without numba.
"""

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der

from avoidrl._core import compiled
from avoidrl._core.optimize import minimize_lbfgsb_batch


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def engine(request, monkeypatch):
    """The compiled BFGS-B step where numba runs, then the numpy twin."""
    if request.param == "compiled":
        if not compiled.AVAILABLE:
            pytest.skip("numba is not installed")
        monkeypatch.setattr(compiled, "ENABLED", True)
    else:
        monkeypatch.setattr(compiled, "ENABLED", False)
    return request.param


def quadratic(center, scale):
    """f = sum scale_i (x_i - c_i)^2 + 0.3 (x_0 - c_0)(x_1 - c_1): minimum at c, unbounded."""
    def fun(X, problem):
        d = X - center
        value = (scale * d * d).sum(axis=1) + 0.3 * d[:, 0] * d[:, 1]
        gradient = 2.0 * scale * d
        gradient[:, 0] += 0.3 * d[:, 1]
        gradient[:, 1] += 0.3 * d[:, 0]
        return value, gradient
    return fun


def rosenbrock(X, problem):
    return np.array([rosen(x) for x in X]), np.array([rosen_der(x) for x in X])


def test_interior_minimum_of_a_quadratic():
    center = np.array([0.3, -0.2, 0.5, 0.1])
    scale = np.array([1.0, 10.0, 100.0, 0.5])
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, (20, 4))
    box = np.tile([-1.0, 1.0], (4, 1))
    result = minimize_lbfgsb_batch(quadratic(center, scale), x0, box, jac=True,
                                   backend="bfgsb")
    assert result.backend == "bfgsb" and result.success.all()
    # f's relative reduction stops it (ftol 2.2e-9): |x - c| ~ sqrt(ftol / scale) <= 1e-4
    np.testing.assert_allclose(result.x, np.broadcast_to(center, x0.shape), atol=1e-4)
    assert np.all(result.fun < 1e-8)


def test_minimum_on_the_bounds_is_the_projected_one():
    """A separable quadratic whose minimum lies outside the box: the answer is its projection."""
    center = np.array([1.7, -0.2, -3.0])
    scale = np.array([2.0, 1.0, 5.0])

    def separable(X, problem):
        d = X - center
        return (scale * d * d).sum(axis=1), 2.0 * scale * d

    x0 = np.random.default_rng(1).uniform(-1, 1, (15, 3))
    box = np.tile([-1.0, 1.0], (3, 1))
    result = minimize_lbfgsb_batch(separable, x0, box, jac=True, backend="bfgsb")
    assert result.success.all()
    np.testing.assert_allclose(result.x, np.broadcast_to([1.0, -0.2, -1.0], x0.shape),
                               atol=1e-6)
    # the variables held at their bounds end exactly on them
    assert np.all(result.x[:, 0] == 1.0) and np.all(result.x[:, 2] == -1.0)


def test_never_worse_than_scipy_on_rosenbrock_in_a_box():
    rng = np.random.default_rng(2)
    k, n = 5, 60
    box = np.tile([-2.0, 2.0], (k, 1))
    box[0] = (1.2, 2.0)  # the unconstrained minimum (1, ..., 1) is outside: a bound is active
    x0 = rng.uniform(box[:, 0], box[:, 1], (n, k))
    result = minimize_lbfgsb_batch(rosenbrock, x0, box, jac=True, backend="bfgsb")
    reference = np.array([minimize(rosen, x, jac=rosen_der, method="L-BFGS-B",
                                   bounds=box).fun for x in x0])
    assert np.all(result.fun <= reference + 1e-7)
    assert np.all(result.x[:, 0] >= 1.2)


def test_a_problem_ends_the_same_alone_and_in_any_batch():
    rng = np.random.default_rng(3)
    box = np.tile([-2.0, 2.0], (4, 1))
    x0 = rng.uniform(-2, 2, (12, 4))
    together = minimize_lbfgsb_batch(rosenbrock, x0, box, jac=True, backend="bfgsb")
    for i in (0, 5, 11):
        alone = minimize_lbfgsb_batch(rosenbrock, x0[i:i + 1], box, jac=True, backend="bfgsb")
        assert np.array_equal(alone.x[0], together.x[i])
        assert alone.nit[0] == together.nit[i] and alone.nfev[0] == together.nfev[i]
    reordered = minimize_lbfgsb_batch(rosenbrock, x0[::-1], box, jac=True, backend="bfgsb")
    assert np.array_equal(reordered.x[::-1], together.x)


def test_fixed_variable_stays_at_its_value():
    box = np.array([[-1.0, 1.0], [0.25, 0.25], [-1.0, 1.0]])
    x0 = np.array([[0.9, 0.25, -0.9], [-0.5, 0.25, 0.5]])
    result = minimize_lbfgsb_batch(quadratic(np.array([0.1, 0.0, 0.4]), np.ones(3)), x0, box,
                                   jac=True, backend="bfgsb")
    assert np.all(result.x[:, 1] == 0.25) and result.success.all()
    # the free variables' optimum given x_1 = 0.25: d f / d x_0 = 2 (x_0 - 0.1) + 0.3 * 0.25 = 0
    np.testing.assert_allclose(result.x[:, 0], 0.1 - 0.0375, atol=1e-6)


def test_limits_and_a_start_without_a_value():
    box = np.tile([-2.0, 2.0], (5, 1))
    x0 = np.array([[-1.5, 1.8, -0.3, 0.4, 1.1], [0.0, 0.0, 0.0, 0.0, 0.0]])

    def with_nan(X, problem):
        value, gradient = rosenbrock(X, problem)
        value[problem == 1] = np.nan
        return value, gradient

    result = minimize_lbfgsb_batch(with_nan, x0, box, jac=True, backend="bfgsb", maxiter=5)
    assert result.nit[0] == 5 and result.status[0] == 1
    assert "ITERATIONS" in result.message[0]
    assert result.status[1] == 2 and np.array_equal(result.x[1], x0[1])
    capped = minimize_lbfgsb_batch(rosenbrock, x0[:1], box, jac=True, backend="bfgsb",
                                   maxfun=7)
    assert capped.nfev[0] <= 7 and "EVALUATIONS" in capped.message[0]


def test_a_jump_at_a_bound_does_not_stall_the_descent():
    """A huge gradient at a bound (as the actor's normalisation gives) must not freeze the model.

    f = (x0 - 0.3)^2 + 10 (x1 - 0.6)^2 + jump(x2), where x2 sits at its lower
    bound 0 with a gradient of 1e17 that changes from point to point: the
    descent of (x0, x1) still ends at the minimum in a few dozen evaluations.
    """
    def jumpy(X, problem):
        value = (X[:, 0] - 0.3) ** 2 + 10.0 * (X[:, 1] - 0.6) ** 2 + X[:, 2]
        gradient = np.column_stack([2.0 * (X[:, 0] - 0.3), 20.0 * (X[:, 1] - 0.6),
                                    1e17 * (1.0 + X[:, 0] + X[:, 1])])
        return value, gradient

    box = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    result = minimize_lbfgsb_batch(jumpy, np.array([[0.9, 0.1, 0.0]]), box, jac=True,
                                   backend="bfgsb")
    assert result.success[0] and result.nfev[0] < 60
    np.testing.assert_allclose(result.x[0], [0.3, 0.6, 0.0], atol=1e-5)


def test_backend_choice():
    """'auto' takes the BFGS-B for exact gradients and finite bounds, with numba or without."""
    box = np.tile([-1.0, 1.0], (2, 1))
    fun = quadratic(np.zeros(2), np.ones(2))
    assert minimize_lbfgsb_batch(fun, np.full((1, 2), 0.5), box, jac=True).backend == "bfgsb"
    # forward differences and infinite bounds stay with SciPy's L-BFGS-B
    value_only = minimize_lbfgsb_batch(lambda X, p: fun(X, p)[0], np.full((1, 2), 0.5), box)
    assert value_only.backend != "bfgsb"
    unbounded = minimize_lbfgsb_batch(fun, np.full((1, 2), 0.5), None, jac=True)
    assert unbounded.backend != "bfgsb"
    with pytest.raises(ValueError, match="exact gradients"):
        minimize_lbfgsb_batch(lambda X, p: fun(X, p)[0], np.full((1, 2), 0.5), box,
                              backend="bfgsb")
