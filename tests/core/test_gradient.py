"""Exact gradients (avoidrl._core._gradient, _dual, _tangent_source) and the optimizer's use of them.

Independent checks: central finite differences of the likelihood at random
interior points of every variant the registry offers, one-sided second-order
differences at the bounds, scipy's own L-BFGS-B with the same analytic
gradient, and the finite-difference fits. The compiled tangent kernel must
give the numpy duals' gradient bit for bit. The kinks (actor weights both 0,
restarted at 0.5) are documented in avoidrl._core._dual; here the gradient
there is checked to be finite, the same on both kernels, and right in the
directions that do not move the kink.
"""

import contextlib
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from avoidrl import load_example, make_model
from avoidrl._core import _gradient, _gradient_tails, compiled, likelihood
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import Objective
from avoidrl._core.optimize import minimize_lbfgsb_batch
from avoidrl._core.transform import to_bounded
from avoidrl.hierarchical._laplace import posterior_and_gradient
from avoidrl.models import (
    BaseModel,
    by_choice,
    decayed,
    learning_rate,
    stimulus_table,
    temperature,
)
from avoidrl.models._builtin import BASE_MODELS, make_variant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
from custom_asymmetric_q import AsymmetricQ
from custom_perseveration import PerseverationQ


def _variants():
    names = []
    for base in BASE_MODELS:
        for bias, novel, decay in itertools.product((False, True), repeat=3):
            name = base + "+bias" * bias + "+novel" * novel + "+decay" * decay
            try:
                make_variant(name)
            except ValueError:  # an option the model does not offer
                continue
            names.append(name)
    return names


VARIANTS = _variants()


@pytest.fixture(scope="module")
def data():
    learning, transfer = load_example()
    keep = learning["participant_id"].drop_duplicates().iloc[:3]
    return load_task_data(learning[learning["participant_id"].isin(keep)],
                          transfer[transfer["participant_id"].isin(keep)])


@pytest.fixture
def numpy_kernel(monkeypatch):
    monkeypatch.setattr(compiled, "ENABLED", False)


@pytest.fixture
def compiled_kernel(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)


def box(variant):
    return (np.array([p.low for p in variant.parameters]),
            np.array([p.high for p in variant.parameters]))


def central_differences(objective, x, step):
    """(f(x + h e_j) - f(x - h e_j)) / 2h for every column j."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        shift = np.zeros_like(x)
        shift[:, j] = step[j]
        out[:, j] = (objective(x + shift) - objective(x - shift)) / (2.0 * step[j])
    return out


def assert_gradient_close(exact, reference, tolerance=1e-5):
    error = np.abs(exact - reference) / (1.0 + np.abs(reference))
    assert error.max() < tolerance, (error.max(), np.unravel_index(error.argmax(), error.shape))


# --------------------------------------------------------------- every variant
@pytest.mark.parametrize("name", VARIANTS)
def test_gradient_matches_central_differences(name, data, numpy_kernel):
    """At random interior points: errors ~1e-7 for steps of 1e-6 of each range."""
    variant = make_variant(name)
    objective = Objective(variant, data)
    low, high = box(variant)
    rng = np.random.default_rng(len(name))
    x = low + (high - low) * rng.uniform(0.1, 0.9, (data.n_participants, len(low)))
    value, gradient = objective.value_and_gradient(x)
    assert np.array_equal(value, objective(x))  # the value is the likelihood's, to the bit
    assert_gradient_close(gradient, central_differences(objective, x, 1e-6 * (high - low)))


def one_sided_differences(objective, x, step):
    """Second-order one-sided differences, ``step`` signed (into the box)."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        shift = np.zeros_like(x)
        shift[:, j] = step[j]
        out[:, j] = (-3.0 * objective(x) + 4.0 * objective(x + shift)
                     - objective(x + 2.0 * shift)) / (2.0 * step[j])
    return out


