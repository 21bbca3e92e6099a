"""The fitted-model protocol, and what tables and statistics read through it.

Every fitted avoidrl estimator, whatever inference method made it, answers
for itself; nothing outside a method's own code asks *which* method it was:

``fit_method`` (class attribute, str)
    The method's label: ``'ml'`` (maximum likelihood, the model estimators),
    ``'eb'`` (:class:`avoidrl.hierarchical.EmpiricalBayes`).
``fit_method_name`` (class attribute, str)
    The method as an adjective of "fit": ``'maximum-likelihood'``,
    ``'empirical-Bayes'`` (error messages).
``fit_method_description`` (class attribute, str)
    One sentence naming the method, for summaries and folder READMEs.
``evidence_label`` (class attribute, str)
    What ``evidence_`` is: ``'-BIC/2'`` or ``'Laplace'``.
``comparison_criteria`` (class attribute, dict)
    The criteria the fits can be compared by, ``{label: criterion}`` in the
    order the report shows them, e.g. ``{'AIC': 'aic', 'BIC': 'bic'}``.
``recovery_criterion_label`` (class attribute, str)
    What model recovery minimises for this method (``'BIC'``, ...).
``recovery_criterion`` (class attribute, str)
    Its key in the report's tables (``'bic'``, ``'laplace'``).
``interval_description`` (class attribute, str)
    What ``params_ci_`` holds, in one sentence.
``fitted_interval_description`` (property, str; ``interval_description`` when missing)
    The same for this fit, where the estimator's settings choose the
    intervals (maximum likelihood's ``intervals``).
``uses_starts``, ``unused_starts_reason`` (class attributes)
    Whether the models' start settings apply; if not, why (the front ends'
    refusal of ``--start``/``--n-starts``), else None.
``uses_gradient`` (class attribute, bool; True when missing)
    Whether the models' ``gradient`` setting applies (the method descends);
    the front ends refuse ``--gradient`` otherwise.
``fits_jointly`` (class attribute, bool)
    Whether participants are fitted together, as one population (a
    recovery then fits each group of synthetic participants jointly).
``maximizes_likelihood`` (class attribute, bool)
    Whether the estimates maximise the likelihood (a recovery fit ending
    above the NLL of its generating parameters is then an optimizer failure).
``group_criteria`` (class attribute, dict)
    Model-level criteria of a fit, ``{label: fitted attribute}``, lower is
    better (``{'iBIC': 'ibic_'}``; empty when there are none).
``summary_suffix``, ``summary_evidence_label`` (class attributes, str)
    The run summary's words: appended to "fitted N model(s) ...", and what
    the mean of -2 x ``evidence_`` is called ("BIC", ...).
``evidence_`` (fitted)
    Per-participant log evidence, a Series indexed by participant.
``bounds_`` (fitted)
    ``{parameter: (low, high)}``, the bounds the fit used.
``simulator`` (property)
    The model estimator that simulates and replays the fit (its own model
    for a hierarchical fit).
``params_``, ``params_ci_``, ``groups_``, ``n_trials_`` (fitted)
    Estimates, their intervals, group codes and trial counts.

Below both :mod:`avoidrl.stats` and :mod:`avoidrl._tables`, so that neither
imports the other for these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Relative tolerance of :func:`parameters_at_bounds`: a value counts as on a
#: bound when it is within this fraction of the parameter's range of it.
BOUND_TOLERANCE = 1e-6
#: Information criteria of maximum-likelihood fits, per participant (``aic_``, ``bic_``).
CRITERIA = ("aic", "bic")


def _check_criterion(criterion):
    key = str(criterion).lower()
    if key not in CRITERIA:
        raise ValueError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    return key


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


#: The inference methods, {label: class}, in the order they were registered
#: (maximum likelihood first). A method registers its estimator class with
#: :func:`register_fit_method` where it is defined; importing :mod:`avoidrl`
#: imports every built-in method, so the registry is complete from then on.
_FIT_METHODS = {}


def register_fit_method(cls):
    """Register an estimator class as the estimator of its ``fit_method`` (a class decorator).

    The class answers the protocol above, and also ``uses_starts`` (whether the
    models' start settings apply) and the class method
    ``from_model(estimator, random_state, n_jobs)`` that builds the method's
    estimator of a model estimator.
    """
    _FIT_METHODS[cls.fit_method] = cls
    return cls


def fit_methods():
    """{label: estimator class} of every registered inference method."""
    return dict(_FIT_METHODS)


def fit_method_of(estimator):
    """The label of the inference method that made ``estimator`` ('ml', 'eb', ...)."""
    method = getattr(estimator, "fit_method", None)
    if method is None:
        raise TypeError(f"{estimator!r} is not an avoidrl estimator (it has no fit_method)")
    return method


def _bounds_of(estimator):
    """The bounds a fit used (``bounds_``), or None for an estimator without them."""
    return getattr(estimator, "bounds_", None)


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

