"""Declare your own models: parameters, latent state and the trial update.

A model is a small class: its free parameters (:class:`Parameter`, each with
default bounds, a start value and a valid domain), the names of its latent
state, and three methods: :meth:`BaseModel.prepare` (per-trial inputs, all
trials at once), :meth:`BaseModel.update` (one trial of learning, in place)
and :meth:`BaseModel.transfer_values` (the nine stimulus values of the
transfer phase). The same declaration serves the batched likelihood kernel
(actions read from data) and the simulator (actions drawn from the model), so
no equation is written twice. The eight built-in models are written with
this API (see ``avoidrl/models/_builtin.py``).

:func:`check_model` checks a declaration the way scikit-learn's
``check_estimator`` checks an estimator; :func:`make_estimator` returns a
scikit-learn estimator (:class:`avoidrl.estimators.CustomModel`) that fits,
scores, simulates and recovers it like a built-in model. A model in an
importable module can also be named by its import path, e.g.
``make_model("mypackage.models:AsymmetricQ+novel")`` or
``avoidrl fit --models mypackage.models:AsymmetricQ``.

Examples
--------
Q-learning with one learning rate for both options:

>>> import numpy as np
>>> from avoidrl.models import (BaseModel, by_choice, decayed, delta_rule, learning_rate,
...                             make_estimator, stimulus_table, temperature)
>>> class OneRateQ(BaseModel):
...     parameters = (learning_rate("lr", 0.3, "learning rate of both options"),
...                   temperature(0.06))
...     state_names = ("q",)
...     value_systems = ("q",)
...
...     def prepare(self, theta, chose1, outcome):
...         return {"lr": by_choice(chose1, theta["lr"], theta["lr"]), "target": outcome}
...
...     def update(self, state, step, t, theta, scratch, guard=True):
...         return {"pe": delta_rule(state["q"], step["target"][t], step["lr"][t], scratch)}
...
...     def transfer_values(self, state, theta, novel, decay):
...         return decayed(stimulus_table(state["q"], novel), decay)
>>> make_estimator(OneRateQ, novel=True, n_starts=2)
CustomModel(model=OneRateQ(), n_starts=2, novel=True)

In the tests of the package that defines the model (at module level, so
that it pickles), ``check_model(OneRateQ)`` raises a ValueError naming any
problem of the declaration.
"""

from __future__ import annotations

import itertools
import pickle
from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.task import N_PAIRS
from ._declare import (  # noqa: F401  (the public declaration API)
    N_STIMULI, OPTION_PARAMETERS, UNIT, BaseModel, Parameter, both_options, by_choice,
    decayed, delta_rule, learning_rate, stimulus_table, temperature,
)
from ._builtin import ModelVariant, check_declaration, check_options, register_model

if TYPE_CHECKING:
    from ..estimators import CustomModel

__all__ = [
    "Parameter", "BaseModel", "learning_rate", "temperature", "by_choice", "both_options",
    "delta_rule", "stimulus_table", "decayed", "check_model", "make_estimator",
    "OPTION_PARAMETERS", "N_PAIRS", "N_STIMULI",
]

def _tiny_inputs(rng, n_steps, batch):
    chose1 = rng.random((n_steps, batch, N_PAIRS)) < 0.5
    sign = np.array([1.0, 1.0, -1.0, -1.0])  # reward pairs win +1, loss pairs lose -1
    outcome = sign * (rng.random((n_steps, 2, batch, N_PAIRS)) < 0.5)
    return chose1, outcome