@pytest.mark.parametrize("name, at", [
    ("QLearning+novel+decay", "low"), ("Relative+novel", "low"), ("Advantage+decay", "low"),
    ("QLearning+novel+decay", "high"), ("Hybrid2012+bias+novel+decay", "high"),
    ("Hybrid2021+bias+novel", "high"), ("StandardHybrid2021+decay", "high")])
def test_gradient_at_the_bounds(name, at, data, numpy_kernel):
    """Every parameter on the same bound: the one-sided derivative into the box.

    Lower bounds of actor rates are left out (the restart kink, below) and so
    is a lapse rate of 0, whose slope (-1 / 2P for a tiny P) is right but too
    curved for any difference quotient.
    """
    variant = make_variant(name)
    objective = Objective(variant, data)
    low, high = box(variant)
    x = np.tile(low if at == "low" else high, (data.n_participants, 1))
    step = 1e-5 * (high - low) * (1.0 if at == "low" else -1.0)
    _, gradient = objective.value_and_gradient(x)
    assert_gradient_close(gradient, one_sided_differences(objective, x, step), 1e-4)


# ------------------------------------------------------------------ the kink
def test_gradient_where_both_actor_weights_cancel(data, numpy_kernel):
    """Both actor rates at 0.01 zero both weights on a first punished trial (restart at 0.5).

    There the likelihood jumps along the actor rates; the gradient is the
    restarted branch's (the restart is a constant): finite, and right in every
    direction that does not move the kink (here the critic rate and T).
    """
    variant = make_variant("ActorCritic+novel")
    objective = Objective(variant, data)
    names = variant.parameter_names
    x = np.tile([0.01, 0.01, 0.4, 0.1, 0.2], (data.n_participants, 1))
    batch = likelihood._Batch(objective._arrays, np.arange(data.n_participants))
    with np.errstate(invalid="ignore"):
        unguarded, _ = likelihood._numpy_differences(variant, batch, variant.theta(x), False)
    # the unguarded 0 / 0: the restart happens (for the first participant)
    assert np.isnan(unguarded[:, 0]).any()
    _, gradient = objective.value_and_gradient(x)
    assert np.isfinite(gradient).all()
    smooth = [names.index("critic_lr"), names.index("temperature"), names.index("novel_value")]
    step = 1e-6 * np.ones(len(names))
    assert_gradient_close(gradient[:, smooth],
                          central_differences(objective, x, step)[:, smooth])


def test_compiled_gradient_at_the_kink_is_the_numpy_one(data, compiled_kernel):
    variant = make_variant("Hybrid2012+novel")
    objective = Objective(variant, data)
    x = np.tile([0.3, 0.2, 0.01, 0.01, 0.4, 0.1, 0.5, 0.2], (data.n_participants, 1))
    expected = objective.value_and_gradient(x)  # first call: checked against numpy duals
    assert compiled._TANGENT_KERNELS[(variant.base, False)] is not None
    got = objective.value_and_gradient(x)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert np.isfinite(got[1]).all()


# ------------------------------------------------------ compiled == numpy duals
def compiled_and_numpy(name, data, monkeypatch, x=None):
    variant = make_variant(name)
    objective = Objective(variant, data)
    low, high = box(variant)
    if x is None:
        rng = np.random.default_rng(7)
        x = low + (high - low) * rng.uniform(0.0, 1.0, (40, len(low)))
    owner = np.arange(len(x)) % data.n_participants
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)
    objective.value_and_gradient(x[:5], owner[:5])  # compiles, and checks on these rows
    assert compiled._TANGENT_KERNELS[(variant.base, variant.bias)] is not None, name
    assert compiled._TANGENT_KERNELS[compiled.transfer_key(variant)] is not None, name
    with _duals_forbidden(monkeypatch):  # the transfer kernel runs, not the duals
        got = objective.value_and_gradient(x, owner)
    monkeypatch.setattr(compiled, "ENABLED", False)
    return got, objective.value_and_gradient(x, owner)


