"""The settings of a maximum-likelihood fit, checked: :class:`FitSettings`.

Between an estimator's constructor arguments and its fit (the flow's "fit"
step): :meth:`RLModelBase._fit_settings <avoidrl.estimators.RLModelBase>`
checks bounds, start values, the start policy and the optimizer's options
with the functions here and hands the multi-start fit
(:mod:`avoidrl.estimators._multistart`) one frozen :class:`FitSettings`. The
empirical-Bayes fit reads the same object from the model it wraps.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .._utils.validation import START_MODES, check_number, is_number

OPTIMIZER_OPTIONS = ("maxiter", "maxfun", "ftol", "gtol", "maxcor", "maxls", "eps", "backend")
_INTEGER_OPTIONS = ("maxiter", "maxfun", "maxcor", "maxls")
_BACKENDS = ("auto", "setulb", "scipy", "bfgsb")
#: max_starts=None means this many times n_starts
MAX_STARTS_FACTOR = 3


@dataclass(frozen=True)
class FitSettings:
    """The validated settings of one model's fit.

    Attributes
    ----------
    variant : ModelVariant
        The model with its options.
    bounds : dict
        ``{parameter: (low, high)}``.
    init : dict
        ``{parameter: start value}``: the centre of 'normal' starts, the
        start of 'fixed' ones.
    start : {'normal', 'random', 'fixed'}
    n_starts, max_starts : int
        Starts per participant in the first round, and in all.
    screen_starts : int
        Starts per participant and round from the best points of a
        quasi-random screen of the box (0: no screen).
    options : dict
        The L-BFGS-B settings (``optimizer_options``).
    gradient : {'exact', 'finite-difference'}
        The gradient the optimizer descends with (see :func:`check_gradient`).

    Notes
    -----
    ``settings["bounds"]`` reads a field (or ``low`` / ``high``) as the
    former settings dict did, for code that indexes it.
    """

    variant: object
    bounds: dict
    init: dict
    start: str
    n_starts: int
    max_starts: int
    options: dict
    screen_starts: int = 0
    gradient: str = "exact"

    @property
    def exact_gradient(self) -> bool:
        """Whether the optimizer takes the likelihood's exact gradient."""
        return self.gradient == "exact"

    @property
    def low(self) -> np.ndarray:
        """Lower bounds, in the variant's parameter order."""
        return np.array([self.bounds[n][0] for n in self.variant.parameter_names])

    @property
    def high(self) -> np.ndarray:
        """Upper bounds, in the variant's parameter order."""
        return np.array([self.bounds[n][1] for n in self.variant.parameter_names])

    def __getitem__(self, key):
        # the former dict's keys, for callers that still index the settings
        if key not in _KEYS:
            raise KeyError(key)
        return getattr(self, key)


_KEYS = tuple(f.name for f in fields(FitSettings)) + ("low", "high")


def resolve_bounds_init(variant, given_bounds, given_init):
    """The fit's bounds and start values: the declaration's, overridden by the given ones.

    Returns ``(bounds, init)`` as dicts over the variant's parameters. A
    default start value outside narrowed bounds moves to the nearest bound;
    a given one must lie within them.
    """
    names = variant.parameter_names
    declared = {p.name: p for p in variant.parameters}
    bounds = {p.name: (float(p.low), float(p.high)) for p in variant.parameters}
    init = {p.name: float(p.init) for p in variant.parameters}
    for what, given in (("bounds", given_bounds), ("init", given_init)):
        if given is None:
            continue
        if not hasattr(given, "items"):
            raise ValueError(f"{what} must be a dict mapping parameter names, got {given!r}")
        unknown = sorted(set(given) - set(names), key=str)
        if unknown:
            raise ValueError(
                f"{what}: unknown parameter(s) {unknown} for {variant.name}; its "
                f"parameters are {list(names)}")
    for name, value in (given_bounds or {}).items():
        bounds[name] = _checked_bounds(name, value, declared[name])
    for name, value in (given_init or {}).items():
        init[name] = float(check_number(value, f"init[{name!r}]"))
    given = set(given_init or {})
    for name in names:
        low, high = bounds[name]
        if low <= init[name] <= high:
            continue
        if name not in given:
            # A default start value follows the user's narrower bounds.
            init[name] = min(max(init[name], low), high)
            continue
        raise ValueError(
            f"the start value of {name!r} ({init[name]}) is outside its bounds "
            f"({low}, {high}); change init or bounds")
    return bounds, init


def _checked_bounds(name, value, parameter):
    """A given ``(low, high)`` of ``parameter`` as floats, within its domain."""
    # a string is a sequence too: '12' would read as (1.0, 2.0)
    pair = None if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") \
        else list(value)
    if pair is None or len(pair) != 2 or not all(is_number(v) for v in pair):
        raise ValueError(
            f"bounds[{name!r}] must be a (low, high) pair of numbers, got {value!r}")
    low, high = (float(v) for v in pair)
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
        raise ValueError(
            f"bounds[{name!r}] = {value!r}: need finite low < high")
    if parameter.outside_domain([low, high]).any():
        raise ValueError(
            f"bounds[{name!r}] = {value!r} leave the valid domain of {name}, "
            f"{parameter.domain_text()}; choose bounds within it")
    return low, high


