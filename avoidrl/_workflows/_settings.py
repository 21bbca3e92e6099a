"""The runs' settings, checked before any work: models, counts, seeds, estimators.

The first step of the flow for both front ends (:mod:`avoidrl.cli`,
:class:`avoidrl.pipeline.Pipeline`): every option is validated here and
turned into estimators (one per model, then the inference method's
estimator of each, from the fit-method registry) before any data are read
or any fitting starts. Recovery seeds are derived here too.
"""

from __future__ import annotations

import numbers
import secrets
import zlib

import numpy as np

from .._utils.fitted import fit_methods
from ..estimators import ESTIMATORS, make_model
from .._utils.validation import DRAWN_SEED_LIMIT as DERIVED_SEED_RANGE  # noqa: F401
from .._utils.validation import SEED_LIMIT as SEED_RANGE, START_MODES  # noqa: F401
from ..models._builtin import BASE_MODELS, parse_model_name
from ..priors import base_parameters

#: The reference's FIT and VALIDATION scripts (RL_fit_main.py, RL_validation_main.py) use these.
DEFAULT_MODELS = ("QLearning+novel", "ActorCritic+novel", "Relative+novel", "Advantage+novel",
                  "Hybrid2012+novel")
DEFAULT_OUT_DIR = "modelling"
#: The inference method of runs given none: maximum likelihood, the reference's.
DEFAULT_METHOD = "ml"
RECOVERY_KINDS = ("parameter", "model", "both")


# ------------------------------------------------------------------ checks
def check_models(models, *, at_least=1, what="models"):
    """Canonical names of ``models``, validated.

    Raises a ValueError for a misspelt name (listing the valid bases and
    options), an option the base does not take, a repeated model or too
    few models.
    """
    if isinstance(models, str):
        models = [models]
    if models is None or not hasattr(models, "__iter__"):
        raise ValueError(f"{what} must be a list of model names such as {list(DEFAULT_MODELS[:2])}")
    names = []
    for name in models:
        if not isinstance(name, str):
            raise ValueError(f"{what}: a model name must be a string, got {name!r}")
        try:
            names.append(make_model(name).model_name)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what}: model(s) {repeated} given more than once")
    if len(names) < at_least:
        raise ValueError(f"{what}: need at least {at_least} model(s), got {len(names)}")
    return names


def check_count(value, what, *, allow_none=True):
    """A positive int (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def check_seed(seed):
    """None or a non-negative int below 2**32."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) \
            or not 0 <= seed < SEED_RANGE:
        raise ValueError(f"seed must be None or an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def draw_seed():
    """A fresh seed in [0, 2**32), for runs given none (recorded, so they can be repeated)."""
    return secrets.randbelow(SEED_RANGE)


def check_choice(value, choices, what):
    if value not in choices:
        raise ValueError(f"{what} must be one of {list(choices)}, got {value!r}")
    return value


def check_method(method):
    """The estimator class of the inference method labelled ``method`` (see ``fit_methods``)."""
    methods = fit_methods()
    check_choice(method, tuple(methods), "method")
    return methods[method]


def check_method_settings(method_class, settings):
    """The inference method's own settings given to a run, checked: ``{name: int}``.

    Only the names the method lists in ``front_end_settings`` (full Bayes:
    ``n_chains``, ``n_warmup``, ``n_samples``), each a positive integer;
    None values are left out (the method's default).
    """
    given = {k: v for k, v in (settings or {}).items() if v is not None}
    allowed = tuple(getattr(method_class, "front_end_settings", ()))
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: no such setting of method "
                         f"{method_class.fit_method!r} (its settings: "
                         f"{list(allowed) if allowed else 'none'})")
    return {name: check_count(value, name, allow_none=False) for name, value in given.items()}


def check_base_table(table, what, *, pairs):
    """Validate a ``{Base: {parameter: value}}`` table (``bounds`` or ``init``).

    Bases must be valid base names; parameters must belong to the base or to
    one of the options it takes. Returns a new dict with ``(low, high)``
    tuples of floats when ``pairs`` (bounds), floats otherwise (start
    values); whether start values lie within the bounds is checked by the
    estimators.
    """
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ValueError(f"{what} must be a dict {{Base: {{parameter: value}}}}, got "
                         f"{type(table).__name__}")
    checked = {}
    for base, entries in table.items():
        if base not in BASE_MODELS:
            hint = ""
            if isinstance(base, str) and "+" in base:
                hint = f" (key by the base name without options, e.g. {base.split('+')[0]!r})"
            raise ValueError(f"{what}: unknown base model {base!r}{hint}; valid bases are "
                             f"{sorted(BASE_MODELS)}")
        if not isinstance(entries, dict):
            raise ValueError(f"{what}[{base!r}] must be a dict {{parameter: value}}, got "
                             f"{entries!r}")
        valid = [p.name for p in base_parameters(base)]
        # The reference's own tables give ActorCritic a decay_factor; accept any
        # option parameter (it is used only when its option is on).
        accepted = valid + [n for n in ("valence_factor", "novel_value", "decay_factor")
                            if n not in valid]
        checked[base] = {}
        for name, value in entries.items():
            if name not in accepted:
                raise ValueError(f"{what}[{base!r}]: unknown parameter {name!r}; {base}'s "
                                 f"parameters are {valid}")
            where = f"{what}[{base!r}][{name!r}]"
            checked[base][name] = _bound_pair(value, where) if pairs else _number(value, where)
    return checked


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _bound_pair(value, what):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{what} must be a (low, high) pair of numbers, got {value!r}")
    low, high = (_number(v, what) for v in value)
    if not low < high:
        raise ValueError(f"{what} = {value!r}: need low < high")
    return (low, high)