@contextlib.contextmanager
def _duals_forbidden(monkeypatch):
    def refuse(*args):
        raise AssertionError("transfer_values ran on duals")

    with monkeypatch.context() as patch:
        patch.setattr(_gradient, "_dual_transfer_values", refuse)
        yield


QUICK = ["Hybrid2012+novel", "ActorCritic+bias+novel"]  # the bias path; lapse and decay: slow


@pytest.mark.parametrize("name", QUICK)
def test_compiled_gradient_is_the_numpy_one_bit_for_bit(name, data, monkeypatch):
    pytest.importorskip("numba")
    got, expected = compiled_and_numpy(name, data, monkeypatch)
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


@pytest.fixture(scope="module")
def padded_data():
    """Three participants with unequal trial counts (padded rows in the batch).

    The compiled tangent kernel leaves ``D`` at 0 on padding; the numpy duals
    must too, or the kernel's first check fails and it is never used.
    """
    learning, transfer = load_example()
    keep = learning["participant_id"].drop_duplicates().iloc[:3]
    learning = learning[learning["participant_id"].isin(keep)]
    second = learning.index[learning["participant_id"] == keep.iloc[1]]
    learning = learning.drop(index=list(second[[3, 10, 40]]) + list(second[-7:]))
    padded = load_task_data(learning, transfer[transfer["participant_id"].isin(keep)])
    assert padded.padded
    return padded


@pytest.mark.parametrize("name", QUICK)  # their kernels are compiled for the test above
def test_compiled_gradient_on_padded_data_is_the_numpy_one(name, padded_data, monkeypatch):
    pytest.importorskip("numba")
    spy = []
    tails = _gradient_tails.value_and_gradient
    monkeypatch.setattr(_gradient_tails, "value_and_gradient",
                        lambda *args: spy.append(1) or tails(*args))
    got, expected = compiled_and_numpy(name, padded_data, monkeypatch)
    # the compiled tails take the choice rule without lapse; with lapse, numpy's run
    assert bool(spy) == (not make_variant(name).base.lapse)
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


