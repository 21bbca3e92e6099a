"""Start values and default bounds keyed the reference's way: ``{Base: {param: ...}}``.

The reference pipeline takes ``fixed=fixed_priors(models)`` and
``bounds={Base: {param: (low, high)}}``, keyed by the base model name without
its ``+options``. These helpers build those dictionaries from avoidrl's own
model declarations (:mod:`avoidrl.models._builtin`), so there is one table of start
values and bounds, not two.

For each base the dictionary holds its own parameters and the parameters of
every option the base takes (``valence_factor`` for ActorCritic and the hybrids,
``novel_value`` for all, ``decay_factor`` for every model with Q values), as
the reference's ``fixed_priors`` does; a fit uses the entries of the options
that are on.

Examples
--------
>>> from avoidrl.priors import fixed_priors, default_bounds
>>> priors = fixed_priors(["QLearning+novel", "Relative+novel"])
>>> list(priors)
['QLearning', 'Relative']
>>> list(priors["QLearning"].items())[:3]
[('factual_lr', 0.28), ('counterfactual_lr', 0.18), ('temperature', 0.06)]
>>> default_bounds(["QLearning"])["QLearning"]["temperature"]
(0.01, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable

from .models._declare import Parameter
from .models._builtin import BASE_MODELS, DECAY, NOVEL, VALENCE, parse_model_name

__all__ = ["fixed_priors", "default_bounds", "base_parameters"]


def base_parameters(base_name: str) -> tuple[Parameter, ...]:
    """The free parameters a base model can have: its own, then its options' ones.

    Parameters
    ----------
    base_name : str
        A base model name (``"QLearning"``, ``"Hybrid2012"``, ...).

    Returns
    -------
    tuple of avoidrl.models._builtin.Parameter
        In the reference's order: base parameters, then ``valence_factor``
        (if the base takes ``+bias``), ``novel_value``, ``decay_factor`` (if the
        base has Q values).
    """
    if base_name not in BASE_MODELS:
        raise ValueError(f"unknown base model {base_name!r}; valid bases are "
                         f"{sorted(BASE_MODELS)}")
    base = BASE_MODELS[base_name]
    options = (VALENCE,) if base.allows_bias else ()
    options += (NOVEL,)
    options += (DECAY,) if base.has_q_values else ()
    return tuple(base.parameters) + options


def _bases(models):
    """Base names of ``models`` in order of first appearance (all bases for None)."""
    if models is None:
        return list(BASE_MODELS)
    if isinstance(models, str):
        models = [models]
    bases = []
    for name in models:
        base_name, _ = parse_model_name(name)  # raises on a misspelt name, listing the valid ones
        if base_name not in bases:
            bases.append(base_name)
    return bases


def fixed_priors(models: Iterable[str] | str | None = None) -> dict[str, dict[str, float]]:
    """The reference's start values (its "fixed priors") for ``models``.

    Parameters
    ----------
    models : list of str or str, optional
        Reference-style model names (``"Hybrid2012+bias+novel"``); options do
        not matter, only the base. None gives every base model.

    Returns
    -------
    dict
        ``{Base: {parameter: start value}}``, the ``fixed`` argument of
        :class:`avoidrl.pipeline.Pipeline` (the estimators' ``init``).

    Raises
    ------
    ValueError
        For a misspelt model name (the message lists the valid bases).
    """
    return {base: {p.name: float(p.init) for p in base_parameters(base)}
            for base in _bases(models)}


def default_bounds(
        models: Iterable[str] | str | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """The default parameter bounds for ``models``.

    Parameters
    ----------
    models : list of str or str, optional
        Reference-style model names; None gives every base model.

    Returns
    -------
    dict
        ``{Base: {parameter: (low, high)}}``, the shape of the ``bounds``
        argument of :class:`avoidrl.pipeline.Pipeline`.
    """
    return {base: {p.name: (float(p.low), float(p.high)) for p in base_parameters(base)}
            for base in _bases(models)}