def _check_shapes(model, variant, rng):
    """Run prepare / update / mix_values / transfer_values on a tiny batch."""
    from .._core.likelihood import expand_parameters

    name = model.name
    n_steps, batch = 5, 3
    shape = (2, batch, N_PAIRS)
    chose1, outcome = _tiny_inputs(rng, n_steps, batch)
    low = np.array([p.low for p in variant.parameters])
    high = np.array([p.high for p in variant.parameters])
    theta = variant.theta(low + (high - low) * rng.random((batch, len(low))))
    full = expand_parameters(theta, N_PAIRS)
    pair = {k: v[0] for k, v in full.items()}

    step = model.prepare(pair, chose1, outcome)
    if not hasattr(step, "items"):
        raise ValueError(f"{name}.prepare must return a dict of arrays, got "
                         f"{type(step).__name__}")
    for key, value in step.items():
        if np.ndim(value) < 1 or np.shape(value)[0] != n_steps:
            raise ValueError(
                f"{name}.prepare: step[{key!r}] has shape {np.shape(value)}; every entry needs "
                f"a leading time axis (here n_steps={n_steps}), e.g. shape "
                f"({n_steps}, 2, {batch}, 4)")
    state = model.initial_state((batch, N_PAIRS))
    entries = dict(state)
    scratch = np.empty(shape)
    for t in range(n_steps):
        errors = model.update(state, step, t, full, scratch, True)
        if not hasattr(errors, "items") or "pe" not in errors:
            raise ValueError(f"{name}.update must return a dict of prediction errors with "
                             f"at least 'pe', got {errors!r:.80}")
        for key, value in errors.items():
            if np.shape(value) != shape:
                raise ValueError(f"{name}.update: errors[{key!r}] has shape {np.shape(value)}, "
                                 f"expected {shape} (option x batch x pair)")
        if set(state) != set(entries) or any(state[k] is not entries[k] for k in entries):
            raise ValueError(f"{name}.update must change the state entries in place (e.g. "
                             "state['q'] += ..., or delta_rule), not replace or add them: the "
                             "likelihood kernel holds references to them")
        for key, value in state.items():
            if value.shape != shape or not np.isfinite(value).all():
                raise ValueError(f"{name}.update: state[{key!r}] is not finite with shape "
                                 f"{shape} after trial {t}")
            if key in model.pair_states and not np.array_equal(value[0], value[1]):
                raise ValueError(f"{name}: pair state {key!r} differs between its two option "
                                 "rows; a per-pair state holds the same value in both")
    for differences_shape in ((n_steps, batch, N_PAIRS), (batch, N_PAIRS)):
        differences = [rng.standard_normal(differences_shape) for _ in model.value_systems]
        mixed = model.mix_values(differences, full)
        if np.shape(mixed) != differences_shape:
            raise ValueError(f"{name}.mix_values returned shape {np.shape(mixed)} for "
                             f"differences of shape {differences_shape}; expected the same")
    novel = theta["novel_value"]
    decay = theta.get("decay_factor")
    values = model.transfer_values(state, theta, novel, decay)
    if np.shape(values) != (batch, N_STIMULI) or not np.isfinite(values).all():
        raise ValueError(f"{name}.transfer_values must return finite values of shape "
                         f"(batch, {N_STIMULI}) (stimuli A-H, N; see stimulus_table), got "
                         f"shape {np.shape(values)}")

    # The simulator prepares one trial at a time: that must give the same state.
    stepwise = model.initial_state((batch, N_PAIRS))
    for t in range(n_steps):
        model.update(stepwise, model.prepare(pair, chose1[t:t + 1], outcome[t:t + 1]), 0,
                     full, scratch, True)
    for key in state:
        if not np.allclose(state[key], stepwise[key], rtol=1e-12, atol=1e-12):
            raise ValueError(
                f"{name}.prepare: state[{key!r}] differs when trials are prepared one at a "
                "time (as the simulator does) from all at once; each trial's inputs must "
                "depend on that trial's data only (carry anything else in the state)")


def _corners(variant, rng, max_exhaustive=10, n_sampled=1024):
    low = np.array([p.low for p in variant.parameters])
    high = np.array([p.high for p in variant.parameters])
    k = len(low)
    if k <= max_exhaustive:
        pick = np.array(list(itertools.product((0, 1), repeat=k)), dtype=bool)
    else:
        pick = rng.random((n_sampled, k)) < 0.5
    return np.where(pick, high, low)


def _check_likelihood(model, variant, data, rng):
    from .._core.likelihood import negative_log_likelihood

    name = variant.name
    corners = _corners(variant, rng)
    init = np.array([[p.init for p in variant.parameters]])
    params = np.concatenate([init, corners])
    n = data.n_participants
    rows = np.repeat(params, n, axis=0)
    owner = np.tile(np.arange(n), len(params))
    learning, transfer = negative_log_likelihood(variant, data, rows, owner)
    total = learning + transfer
    bad = np.flatnonzero(~np.isfinite(total) | (learning < 0) | (transfer < 0))
    if bad.size:
        i = bad[0]
        where = "at the start values" if i < n else "at a corner of the bounds"
        values = dict(zip(variant.parameter_names, np.round(rows[i], 6).tolist()))
        raise ValueError(
            f"{name}: the likelihood is not a finite non-negative number {where} "
            f"(learning {learning[i]!r}, transfer {transfer[i]!r}) for example participant "
            f"{data.participants[owner[i]]!r} at {values}; {bad.size} of {len(rows)} "
            "evaluations failed")
    # Batch rows must not interact: a row's NLL is the same alone.
    for i in rng.choice(len(rows), size=min(4, len(rows)), replace=False):
        alone = sum(negative_log_likelihood(variant, data, rows[i:i + 1], owner[i:i + 1]))
        if not np.isclose(alone[0], total[i], rtol=1e-10, atol=1e-10):
            raise ValueError(f"{name}: a batch row's likelihood changes with the other rows "
                             f"of the batch ({alone[0]!r} alone, {total[i]!r} in a batch); "
                             "rows must not share or mix state")