class _NaNEmpty:
    """numpy, but ``empty`` float arrays are full of NaN: unwritten entries show."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float):
        return np.full(shape, np.nan, dtype=dtype)


@pytest.mark.parametrize("name", ["Hybrid2012+novel"])  # novel: a column the kernel cannot see
def test_tangent_kernel_writes_every_entry_of_its_outputs(name, padded_data, monkeypatch):
    """compiled_parts hands the kernel uninitialised arrays: every entry must be written."""
    pytest.importorskip("numba")
    variant = make_variant(name)
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)
    kernel = compiled.tangent_kernel_for(variant, 10**6)
    batch = likelihood._Batch(Objective(variant, padded_data)._arrays, np.arange(3))
    low, high = box(variant)
    params = low + (high - low) * np.random.default_rng(3).uniform(0.1, 0.9, (3, len(low)))
    expected = _gradient._numpy_parts(variant, batch, params)
    with monkeypatch.context() as patch:
        patch.setattr(_gradient, "np", _NaNEmpty())
        got = _gradient.compiled_parts(kernel, variant, batch, params)
    assert got is not None, "a difference entry was left unwritten (NaN)"
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in VARIANTS if n not in QUICK])
def test_compiled_gradient_is_the_numpy_one_for_every_variant(name, data, monkeypatch):
    pytest.importorskip("numba")
    got, expected = compiled_and_numpy(name, data, monkeypatch)
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


# ---------------------------------------------------------- transfer kernel
def final_state(variant, data, seed, n=30):
    """Random parameters and the final state they reach (numpy duals)."""
    objective = Objective(variant, data)
    low, high = box(variant)
    x = low + (high - low) * np.random.default_rng(seed).uniform(0.05, 0.95, (n, len(low)))
    batch = likelihood._Batch(objective._arrays, np.arange(n) % data.n_participants)
    return x, _gradient._numpy_parts(variant, batch, x)[2]


@pytest.mark.parametrize("name", ["QLearning+novel+decay", "Relative", "ActorCritic+bias+novel",
                                  "Hybrid2021+bias+novel+decay", "StandardHybrid2012+decay"])
def test_transfer_kernel_is_transfer_values_and_its_duals(name, data, monkeypatch):
    """Values: plain numpy ``transfer_values`` to the bit; tangents: the duals' to the bit.

    The option parameters do not reach the state, so their columns are also
    checked against central differences of the plain values.
    """
    pytest.importorskip("numba")
    variant = make_variant(name)
    x, state = final_state(variant, data, len(name))
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)
    kernel = compiled.transfer_kernel_for(variant, len(x))
    assert kernel is not None
    got = _gradient._compiled_transfer_values(kernel, x, _gradient._stacked(variant, state))
    plain = {n: s.value for n, s in state.items()}

    def values(points):
        return variant.transfer_values(plain, variant.theta(points))

    assert np.array_equal(got.value, values(x))
    assert np.array_equal(got.tangent, _gradient._dual_transfer_values(variant, x, state).tangent)
    for j, parameter in enumerate(variant.parameter_names):
        if parameter in ("novel_value", "decay_factor"):
            shift = np.zeros_like(x)
            shift[:, j] = 1e-6
            numeric = (values(x + shift) - values(x - shift)) / 2e-6
            np.testing.assert_allclose(got.tangent[:, :, j], numeric, atol=1e-8)


def test_actor_critic_transfer_kernel_only_copies():
    """ActorCritic's transfer values are the weights and N itself: no operation, no parameter.

    Without +novel nothing depends on a parameter through N, so N's tangent is never written.
    """
    from avoidrl._core._tangent_source import generate_transfer

    source = generate_transfer(make_variant("ActorCritic"))
    assert " _v" not in source and "params[" not in source
    assert "values[b, 8] = 0.0" in source and "d_values[b, 8," not in source
    assert "d_values[b, 0, 0] = state_0_0_p0__d0" in source
    novel = generate_transfer(make_variant("ActorCritic+novel"))
    assert "d_values[b, 8, 4] = theta_4__d4" in novel


def test_gradient_is_the_same_for_any_batch(data, numpy_kernel):
    """A row's gradient does not depend on the rows evaluated with it (n_jobs, chunks)."""
    variant = make_variant("Hybrid2021+bias+novel")
    objective = Objective(variant, data)
    low, high = box(variant)
    x = low + (high - low) * np.random.default_rng(3).uniform(size=(300, len(low)))
    owner = np.arange(300) % data.n_participants
    _, together = objective.value_and_gradient(x, owner)
    alone = np.vstack([objective.value_and_gradient(x[i:i + 1], owner[i:i + 1])[1]
                       for i in (0, 1, 257, 299)])
    assert np.array_equal(together[[0, 1, 257, 299]], alone)


# ----------------------------------------------------------------- user models
class OneRateQ(BaseModel):
    """A user model the tracer can compile: one learning rate for both options."""

    parameters = (learning_rate("lr", 0.3, "learning rate"), temperature(0.1))
    state_names = ("q",)
    value_systems = ("q",)
    allows_bias = False

    def prepare(self, theta, chose1, outcome):
        return {"lr": by_choice(chose1, theta["lr"], theta["lr"]), "target": outcome}

    def update(self, state, step, t, theta, scratch, guard=True):
        errors = step["target"][t] - state["q"]
        state["q"] += np.multiply(step["lr"][t], np.sqrt(errors * errors + 1.0) - 1.0 + errors,
                                  scratch)
        return {"pe": errors}

    def transfer_values(self, state, theta, novel, decay):
        return decayed(stimulus_table(state["q"], novel), decay)


@pytest.mark.parametrize("model", [AsymmetricQ(), PerseverationQ(), OneRateQ()],
                         ids=["AsymmetricQ", "PerseverationQ", "OneRateQ"])
