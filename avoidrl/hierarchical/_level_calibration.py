"""Credible levels of EmpiricalBayes's intervals, calibrated on groups simulated from the fit.

A plug-in empirical-Bayes interval is a posterior interval under a population
estimated from N participants, so it covers less often than it claims: the
population's own error, the importance draws' reach into the tails and a
population that is not Gaussian in z all narrow it. Following the bootstrap
calibration of empirical-Bayes intervals (Laird & Louis 1987, JASA 82:739;
Carlin & Gelfand 1990, JASA 85:105), the fit is repeated on groups simulated
from itself and each parameter's credible level is raised until the simulated
groups' intervals cover their generating values as often as the nominal level
says.

Each simulated group keeps every participant's own trials; a participant's
generating parameters are one draw from its own posterior (the fit's final
importance draws, weighted under the fitted population), so the simulated
population follows what each participant's data say, not the Gaussian alone
(though a participant far from the others is still drawn shrunk toward them,
so misses that come from such outliers are not corrected); its choices are
then drawn anew and the whole EM is refitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._core.simulate import resimulate
from .._core.transform import Z_LIMIT, to_bounded
from .._utils.warnings import warn
from ..estimators._multistart import _child_seed
from ._laplace import _importance_weights, _interval_weights, _weighted_quantiles

#: the central credible levels searched, from the nominal 0.95 up to 0.999: their
#: tail shares (1 - level) / 2 are spaced evenly on a log scale
LEVELS = 1.0 - 2.0 * np.geomspace(0.025, 0.0005, 29)
#: sub-stream of a participant's seed for calibration group ``b``: CALIBRATION_STREAM + b
#: (the EM's own streams are 2 and 3)
CALIBRATION_STREAM = 1000


def calibration_seed(seed, b):
    """Participant ``seed``'s sub-stream for simulated group ``b``."""
    return _child_seed(seed, CALIBRATION_STREAM + b)


def posterior_draw(estep, population, seeds, b):
    """One draw per participant from its posterior (the final importance draws), in z.

    Participant ``i``'s draw comes from its own stream, so it does not depend
    on who else is in the group beyond the fitted population. Clipped to the
    z range the likelihood is evaluated on, so it is the value simulated.
    """
    weights = _importance_weights(estep["samples"], estep["log_weight"], population)
    index = np.array([np.random.default_rng(_child_seed(calibration_seed(seed, b), 0))
                      .choice(weights.shape[1], p=w) for seed, w in zip(seeds, weights)])
    return np.clip(estep["samples"][np.arange(len(index)), index], -Z_LIMIT, Z_LIMIT)


def simulated_group(variant, data, z, low, high, seeds, b):
    """``data`` with every participant's choices drawn anew at ``z`` (n, k), each from its own stream."""
    rngs = [np.random.RandomState(_child_seed(calibration_seed(seed, b), 1).generate_state(4))
            for seed in seeds]
    params = to_bounded(z, low, high)
    return resimulate(variant, data, params, rngs)


def inside_at_levels(estep, population, truth, rng, levels=LEVELS):
    """Whether each interval contains ``truth`` (n, k, in z), at every level: (L, n, k)."""
    tails = 0.5 * (1.0 - np.asarray(levels, dtype=float))
    k = truth.shape[1]
    probabilities = np.repeat(np.concatenate([tails, 1.0 - tails])[:, None], k, axis=1)
    weights = _interval_weights(estep, population, rng)
    bounds = _weighted_quantiles(estep["samples"], weights, probabilities)
    lower, upper = bounds[:len(tails)], bounds[len(tails):]
    return (lower <= truth) & (truth <= upper)


def choose_levels(inside, nominal=0.95, levels=LEVELS):
    """Per parameter, the smallest level whose simulated coverage reaches ``nominal``.

    ``inside`` (L, m, k): the simulated intervals at each level. Returns the
    levels (k,), the coverage at the nominal level and at the chosen one
    (k,), and whether the chosen level reached ``nominal`` (False: the widest
    level tried was taken).
    """
    coverage = inside.mean(axis=1)                       # (L, k)
    reached = coverage >= nominal
    found = reached.any(axis=0)
    index = np.where(found, reached.argmax(axis=0), len(levels) - 1)
    columns = np.arange(coverage.shape[1])
    return np.asarray(levels)[index], coverage[0], coverage[index, columns], found


def calibrate_levels(estimator, data, seeds, settings, units, results, base, nominal):
    """The table of :attr:`EmpiricalBayes.interval_calibration_`, from its simulated groups.

    ``results`` are the fit's EM results per group (``units``: the group's
    participants); every simulated group is refitted by ``estimator._em``
    on its own streams, so the fit itself is left as it was.
    """
    names = list(settings.variant.parameter_names)
    inside = []
    for b in range(estimator.interval_calibration):
        for position, (group, index) in enumerate(units.items()):
            own = [seeds[i] for i in index]
            fitted = results[group]
            z = posterior_draw(fitted["estep"], fitted["population"], own, b)
            simulated = simulated_group(settings.variant, data.subset(index), z, settings.low,
                                        settings.high, own, b)
            refit = estimator._em(simulated, [calibration_seed(s, b) for s in own], settings,
                                  group, [])
            rng = np.random.default_rng(np.random.SeedSequence([base, 0xCA1, b, position]))
            inside.append(inside_at_levels(refit["estep"], refit["population"], z, rng))
    inside = np.concatenate(inside, axis=1)
    levels, at_nominal, calibrated, reached = choose_levels(inside, nominal)
    if not reached.all():
        short = [f"{name} ({c:.3f})" for name, c, ok in zip(names, calibrated, reached) if not ok]
        warn(f"{settings.variant.name}: at the widest credible level tried ({LEVELS[-1]:g}) "
             f"the intervals of the simulated groups still covered their generating values "
             f"less often than {nominal:g}: {', '.join(short)}. Those intervals are reported "
             f"at {LEVELS[-1]:g} and cover less than they claim; see interval_calibration_",
             UserWarning)
    return pd.DataFrame({"n": inside.shape[1], "coverage_nominal": at_nominal,
                         "level": levels, "coverage": calibrated, "reached": reached},
                        index=pd.Index(names, name="parameter"))
