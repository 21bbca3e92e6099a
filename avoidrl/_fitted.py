"""What a fitted estimator holds, as tables and statistics read it: models by name, bounds.

Below both :mod:`avoidrl.stats` and :mod:`avoidrl._tables`, so that neither
imports the other for these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Relative tolerance of :func:`parameters_at_bounds`: a value counts as on a
#: bound when it is within this fraction of the parameter's range of it.
BOUND_TOLERANCE = 1e-6


def _model_dict(models):
    """{name: fitted estimator} from a dict, a list of estimators, or one estimator."""
    if isinstance(models, dict):
        named = dict(models)
    elif isinstance(models, (list, tuple)):
        named = {}
        for estimator in models:
            name = getattr(estimator, "model_name", None)
            if name is None:
                raise TypeError(f"{estimator!r} is not an avoidrl estimator")
            if name in named:
                raise ValueError(f"model {name!r} given twice; pass a dict to name them")
            named[name] = estimator
    elif hasattr(models, "model_name"):
        named = {models.model_name: models}
    else:
        raise TypeError("models must be a dict {name: fitted estimator}, a list of fitted "
                        f"estimators or one fitted estimator; got {type(models).__name__}")
    if not named:
        raise ValueError("no models given")
    for name, estimator in named.items():
        if not hasattr(estimator, "params_"):
            raise ValueError(f"model {name!r} is not fitted (call fit first)")
    return named


def is_empirical_bayes(estimator):
    """Whether ``estimator`` is an :class:`avoidrl.hierarchical.EmpiricalBayes`."""
    from .hierarchical import EmpiricalBayes  # late: the hierarchical package is optional here

    return isinstance(estimator, EmpiricalBayes)


def _model_of(estimator):
    """The RL model estimator that simulates and replays a fit (an EB fit's own model)."""
    return estimator.estimator if is_empirical_bayes(estimator) else estimator


def _bounds_of(estimator):
    """The bounds a fit used: ``bounds_``, or an EB fit's model's bounds (it has no bounds_)."""
    bounds = getattr(estimator, "bounds_", None)
    if bounds is None and is_empirical_bayes(estimator):
        bounds = estimator.estimator._fit_settings()["bounds"]
    return bounds


def _check_tolerance(tol):
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    return tol


def bound_sides(estimator, tol=BOUND_TOLERANCE, name=None):
    """Which bound each fitted value sits on: 'lower', 'upper' or None.

    Parameters
    ----------
    estimator : fitted estimator (maximum likelihood or EmpiricalBayes)
    tol : float, default=1e-6
        A value counts as on a bound when it is within ``tol * (high - low)``
        of it; the bounds are the ones the model was fitted with.
    name : str, optional
        The model's name in error messages.

    Returns
    -------
    DataFrame
        Shaped like ``params_`` (participants x parameters), object values.
    """
    _check_tolerance(tol)
    name = name if name is not None else getattr(estimator, "model_name", repr(estimator))
    bounds = _bounds_of(estimator)
    if bounds is None:
        raise ValueError(f"model {name!r} has no bounds_ (fit it with avoidrl)")
    params = estimator.params_
    sides = pd.DataFrame(None, index=params.index, columns=params.columns, dtype=object)
    for parameter in params.columns:
        low, high = bounds[parameter]
        margin = tol * (high - low)
        values = params[parameter].to_numpy(dtype=float)
        side = np.where(values <= low + margin, "lower",
                        np.where(values >= high - margin, "upper", None))
        sides[parameter] = pd.Series(side, index=params.index, dtype=object)
    return sides


def bound_counts(models, tol=BOUND_TOLERANCE):
    """How many fits sit on each bound, per model, parameter and group.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    tol : float, default=1e-6
        Bound tolerance, as a fraction of each parameter's range (see
        :func:`parameters_at_bounds`).

    Returns
    -------
    DataFrame
        One row per model, parameter and group (groups in order of first
        appearance): model, parameter, group, lower, upper (the bounds), n
        (participants), n_lower, n_upper, n_at_bound (= n_lower + n_upper)
        and share_at_bound (n_at_bound / n).
    """
    columns = ["model", "parameter", "group", "lower", "upper", "n", "n_lower", "n_upper",
               "n_at_bound", "share_at_bound"]
    rows = []
    for name, estimator in _model_dict(models).items():
        sides = bound_sides(estimator, tol, name)
        bounds = _bounds_of(estimator)
        groups = estimator.groups_.reindex(sides.index).astype(object).to_numpy()
        for parameter in sides.columns:
            side = sides[parameter].to_numpy(dtype=object)
            for group in pd.unique(groups):
                member = groups == group
                n_lower = int((side[member] == "lower").sum())
                n_upper = int((side[member] == "upper").sum())
                n = int(member.sum())
                rows.append({"model": name, "parameter": parameter, "group": group,
                             "lower": float(bounds[parameter][0]),
                             "upper": float(bounds[parameter][1]), "n": n,
                             "n_lower": n_lower, "n_upper": n_upper,
                             "n_at_bound": n_lower + n_upper,
                             "share_at_bound": (n_lower + n_upper) / n if n else np.nan})
    return pd.DataFrame(rows, columns=columns)