def test_a_user_model_gets_its_gradient(model, data, monkeypatch):
    """Numpy duals for all; compiled learning and transfer kernels where traceable.

    AsymmetricQ branches on values: neither kernel (the transfer kernel needs
    the learning trace's state dependencies).
    """
    from avoidrl.models._registry import ModelVariant

    variant = ModelVariant(model, novel=True, decay=True)
    objective = Objective(variant, data)
    low, high = box(variant)
    x = low + (high - low) * np.random.default_rng(1).uniform(0.1, 0.9, (3, len(low)))
    monkeypatch.setattr(compiled, "ENABLED", False)
    value, gradient = objective.value_and_gradient(x)
    assert np.array_equal(value, objective(x))
    assert_gradient_close(gradient, central_differences(objective, x, 1e-6 * (high - low)))
    if not compiled.AVAILABLE:
        return
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)
    objective.value_and_gradient(x)
    learning = compiled._TANGENT_KERNELS[(model, False)]
    transfer = compiled._TANGENT_KERNELS[compiled.transfer_key(variant)]
    # AsymmetricQ branches on values: no trace, so no state dependencies for a transfer kernel
    assert (learning is None) == (transfer is None) == isinstance(model, AsymmetricQ)
    with _duals_forbidden(monkeypatch) if transfer else contextlib.nullcontext():
        assert np.array_equal(objective.value_and_gradient(x)[1], gradient)


class ExpTransferQ(OneRateQ):
    """Traceable learning; a transfer phase the tracer refuses (numba's exp is not numpy's)."""

    name = "ExpTransferQ"

    def transfer_values(self, state, theta, novel, decay):
        return np.exp(decayed(stimulus_table(state["q"], novel), decay))


def test_an_untraceable_transfer_phase_keeps_the_duals(data, monkeypatch):
    pytest.importorskip("numba")
    from avoidrl._core._trace import NotTraceable, trace_transfer
    from avoidrl.models._registry import ModelVariant

    variant = ModelVariant(ExpTransferQ(), novel=True, decay=True)
    with pytest.raises(NotTraceable, match="transfer_values"):
        trace_transfer(variant)
    objective = Objective(variant, data)
    low, high = box(variant)
    x = low + (high - low) * np.random.default_rng(4).uniform(0.1, 0.9,
                                                              (data.n_participants, len(low)))
    monkeypatch.setattr(compiled, "ENABLED", False)
    expected = objective.value_and_gradient(x)
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)
    objective.value_and_gradient(x)
    assert compiled._TANGENT_KERNELS[(variant.base, False)] is not None
    assert compiled._TANGENT_KERNELS[compiled.transfer_key(variant)] is None
    got = objective.value_and_gradient(x)
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


class ClippedQ(OneRateQ):
    """Uses a numpy function dual numbers do not take (np.clip): forward differences."""

    def update(self, state, step, t, theta, scratch, guard=True):
        errors = step["target"][t] - state["q"]
        state["q"] += np.multiply(step["lr"][t], np.clip(errors, -0.9, 0.9), scratch)
        return {"pe": errors}


def test_a_declaration_duals_cannot_run_falls_back_to_forward_differences(data, numpy_kernel):
    from avoidrl.models._registry import ModelVariant

    variant = ModelVariant(ClippedQ(), novel=True)
    objective = Objective(variant, data)
    low, high = box(variant)
    x = low + (high - low) * np.random.default_rng(2).uniform(0.1, 0.9, (3, len(low)))
    value, gradient = objective.value_and_gradient(x)
    assert np.array_equal(value, objective(x)) and not objective._duals_work
    assert_gradient_close(gradient, central_differences(objective, x, 1e-6 * (high - low)), 1e-4)


# ------------------------------------------------------------------ optimizer
def quadratic(X, owner=None):
    a, b, c = X[:, 0] - 2.5, X[:, 1] + 0.3, X[:, 2] - 0.7
    value = (3.0 * (a * a) + b * b) + (c * c + 0.5 * (a * c))
    gradient = np.column_stack([6.0 * a + 0.5 * c, 2.0 * b, 2.0 * c + 0.5 * a])
    return value, gradient


