"""The model declaration API: parameters, the base class and the common pieces.

Public through :mod:`avoidrl.models`; this private module sits below the
model registry (:mod:`avoidrl.models._registry`), the built-in models
(:mod:`avoidrl.models._builtin`) and the public checks, so that data flows one
way: ``_declare`` <- ``_registry`` <- ``_builtin`` <- ``models``.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .._core.task import N_PAIRS, N_STIMULI  # noqa: F401  (N_PAIRS: importable here as before)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

#: The unit interval, the valid domain of rates, weights and factors.
UNIT = (0.0, 1.0)
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
    domain: tuple[float, float] = UNIT
    open_low: bool = False

    def __post_init__(self) -> None:
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
    def bounds(self) -> tuple[float, float]:
        """``(low, high)``."""
        return (self.low, self.high)

    def domain_text(self) -> str:
        """The domain in words, for error messages (e.g. ``(0, inf)``)."""
        low, high = self.domain
        opening = "(" if self.open_low or not np.isfinite(low) else "["
        closing = "]" if np.isfinite(high) else ")"
        return f"{opening}{low:g}, {high:g}{closing}"

    def outside_domain(self, values: ArrayLike) -> np.ndarray:
        """Boolean mask of ``values`` outside the domain (NaN counts as outside)."""
        values = np.asarray(values, dtype=float)
        low, high = self.domain
        below = values <= low if self.open_low else values < low
        with np.errstate(invalid="ignore"):
            return ~np.isfinite(values) | below | (values > high)


def learning_rate(name: str, init: float, description: str, low: float = 0.01,
                  high: float = 0.99) -> Parameter:
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


def temperature(init: float = 0.06, low: float = 0.01, high: float = 1.0) -> Parameter:
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
def by_choice(chose1: np.ndarray, factual: ArrayLike, counterfactual: ArrayLike) -> np.ndarray:
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


def both_options(per_pair: np.ndarray) -> np.ndarray:
    """Repeat a per-pair array of shape (n_steps, batch, 4) for both options.

    Returns
    -------
    ndarray, shape (n_steps, 2, batch, 4)
        The layout of per-pair states (a context value, a critic), whose two
        option rows are equal.
    """
    return np.repeat(per_pair[:, None], 2, axis=1)


def delta_rule(values: np.ndarray, targets: np.ndarray, rates: np.ndarray,
               scratch: np.ndarray | None = None, *,
               negative_rates: np.ndarray | None = None) -> np.ndarray:
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


def divide_or(numerator: np.ndarray, denominator: np.ndarray, if_zero: float,
              out: np.ndarray, guard: bool) -> np.ndarray:
    """``numerator / denominator`` into ``out``, and ``if_zero`` where the denominator is exactly 0.

    With ``guard=False`` the check, a reduction per trial, is skipped and a
    zero denominator gives inf or NaN (the likelihood redoes NaN rows with
    ``guard=True``). A traced declaration (the compiled kernel's symbols, see
    ``_compiled``) always gets the exact rule, as a branch-free select that
    costs nothing in compiled code.
    """
    if out.dtype == object:  # symbols being traced into compiled code
        shape = np.broadcast_shapes(numerator.shape, denominator.shape)
        numerator = np.broadcast_to(numerator, shape)
        denominator = np.broadcast_to(denominator, shape)
        for index in np.ndindex(*shape):
            out[index] = denominator[index].select_if_zero(
                if_zero, numerator[index] / denominator[index])
        return out
    zero = None
    if guard and not denominator.all():
        zero = denominator == 0.0
        denominator = np.where(zero, 1.0, denominator)  # no 0 / 0 warning
    np.divide(numerator, denominator, out=out)
    if zero is not None:
        out[np.broadcast_to(zero, out.shape)] = if_zero
    return out


def stimulus_table(values: np.ndarray, novel: float | np.ndarray) -> np.ndarray:
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
    # empty_like: a dual-number state (exact gradients) gets a dual table
    table = np.empty_like(values, shape=(batch, N_STIMULI))
    table[:, 0:-1:2] = values[0]
    table[:, 1:-1:2] = values[1]
    table[:, -1:] = novel
    return table


def decayed(table: np.ndarray, decay: np.ndarray | None) -> np.ndarray:
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
    pe_formula : str or None, default=None
        The prediction error ``pe`` that :meth:`update` returns, as a short
        formula for reports (e.g. ``'r - Q'``); None when not given.

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

    name: ClassVar[str | None] = None
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    allows_bias: ClassVar[bool] = True
    has_q_values: ClassVar[bool] = True
    lapse: ClassVar[bool] = False
    state_names: ClassVar[tuple[str, ...]] = ()
    pair_states: ClassVar[tuple[str, ...]] = ()
    value_systems: ClassVar[tuple[str, ...]] = ()
    initial_values: ClassVar[dict[str, float]] = {}
    nests: ClassVar[tuple | None] = None
    default_start: ClassVar[str] = "normal"
    default_n_starts: ClassVar[int] = 10
    pe_formula: ClassVar[str | None] = None

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
    def parameter_names(self) -> tuple[str, ...]:
        """The names of ``parameters``, in order."""
        return tuple(p.name for p in self.parameters)

    def initial_state(self, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
        """The state before the first trial: ``{name: array of shape (2,) + shape}``."""
        return {name: np.full((2,) + tuple(shape), self.initial_values.get(name, 0.0))
                for name in self.state_names}

    def prepare(self, theta: dict[str, np.ndarray], chose1: np.ndarray,
                outcome: np.ndarray) -> dict[str, np.ndarray]:
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

    def mix_values(self, differences: list[np.ndarray],
                   theta: dict[str, np.ndarray]) -> np.ndarray:
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

    def update(self, state: dict[str, np.ndarray], step: dict[str, np.ndarray], t: int,
               theta: dict[str, np.ndarray], scratch: np.ndarray,
               guard: bool = True) -> dict[str, np.ndarray]:
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

    def transfer_values(self, state: dict[str, np.ndarray], theta: dict[str, np.ndarray],
                        novel: float | np.ndarray,
                        decay: np.ndarray | None) -> np.ndarray:
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


