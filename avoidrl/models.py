"""Declare your own models: parameters, latent state and the trial update.

A model is a small class: its free parameters (:class:`Parameter`, each with
default bounds, a start value and a valid domain), the names of its latent
state, and three methods: :meth:`BaseModel.prepare` (per-trial inputs, all
trials at once), :meth:`BaseModel.update` (one trial of learning, in place)
and :meth:`BaseModel.transfer_values` (the nine stimulus values of the
transfer phase). The same declaration serves the batched likelihood kernel
(actions read from data) and the simulator (actions drawn from the model), so
no equation is written twice. The eight built-in models are written with
this API (see ``avoidrl/_models.py``).

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
import keyword
import pickle
from dataclasses import dataclass

import numpy as np

from ._data import N_PAIRS

__all__ = [
    "Parameter", "BaseModel", "learning_rate", "temperature", "by_choice", "both_options",
    "delta_rule", "stimulus_table", "decayed", "check_model", "make_estimator",
    "OPTION_PARAMETERS", "N_PAIRS", "N_STIMULI",
]

#: The unit interval, the valid domain of rates, weights and factors.
UNIT = (0.0, 1.0)
#: Transfer stimuli: A-H (the pairs' options, better first) and the novel N.
N_STIMULI = 2 * N_PAIRS + 1
#: Parameters the options add (+bias, +novel, +decay); a model must not declare them.
OPTION_PARAMETERS = ("valence_factor", "novel_value", "decay_factor")


def _fmt(value):
    return f"{value:g}"


@dataclass(frozen=True)
class Parameter:
    """A free parameter: its name, default bounds and start value, and valid domain.

    Parameters
    ----------
    name : str
        A Python identifier; the column name in ``params_`` and the key of
        ``theta`` in the model's methods.
    low, high : float
        Default bounds of the fit (finite, ``low < high``, within the domain).
    init : float
        Default start value (within the bounds): the centre of 'normal'
        starts and the start of 'fixed' ones.
    description : str
        One line, shown in the documentation.
    domain : (float, float), default=(0, 1)
        The closed interval of values for which the model is defined (a
        learning rate outside [0, 1] makes the recursion diverge). Bounds a
        user gives, and parameter values passed to ``sample`` or
        ``negative_log_likelihood``, are checked against it. May be infinite.
    open_low : bool, default=False
        The domain's lower end is excluded (the temperature: 0 < T).

    Raises
    ------
    ValueError
        When the name is not an identifier, the bounds are not finite with
        low < high inside the domain, or the start value is outside the bounds.
    """

    name: str
    low: float
    high: float
    init: float
    description: str
    domain: tuple = UNIT
    open_low: bool = False

    def __post_init__(self):
        # Checked at declaration time, so a wrong bound fails where it is written.
        if not isinstance(self.name, str) or not self.name.isidentifier() \
                or keyword.iskeyword(self.name):
            raise ValueError(f"parameter name {self.name!r} must be a valid Python identifier")
        what = f"parameter {self.name!r}"
        try:
            low, high, init = float(self.low), float(self.high), float(self.init)
            domain = tuple(float(v) for v in self.domain)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: low, high, init and domain must be numbers") from None
        if len(domain) != 2 or not domain[0] < domain[1]:
            raise ValueError(f"{what}: domain {self.domain!r} must be a (low, high) pair "
                             "with low < high")
        if not (np.isfinite(low) and np.isfinite(high)) or not low < high:
            raise ValueError(f"{what}: bounds ({_fmt(low)}, {_fmt(high)}) must be finite "
                             "with low < high")
        if self.outside_domain([low, high]).any():
            raise ValueError(f"{what}: bounds ({_fmt(low)}, {_fmt(high)}) leave its domain "
                             f"{self.domain_text()}")
        if not low <= init <= high:
            raise ValueError(f"{what}: start value {_fmt(init)} is outside its bounds "
                             f"({_fmt(low)}, {_fmt(high)})")

    @property
    def bounds(self):
        """``(low, high)``."""
        return (self.low, self.high)

    def domain_text(self):
        """The domain in words, for error messages (e.g. ``(0, inf)``)."""
        low, high = self.domain
        opening = "(" if self.open_low or not np.isfinite(low) else "["
        closing = "]" if np.isfinite(high) else ")"
        return f"{opening}{low:g}, {high:g}{closing}"

    def outside_domain(self, values):
        """Boolean mask of ``values`` outside the domain (NaN counts as outside)."""
        values = np.asarray(values, dtype=float)
        low, high = self.domain
        below = values <= low if self.open_low else values < low
        with np.errstate(invalid="ignore"):
            return ~np.isfinite(values) | below | (values > high)


def learning_rate(name, init, description, low=0.01, high=0.99):
    """A learning-rate parameter: domain [0, 1], default bounds (0.01, 0.99).

    Parameters
    ----------
    name : str
    init : float
        Start value.
    description : str
    low, high : float, optional
        Default bounds; the built-in models use (0.01, 0.99).

    Returns
    -------
    Parameter
    """
    return Parameter(name, low, high, init, description)


def temperature(init=0.06, low=0.01, high=1.0):
    """The softmax temperature T, ``P(a) ∝ exp(v_a / T)``; every model must have it.

    Its domain is ``(0, inf)``. The likelihood and the simulator read it
    (and ``noise_factor`` for lapse models) by name.

    Returns
    -------
    Parameter
    """
    return Parameter("temperature", low, high, init,
                     "softmax temperature T (P(a) ∝ exp(v_a / T)); higher is noisier",
                     domain=(0.0, np.inf), open_low=True)


# ------------------------------------------------------------------ helpers
def by_choice(chose1, factual, counterfactual):
    """Per-option values by choice: ``factual`` for the chosen option, else ``counterfactual``.

    The usual use is the learning rates of both options: the chosen option
    learns with the factual rate, the unchosen one with the counterfactual
    rate (``by_choice(chose1, 1.0, 0.0)`` is the chosen-option indicator).

    Parameters
    ----------
    chose1 : ndarray of bool, shape (n_steps, batch, 4)
        True where option 1 (the worse option) was chosen, as ``prepare`` gets it.
    factual, counterfactual : ndarray of shape (batch, 4), or scalars
        E.g. ``theta["factual_lr"]`` in ``prepare``.

    Returns
    -------
    ndarray, shape (n_steps, 2, batch, 4)
        Time, option, batch row, pair: a per-trial input of ``prepare``.
    """
    # np.where (not arithmetic on the mask) keeps the given values exactly
    return np.stack([np.where(chose1, counterfactual, factual),
                     np.where(chose1, factual, counterfactual)], axis=1)


def both_options(per_pair):
    """Repeat a per-pair array of shape (n_steps, batch, 4) for both options.

    Returns
    -------
    ndarray, shape (n_steps, 2, batch, 4)
        The layout of per-pair states (a context value, a critic), whose two
        option rows are equal.
    """
    return np.repeat(per_pair[:, None], 2, axis=1)


def delta_rule(values, targets, rates, scratch=None, *, negative_rates=None):
    r"""Delta-rule update in place, :math:`v \leftarrow v + \alpha (r - v)`; returns :math:`r - v`.

    Parameters
    ----------
    values : ndarray, shape (2, batch, 4)
        A state entry, e.g. ``state["q"]``; updated in place.
    targets : ndarray, shape (2, batch, 4)
        This trial's targets, e.g. ``step["target"][t]``.
    rates : ndarray, shape (2, batch, 4)
        This trial's learning rates, e.g. ``step["lr"][t]``.
    scratch : ndarray, shape (2, batch, 4), optional
        Work array (``update`` receives one); saves an allocation per trial.
    negative_rates : ndarray, shape (2, batch, 4), optional
        Valence-asymmetric learning: where the prediction error is negative,
        this rate applies instead of ``rates`` (which then applies to
        positive errors; a zero error changes nothing either way).

    Returns
    -------
    errors : ndarray, shape (2, batch, 4)
        The prediction errors :math:`r - v` before the update (a new array).
    """
    errors = targets - values
    if negative_rates is not None:
        rates = np.where(errors < 0.0, negative_rates, rates)
    values += np.multiply(rates, errors, scratch)
    return errors


def stimulus_table(values, novel):
    """Lay out final per-option values (2, batch, 4) as the 9 transfer stimuli A-H, N.

    Parameters
    ----------
    values : ndarray, shape (2, batch, 4)
        Option 0 of pair AB is A, option 1 is B, and so on to GH.
    novel : float or ndarray broadcasting to (batch, 1)
        The novel stimulus N's value (``transfer_values`` gets it).

    Returns
    -------
    ndarray, shape (batch, 9)
    """
    batch = values.shape[1]
    table = np.empty((batch, N_STIMULI))
    table[:, 0:-1:2] = values[0]
    table[:, 1:-1:2] = values[1]
    table[:, -1:] = novel
    return table


def decayed(table, decay):
    """Apply the +decay option, ``(1 - d) * table``; ``decay`` None leaves it as is.

    The built-in models shrink the whole table (N too) toward 0 before transfer.

    Parameters
    ----------
    table : ndarray, shape (batch, 9)
    decay : ndarray of shape (batch, 1), or None
        As ``transfer_values`` gets it.
    """
    return table if decay is None else (1.0 - decay) * table


# --------------------------------------------------------------- BaseModel
class BaseModel:
    """Base class of every model: declare parameters and state, implement the trial update.

    Subclass it and set the class attributes, then implement
    :meth:`prepare`, :meth:`update` and :meth:`transfer_values` (and
    :meth:`mix_values` when choices depend on more than one value system).
    One declaration serves the likelihood kernel (choices read from data)
    and the simulator (choices drawn), so it has no second copy.

    **Batched state conventions.** Many participants and parameter vectors
    ("batch rows") are evaluated at once, and the task's four pairs in
    parallel (they never interact), so every state entry has shape
    ``(2, batch, 4)``: option (0 = the better option of the pair, 1 = the
    worse) x batch row x pair. Per-pair quantities (a critic value, a
    context value) are repeated in both option rows and listed in
    ``pair_states``. Trial ``t`` of the recursion is the t-th trial of every
    pair at once.

    **Where work goes.** :meth:`prepare` runs once, outside the sequential
    loop: it computes every input that depends only on parameters and data
    (learning rates by choice, targets) for all trials at once, as arrays
    with a leading time axis. :meth:`update` runs once per trial and should
    do as little as possible: a few in-place numpy operations on the state.
    Each trial's inputs must come from that trial's data alone: the
    simulator calls ``prepare`` one trial at a time (``check_model`` verifies
    this).

    Attributes
    ----------
    name : str
        The model's name in reports and model names (``Name+novel``);
        defaults to the class name.
    parameters : tuple of Parameter
        Free parameters in order; must include ``temperature`` (and
        ``noise_factor`` when ``lapse``), and none of the options' parameters
        (valence_factor, novel_value, decay_factor).
    state_names : tuple of str
        Latent state entries, each of shape (2, batch, 4).
    pair_states : tuple of str
        The entries that are per pair (both option rows equal).
    value_systems : tuple of str
        State entries whose option-1 minus option-0 difference drives the
        learning choices, combined by :meth:`mix_values`.
    initial_values : dict
        Initial value of each state entry (default 0).
    allows_bias : bool, default=True
        Whether the +bias option (valence bias on outcomes) is offered.
    has_q_values : bool
        Whether the +decay option is offered; by default, whether ``"q"`` is
        a state entry.
    lapse : bool, default=False
        Lapse noise in the choice rule: ``P = (1 - ε) softmax + ε / 2`` with
        ε the parameter ``noise_factor``.
    nests : tuple or None
        ``(simpler model, {parameter: value})``: with those parameters fixed,
        the likelihood equals the simpler model's (a built-in name or a
        BaseModel subclass). Fits then also start from the simpler model's
        optimum, so they never end worse than it.
    default_start : {'normal', 'random', 'fixed'}, default='normal'
    default_n_starts : int, default=10
        The estimator's start mode and number of starts when not given.

    Notes
    -----
    What the methods get (``batch`` rows, 4 pairs, ``n_steps`` trials per
    pair):

    * ``prepare(theta, chose1, outcome)``: ``theta[name]`` of shape
      (batch, 4); ``chose1`` (n_steps, batch, 4) bool; ``outcome``
      (n_steps, 2, batch, 4), both options' outcomes (complete feedback;
      already valence-biased under +bias).
    * ``update(state, step, t, theta, scratch, guard)``: ``theta[name]`` of
      the state's shape (2, batch, 4), so no broadcasting in the loop.
    * ``mix_values(differences, theta)``: one array per value system, of
      shape (n_steps, batch, 4) in the likelihood or (batch, 4) in the
      simulator; ``theta`` as in ``update`` (use ``theta[name][0]``).
    * ``transfer_values(state, theta, novel, decay)``: ``theta[name]``,
      ``novel`` and ``decay`` (None without +decay) of shape (batch, 1).

    The learning choice's probability is ``softmax`` of ``mix_values(...)``
    over ``temperature``; the transfer choice between stimuli ``i`` and
    ``j`` compares ``transfer_values(...)[:, i]`` and ``[:, j]`` the same way.
    """

    name = None
    parameters = ()
    allows_bias = True
    has_q_values = True
    lapse = False
    state_names = ()
    pair_states = ()
    value_systems = ()
    initial_values = {}
    nests = None
    default_start = "normal"
    default_n_starts = 10

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass is a new model: it is not named after its parent, and it
        # offers +decay when it has Q values unless it says otherwise.
        if "name" not in cls.__dict__:
            cls.name = cls.__name__
        if "has_q_values" not in cls.__dict__:
            cls.has_q_values = "q" in tuple(cls.state_names)

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self), tuple(sorted(vars(self)))))

    @property
    def parameter_names(self):
        """The names of ``parameters``, in order."""
        return tuple(p.name for p in self.parameters)

    def initial_state(self, shape):
        """The state before the first trial: ``{name: array of shape (2,) + shape}``."""
        return {name: np.full((2,) + tuple(shape), self.initial_values.get(name, 0.0))
                for name in self.state_names}

    def prepare(self, theta, chose1, outcome):
        """Per-trial inputs that depend only on parameters and data, for all trials at once.

        Parameters
        ----------
        theta : dict of ndarray, each of shape (batch, 4)
        chose1 : ndarray of bool, shape (n_steps, batch, 4)
            True where option 1 was chosen.
        outcome : ndarray, shape (n_steps, 2, batch, 4)
            Both options' outcomes.

        Returns
        -------
        step : dict of ndarray
            Each with a leading time axis of length n_steps, usually of
            shape (n_steps, 2, batch, 4) so that ``step[key][t]`` has the
            state's shape.
        """
        raise NotImplementedError

    def mix_values(self, differences, theta):
        """Combine the value systems' differences (option 1 - option 0) into the choice's.

        The default returns the single system's difference. May work in place
        on ``differences``.

        Parameters
        ----------
        differences : list of ndarray
            One per entry of ``value_systems``, of shape (n_steps, batch, 4)
            or (batch, 4).
        theta : dict of ndarray, each of shape (2, batch, 4)
            ``theta[name][0]`` broadcasts against both shapes.

        Returns
        -------
        ndarray, the shape of each difference
        """
        (difference,) = differences
        return difference

    def update(self, state, step, t, theta, scratch, guard=True):
        """Learn from trial ``t`` of each pair: update ``state`` in place.

        Parameters
        ----------
        state : dict of ndarray, each of shape (2, batch, 4)
            Must be changed in place (``state["q"] += ...``), never replaced:
            the kernel holds references to the entries.
        step : dict
            What :meth:`prepare` returned; use ``step[key][t]``.
        t : int
        theta : dict of ndarray, each of shape (2, batch, 4)
        scratch : ndarray, shape (2, batch, 4)
            A work array, free for any use.
        guard : bool
            Whether to handle measure-zero degenerate cases exactly (the
            built-in actor's 0 / 0); without it such rows may come out NaN
            and are re-evaluated with ``guard=True``.

        Returns
        -------
        errors : dict of ndarray, each of shape (2, batch, 4)
            The trial's prediction errors: ``"pe"`` (required; reports show
            it), plus any others (hybrids add ``"q_pe"``).
        """
        raise NotImplementedError

    def transfer_values(self, state, theta, novel, decay):
        """The values of the nine transfer stimuli A-H, N after learning.

        Parameters
        ----------
        state : dict of ndarray, each of shape (2, batch, 4)
            The state after each pair's last learning trial.
        theta : dict of ndarray, each of shape (batch, 1)
        novel : float or ndarray of shape (batch, 1)
            The novel stimulus's value (0 without +novel).
        decay : ndarray of shape (batch, 1), or None
            The decay factor under +decay (see :func:`decayed`).

        Returns
        -------
        ndarray, shape (batch, 9)
            See :func:`stimulus_table`.
        """
        raise NotImplementedError


# --------------------------------------------------------------- checking
def _model_instance(model):
    if isinstance(model, type) and issubclass(model, BaseModel):
        try:
            return model()
        except TypeError as exc:
            raise ValueError(f"cannot create {model.__name__}() without arguments ({exc}); "
                             "pass an instance") from None
    if not isinstance(model, BaseModel):
        raise ValueError("a model must be a subclass of avoidrl.models.BaseModel (or an "
                         f"instance of one), got {model!r}")
    return model


def _names(value, what, model):
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise ValueError(f"{model.name}: {what} must be a tuple of names, got {value!r}")
    return tuple(value)


def check_declaration(model):
    """The checks of :func:`check_model` that need no computation (done before every fit).

    Returns
    -------
    BaseModel
        ``model``, instantiated if it was a class.
    """
    model = _model_instance(model)
    from ._models import BASE_MODELS  # the built-in names; _models imports this module

    name = model.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"model name {name!r} must be a valid Python identifier (it is "
                         "used in model names such as 'Name+novel')")
    builtin = BASE_MODELS.get(name)
    if builtin is not None and type(builtin) is not type(model):
        raise ValueError(f"model name {name!r} is a built-in model's name; set a different "
                         "`name` in the class")
    parameters = model.parameters
    if not isinstance(parameters, (tuple, list)) \
            or not all(isinstance(p, Parameter) for p in parameters):
        raise ValueError(f"{name}: parameters must be a tuple of avoidrl.models.Parameter")
    names = [p.name for p in parameters]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{name}: parameter name(s) {repeated} declared more than once")
    clash = [n for n in names if n in OPTION_PARAMETERS]
    if clash:
        raise ValueError(f"{name}: parameter(s) {clash} are the options' parameters "
                         f"({', '.join(OPTION_PARAMETERS)}); the +bias/+novel/+decay options "
                         "add them, rename yours")
    if "temperature" not in names:
        raise ValueError(f"{name}: every model needs a 'temperature' parameter (the softmax "
                         "temperature of both phases); add avoidrl.models.temperature()")
    if bool(model.lapse) != ("noise_factor" in names):
        raise ValueError(f"{name}: lapse={model.lapse} needs "
                         f"{'a' if model.lapse else 'no'} 'noise_factor' parameter (the lapse "
                         "rate the choice rule reads)")
    states = _names(model.state_names, "state_names", model)
    if not states or len(set(states)) != len(states) \
            or not all(isinstance(s, str) and s.isidentifier() for s in states):
        raise ValueError(f"{name}: state_names must be distinct identifiers, at least one, "
                         f"got {states!r}")
    for what in ("pair_states", "value_systems"):
        entries = _names(getattr(model, what), what, model)
        unknown = [s for s in entries if s not in states]
        if unknown:
            raise ValueError(f"{name}: {what} {unknown} are not in state_names {list(states)}")
    if not model.value_systems:
        raise ValueError(f"{name}: value_systems must name at least one state entry (the "
                         "values that drive choices)")
    if not hasattr(model.initial_values, "items") \
            or any(k not in states for k in model.initial_values):
        raise ValueError(f"{name}: initial_values must map state names {list(states)} to "
                         f"numbers, got {model.initial_values!r}")
    if model.default_start not in ("normal", "random", "fixed"):
        raise ValueError(f"{name}: default_start must be 'normal', 'random' or 'fixed', got "
                         f"{model.default_start!r}")
    if model.nests is not None:
        from ._models import resolve_base

        try:
            simpler, fixed = model.nests
            simpler = resolve_base(simpler)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: nests must be (simpler model, {{parameter: value}}): "
                             f"{exc}") from None
        unknown = [p for p in fixed if p not in names]
        if unknown:
            raise ValueError(f"{name}: nests fixes {unknown}, which are not its parameters")
        other = [p for p in simpler.parameter_names if p not in names]
        if other:
            raise ValueError(f"{name}: nests {simpler.name}, whose parameters {other} it "
                             "does not have")
    return model


def _tiny_inputs(rng, n_steps, batch):
    chose1 = rng.random((n_steps, batch, N_PAIRS)) < 0.5
    sign = np.array([1.0, 1.0, -1.0, -1.0])  # reward pairs win +1, loss pairs lose -1
    outcome = sign * (rng.random((n_steps, 2, batch, N_PAIRS)) < 0.5)
    return chose1, outcome


def _check_shapes(model, variant, rng):
    """Run prepare / update / mix_values / transfer_values on a tiny batch."""
    from ._likelihood import expand_parameters

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
    from ._likelihood import negative_log_likelihood

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
    from ._simulate import simulate_choices

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


def check_model(model, n_participants=3, random_state=0):
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
    from ._data import load_task_data
    from ._models import ModelVariant, check_options
    from .datasets import load_example

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


def make_estimator(model, **params):
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
    from ._models import check_options, register_model
    from .estimators import CustomModel

    model = check_declaration(model)
    check_options(model, params.get("bias", False), params.get("decay", False))
    register_model(type(model))
    return CustomModel(model, **params)