def _check_simulation(model, variant, data, rng):
    from .._core.simulate import simulate_choices

    name = variant.name
    init = np.array([[p.init for p in variant.parameters]] * data.n_participants)
    learning, transfer = simulate_choices(variant, data, init, np.random.RandomState(0))
    if learning.shape != data.choice.shape or transfer.shape != data.transfer_choice.shape \
            or not np.isin(learning, (0.0, 1.0)).all() or not np.isin(transfer, (0.0, 1.0)).all():
        raise ValueError(f"{name}: the simulator did not give 0/1 choices of the data's shape")
    try:
        estimator = make_estimator(model, **variant_options(variant))
        estimator.sample(n_participants=2, trials_per_pair=4, transfer_repeats=1,
                         random_state=0)
    except Exception as exc:  # say which step failed; the traceback keeps the cause
        raise ValueError(f"{name}: simulating through the estimator failed: {exc}") from exc


def variant_options(variant):
    """The options of a model variant, ``{'bias': .., 'novel': .., 'decay': ..}``."""
    return {"bias": variant.bias, "novel": variant.novel, "decay": variant.decay}


def check_model(model: BaseModel | type[BaseModel], n_participants: int = 3,
                random_state: int = 0) -> None:
    """Check a model declaration; raise a ValueError that names the first problem.

    In the spirit of scikit-learn's ``check_estimator``: run it on a new model
    (in a test) before fitting it. It checks

    * the declaration: a name usable in model names (an identifier, not a
      built-in model's), parameters that are :class:`Parameter` objects with
      unique identifier names, none of them an option's parameter
      (valence_factor, novel_value, decay_factor), bounds finite with
      low < high within the domain and start values within the bounds (the
      Parameter itself checks these), ``temperature`` present,
      ``noise_factor`` present exactly when ``lapse``; state names, pair
      states, value systems, initial values and ``nests`` consistent;
    * the methods on a tiny random batch: ``prepare`` returns arrays with a
      leading time axis, ``update`` changes the state in place, keeps it
      finite and of shape (2, batch, 4) (pair states equal in both option
      rows) and returns prediction errors of that shape including ``"pe"``,
      ``mix_values`` keeps the differences' shape, ``transfer_values``
      returns finite (batch, 9) values, and preparing trials one at a time
      (as the simulator does) gives the same state as all at once;
    * the likelihood, with every option the model takes switched on, on the
      first ``n_participants`` participants of :func:`avoidrl.load_example`:
      finite and non-negative at the start values and at every corner of the
      bounds (a sample of 1,024 corners when there are more than 10
      parameters), and the same for a row alone as within a batch;
    * the simulator: it draws 0/1 choices, and the estimator
      (:func:`make_estimator`) samples data;
    * pickling (parallel fits and saved estimators need it): the class must
      be importable, i.e. defined at module level.

    Parameters
    ----------
    model : BaseModel subclass or instance
    n_participants : int, default=3
        Example participants the likelihood and the simulator run on.
    random_state : int, default=0
        Seeds the tiny batch and the corner sample.

    Raises
    ------
    ValueError
    """
    from .._core.data import load_task_data
    from ..datasets import load_example

    model = check_declaration(model)
    rng = np.random.default_rng(random_state)
    variant = ModelVariant(model, bias=bool(model.allows_bias), novel=True,
                           decay=bool(model.has_q_values))
    check_options(model, variant.bias, variant.decay)
    _check_shapes(model, variant, rng)
    data = load_task_data(*load_example())
    data = data.subset(np.arange(min(n_participants, data.n_participants)))
    _check_likelihood(model, variant, data, rng)
    _check_simulation(model, variant, data, rng)
    try:
        copy = pickle.loads(pickle.dumps(model))
    except Exception as exc:
        raise ValueError(
            f"{model.name} cannot be pickled ({exc}); define the class at module level of an "
            "importable module, so that parallel fits (n_jobs) and saved estimators find "
            "it") from None
    if type(copy) is not type(model):
        raise ValueError(f"{model.name}: unpickling gave a {type(copy).__name__}")


def make_estimator(model: BaseModel | type[BaseModel], **params: Any) -> CustomModel:
    """A scikit-learn estimator of a declared model: ``CustomModel(model=model(), **params)``.

    The model's name also becomes usable in :func:`avoidrl.make_model`
    (``make_model("Name+novel")``) in this session.

    Parameters
    ----------
    model : BaseModel subclass or instance
    **params
        The estimator's parameters: ``novel``, ``decay`` (models with Q
        values), ``bias`` (models with ``allows_bias``), ``bounds``,
        ``init``, ``n_starts``, ``random_state``, ... as for the built-in
        estimators.

    Returns
    -------
    avoidrl.estimators.CustomModel
    """
    from ..estimators import CustomModel  # late: the estimators import the models

    model = check_declaration(model)
    check_options(model, params.get("bias", False), params.get("decay", False))
    register_model(type(model))
    return CustomModel(model, **params)
