"""EmpiricalBayes's stored posterior quantiles, and intervals at any level read back from them.

Every fit keeps each participant's quantiles at :data:`QUANTILE_PROBABILITIES`
(``posterior_quantiles_``), so :meth:`EmpiricalBayes.credible_intervals` gives
intervals at another level without the importance draws, which are not kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from .._core.transform import Z_LIMIT, to_bounded, to_unbounded
from .._utils.validation import is_number

#: the stored quantiles, as lower-tail probabilities up to the median: every 0.025 from
#: 0.5 down to 0.025, then evenly on a log scale to 0.0005 (the 0.999 interval), and the
#: mirror images above
QUANTILE_TAILS = np.unique(np.concatenate([np.geomspace(0.0005, 0.025, 13),
                                           0.025 * np.arange(1, 21)]))
QUANTILE_PROBABILITIES = np.concatenate([QUANTILE_TAILS, 1.0 - QUANTILE_TAILS[-2::-1]])
#: the widest central level the stored quantiles give
WIDEST_LEVEL = 1.0 - 2.0 * QUANTILE_TAILS[0]


def gaussian_quantiles(z, cov):
    """Quantiles in z at :data:`QUANTILE_PROBABILITIES` of Gaussians (Laplace): (P, n, k)."""
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    return z + norm.ppf(QUANTILE_PROBABILITIES)[:, None, None] * sd


def quantile_table(quantiles, low, high, index):
    """``posterior_quantiles_``: quantiles in z (P, n, k) in natural units, rows as ``index``."""
    values = to_bounded(quantiles, low, high).reshape(len(QUANTILE_PROBABILITIES), -1).T
    return pd.DataFrame(values, index=index,
                        columns=pd.Index(QUANTILE_PROBABILITIES, name="probability"))


class QuantileIntervals:
    """EmpiricalBayes's :meth:`credible_intervals` (a mixin), read from ``posterior_quantiles_``."""

    def credible_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Equal-tailed posterior intervals at another credible ``level``, laid out as ``params_ci_``.

        Read from ``posterior_quantiles_``: exact at the levels its
        probabilities give (0.95, 0.9, ..., 0.05 in steps of 0.05, and 0.999,
        0.9986, ..., 0.964 between 0.95 and 0.999); between them, interpolated
        linearly in z against the probabilities' normal scores (exact for the
        Gaussian posteriors of ``m_step='laplace'``). Each interval is widened to contain
        ``estimate`` if needed, as ``params_ci_``'s are. ``interval_calibration``'s
        levels apply to ``params_ci_`` only: these intervals are at ``level``
        as stated. Their coverage, measured with ``benchmarks/bench_hierarchical.py
        --report coverage --levels ...`` (20 replicates of 60, by parameter):
        QLearning+novel .82-.86 at 0.9, .86-.91 at 0.95, .91-.96 at 0.99,
        .94-.98 at 0.999; Hybrid2012+novel .79-.87, .85-.93, .91-.98 and
        .95-.99.

        Parameters
        ----------
        level : float, default=0.95
            Central credible level, in (0, 0.999]: the stored quantiles reach
            the 0.05 % tails.

        Returns
        -------
        DataFrame
            Indexed by (participant_id, parameter): ``estimate``, ``lower``,
            ``upper``, ``status``.
        """
        check_is_fitted(self, "posterior_quantiles_")
        if self.posterior_quantiles_ is None:
            raise ValueError("this EmpiricalBayes was fitted by an avoidrl that did not keep "
                             "posterior quantiles: refit it to get credible_intervals")
        if not is_number(level) or not 0 < level <= WIDEST_LEVEL + 1e-12:
            raise ValueError(f"level must be a number in (0, {WIDEST_LEVEL:g}] (the stored "
                             f"posterior quantiles reach the {QUANTILE_TAILS[0]:.2%} tails), "
                             f"got {level!r}")
        settings = self._settings()
        low, high, grid = settings.low, settings.high, self.posterior_quantiles_
        tail = 0.5 * (1.0 - float(level))
        # linear in z against the probabilities' normal scores: exact for a Gaussian in z
        scores = norm.ppf(grid.columns.to_numpy(float))
        values = grid.to_numpy().reshape(-1, len(low), len(scores))
        z = np.clip(to_unbounded(np.swapaxes(values, 1, 2), low, high), -Z_LIMIT, Z_LIMIT)
        table = self.params_ci_[["estimate"]].copy()
        for column, probability in (("lower", tail), ("upper", 1.0 - tail)):
            score = norm.ppf(probability)
            at = np.searchsorted(scores, score).clip(1, len(scores) - 1)
            share = (score - scores[at - 1]) / (scores[at] - scores[at - 1])
            table[column] = to_bounded((1.0 - share) * z[:, at - 1] + share * z[:, at],
                                       low, high).ravel()
        # widened to contain the estimate, as params_ci_'s are
        table["lower"] = np.minimum(table["lower"], table["estimate"])
        table["upper"] = np.maximum(table["upper"], table["estimate"])
        table["status"] = self.params_ci_["status"]
        return table