@pytest.mark.parametrize("backend", ["setulb", "scipy"])
@pytest.mark.parametrize("fixed", [False, True])
def test_optimizer_with_exact_gradient_is_scipy_with_jac(backend, fixed):
    """One point per evaluation, and scipy's iterates with ``jac=True`` bit for bit."""
    x0 = np.array([[0.1, 0.5, -1.0], [1.9, -0.9, 0.3], [0.0, 0.0, 0.0]])
    bounds = np.tile([[-1.0, 2.0], [-1.0, 1.0], [-2.0, 2.0]], (3, 1, 1))
    if fixed:
        bounds[1, 1] = (0.25, 0.25)
    calls = []

    def fun(X, owner):
        calls.append(len(X))
        return quadratic(X)

    result = minimize_lbfgsb_batch(fun, x0, bounds, backend=backend, jac=True)
    for i in range(len(x0)):
        free = bounds[i, :, 0] < bounds[i, :, 1]

        def single(z, i=i, free=free):
            point = bounds[i, :, 0].copy()
            point[free] = z
            value, gradient = quadratic(point[None, :])
            return value[0], gradient[0, free]

        reference = minimize(single, np.clip(x0[i], *bounds[i].T)[free], jac=True,
                             method="L-BFGS-B", bounds=bounds[i][free])
        assert np.array_equal(result.x[i, free], reference.x)
        assert result.fun[i] == reference.fun and result.nit[i] == reference.nit
        assert result.nfev[i] == reference.nfev and result.message[i] == reference.message
    assert sum(calls) == result.nfev.sum()


# ---------------------------------------------------------------- fits, E-step
def test_exact_and_finite_difference_fits_agree_where_the_optimum_is_clear():
    learning, transfer = load_example()
    keep = learning["participant_id"].drop_duplicates().iloc[:4]
    frames = (learning[learning["participant_id"].isin(keep)],
              transfer[transfer["participant_id"].isin(keep)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {g: make_model("QLearning+novel", random_state=0, gradient=g).fit(*frames)
                for g in ("exact", "finite-difference")}
    np.testing.assert_allclose(fits["exact"].nll_, fits["finite-difference"].nll_, atol=1e-4)
    np.testing.assert_allclose(fits["exact"].params_, fits["finite-difference"].params_,
                               atol=2e-3)
    # the exact gradient costs one evaluation per point, not 1 + k
    assert fits["exact"].fits_["n_fev"].sum() < fits["finite-difference"].fits_["n_fev"].sum() / 2


@pytest.mark.parametrize("bad", ["forward", None, 1])
def test_gradient_setting_is_checked(bad):
    with pytest.raises(ValueError, match="gradient must be one of"):
        make_model("QLearning", gradient=bad)._fit_settings()


def test_posterior_gradient_in_z(data, numpy_kernel):
    """The E-step's objective in z: NLL(x(z)) plus the Gaussian prior, and its gradient."""
    variant = make_variant("Hybrid2012+novel")
    objective = Objective(variant, data)
    low, high = box(variant)
    k = len(low)
    rng = np.random.default_rng(5)
    mean = rng.normal(size=k)
    root = rng.normal(size=(k, k))
    precision = root @ root.T / k + np.eye(k)
    z = rng.normal(size=(data.n_participants, k))
    rows = np.arange(data.n_participants)
    value, gradient = posterior_and_gradient(objective, z, rows, low, high, mean, precision)
    deviation = z - mean

    def posterior(points):
        d = points - mean
        return objective(to_bounded(points, low, high), rows) \
            + 0.5 * np.einsum("bi,ij,bj->b", d, precision, d)

    assert np.array_equal(value, objective(to_bounded(z, low, high), rows) + 0.5 * np.einsum(
        "bi,ij,bj->b", deviation, precision, deviation))
    assert_gradient_close(gradient, central_differences(posterior, z, 1e-6 * np.ones(k)))