# -------------------------------------------------------------- estimators
def model_settings(name, bounds_table, init_table):
    """The estimator's ``bounds`` and ``init`` for one model from the per-base tables.

    Only the model's own parameters are kept, and only values that differ
    from the defaults, so passing ``fixed_priors(models)`` gives the same
    estimator (and the same output files) as passing nothing.
    """
    base, _ = parse_model_name(name)
    defaults = {p.name: p for p in make_model(name)._variant().parameters}
    bounds = {p: v for p, v in bounds_table.get(base, {}).items()
              if p in defaults and v != defaults[p].bounds}
    init = {p: v for p, v in init_table.get(base, {}).items()
            if p in defaults and v != defaults[p].init}
    return bounds or None, init or None


def build_estimators(models, *, bounds=None, init=None, start=None, n_starts=None,
                     random_state=None, n_jobs=None, gradient=None, intervals=None):
    """One validated estimator per model name: ``{name: estimator}``.

    ``bounds`` and ``init`` are per-base tables (see :func:`check_base_table`);
    ``gradient`` and ``intervals`` None keep the estimators' defaults. Every
    setting is checked here, before any fitting starts.
    """
    bounds_table = check_base_table(bounds, "bounds", pairs=True)
    init_table = check_base_table(init, "init", pairs=False)
    estimators = {}
    for name in models:
        model_bounds, model_init = model_settings(name, bounds_table, init_table)
        estimator = make_model(name, bounds=model_bounds, init=model_init, start=start,
                               n_starts=n_starts, random_state=random_state, n_jobs=n_jobs,
                               **({} if gradient is None else {"gradient": gradient}),
                               **({} if intervals is None else {"intervals": intervals}))
        try:
            estimator._fit_settings()  # bounds, start values, start mode, n_starts
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        estimators[name] = estimator
    return estimators


def method_estimators(method_class, models, *, bounds=None, init=None, start=None,
                      n_starts=None, random_state=None, n_jobs=None, method_settings=None,
                      gradient=None, intervals=None):
    """The inference method's estimator of every model (settings checked): ``{name: estimator}``.

    Every setting is checked first, ``init``, ``start`` and ``n_starts`` too.
    A method that does not use the models' starts (``uses_starts`` False)
    gets models built without them, so the recorded settings are the ones
    used; each is then wrapped by ``method_class.from_model`` (which, for
    maximum likelihood, is the model estimator itself), with the method's own
    ``method_settings`` (see :func:`check_method_settings`).
    """
    own = check_method_settings(method_class, method_settings)
    if gradient is not None and not getattr(method_class, "uses_gradient", True):
        raise ValueError(f"gradient has no effect with the {method_class.fit_method_name} "
                         "fit (it needs no gradient): leave it None")
    if intervals is not None and not getattr(method_class, "takes_interval_method", False):
        raise ValueError(f"intervals chooses maximum-likelihood intervals; the "
                         f"{method_class.fit_method_name} fit reports its own posterior "
                         "intervals: leave it None")
    estimators = build_estimators(models, bounds=bounds, init=init, start=start,
                                  n_starts=n_starts, random_state=random_state, n_jobs=n_jobs,
                                  gradient=gradient, intervals=intervals)
    if not method_class.uses_starts:
        estimators = build_estimators(models, bounds=bounds, random_state=random_state,
                                      n_jobs=n_jobs, gradient=gradient)
    fitters = {}
    for name, estimator in estimators.items():
        try:
            fitters[name] = method_class.from_model(estimator, random_state=random_state,
                                                    n_jobs=n_jobs, **own)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return fitters


def default_starts_text():
    """The estimators' default start modes and numbers of starts, in words."""
    by_setting = {}
    for name, cls in ESTIMATORS.items():
        by_setting.setdefault((cls._default_start, cls._default_n_starts), []).append(name)
    return "; ".join(f"{n} {start} starts for {', '.join(names)}"
                     for (start, n), names in by_setting.items())


def recovery_seed(seed, name):
    """The seed of one model's recovery, derived from ``seed`` and the model name."""
    if seed is None:
        return None
    sequence = np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])
    return int(sequence.generate_state(1)[0] % DERIVED_SEED_RANGE)