#: The constructor parameters that are dicts keyed by model parameter, and so
#: can be set one entry at a time: ``set_params(bounds__temperature=(0.01, 0.5))``.
PER_PARAMETER_SETTINGS = ("bounds", "init")


def merge_per_parameter(current, params):
    """``params`` with ``bounds__<name>`` / ``init__<name>`` entries folded into new dicts.

    scikit-learn reads ``a__b`` as parameter ``b`` of a sub-estimator ``a``;
    ``bounds`` and ``init`` are dicts keyed by model parameter, so here
    ``bounds__temperature=(0.01, 0.5)`` means ``bounds={**bounds,
    'temperature': (0.01, 0.5)}`` (a grid search can then vary one bound).

    Parameters
    ----------
    current : dict
        The estimator's current parameters (``get_params(deep=False)``).
    params : dict
        What ``set_params`` was given.

    Returns
    -------
    dict
        ``params`` without the per-parameter entries, with the merged
        ``bounds`` / ``init`` dicts (never the estimator's own dict, changed).
    """
    entries = [(key, key.partition("__"), value) for key, value in params.items()]
    rest = {key: value for key, (setting, sep, _), value in entries
            if not sep or setting not in PER_PARAMETER_SETTINGS}
    merged = {}
    for key, (setting, sep, name), value in entries:
        if key in rest:
            continue
        if not name or "__" in name:
            raise ValueError(f"set_params: {key!r} must be {setting}__<parameter name>, e.g. "
                             f"{setting}__temperature")
        if setting not in merged:
            # a dict given in the same call is the base; else the estimator's
            base = rest.get(setting, current.get(setting))
            if base is not None and not hasattr(base, "items"):
                raise ValueError(f"set_params: cannot set {key!r}: {setting} is {base!r}, "
                                 "not a dict mapping parameter names")
            merged[setting] = dict(base or {})
        merged[setting][name] = value
    return {**rest, **merged}


def check_starts(start, n_starts, max_starts, default_start, default_n_starts):
    """``(start, n_starts, max_starts)`` with the defaults filled in, checked."""
    chosen = default_start if start is None else start
    if not isinstance(chosen, str) or chosen not in START_MODES:
        raise ValueError(f"start must be one of {list(START_MODES)}, got {start!r}")
    count = default_n_starts if n_starts is None else n_starts
    if not is_number(count, integer=True) or count < 1:
        raise ValueError(f"n_starts must be a positive integer, got {n_starts!r}")
    count = int(count)
    if max_starts is None:
        max_starts = MAX_STARTS_FACTOR * count
    else:
        check_number(max_starts, "max_starts", integer=True, low=count,
                     expected=f"None or an integer >= n_starts ({count})")
    return chosen, count, int(max_starts)


#: the optimizer's gradient: derived from the declaration, or SciPy's forward differences
GRADIENTS = ("exact", "finite-difference")


def check_gradient(gradient):
    """``gradient`` checked: one of :data:`GRADIENTS`."""
    if not (isinstance(gradient, str) and gradient in GRADIENTS):
        raise ValueError(f"gradient must be one of {list(GRADIENTS)}, got {gradient!r}")
    return gradient


#: how ``params_ci_``'s intervals are computed (the estimators' ``intervals``)
INTERVAL_METHODS = ("wald", "profile", "calibrated-profile")


def check_intervals(intervals):
    """``intervals`` checked: one of :data:`INTERVAL_METHODS`."""
    if not (isinstance(intervals, str) and intervals in INTERVAL_METHODS):
        raise ValueError(f"intervals must be one of {list(INTERVAL_METHODS)}, got {intervals!r}")
    return intervals


def check_optimizer_options(optimizer_options):
    """The L-BFGS-B settings as a new dict, each checked."""
    if optimizer_options is not None and not isinstance(optimizer_options, dict):
        raise ValueError("optimizer_options must be None or a dict of L-BFGS-B settings "
                         f"{list(OPTIMIZER_OPTIONS)}, got {optimizer_options!r}")
    options = dict(optimizer_options or {})
    unknown = sorted(set(options) - set(OPTIMIZER_OPTIONS), key=str)
    if unknown:
        raise ValueError(
            f"optimizer_options: unknown option(s) {unknown}; valid options are "
            f"{list(OPTIMIZER_OPTIONS)}")
    for key, value in options.items():
        name = f"optimizer_options[{key!r}]"
        if key == "backend":
            if not (isinstance(value, str) and value in _BACKENDS):
                raise ValueError(f"{name} must be one of {list(_BACKENDS)}, got {value!r}")
        elif key in _INTEGER_OPTIONS:
            check_number(value, name, integer=True, low=0, open_low=True,
                         expected="a positive integer")
        else:
            check_number(value, name, low=0, open_low=key == "eps", finite=True)
    return options
