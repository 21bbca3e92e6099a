"""avoidrl._tukey: the studentized range by fixed quadrature, against scipy's adaptive integral.

scipy integrates each value adaptively (asking for 1e-11); the quadrature must
agree within 1e-12 over its whole checked domain, and leave the rest to scipy.
"""

import numpy as np
import pytest
import scipy.stats as sps

from avoidrl import _tukey

DFS = [2, 3, 4, 6, 9, 13, 25, 50, 77, 150, 400, 1000]


@pytest.mark.parametrize("k", range(2, _tukey.MAX_GROUPS + 1))
def test_the_quadrature_agrees_with_scipy_over_its_domain(k):
    rng = np.random.default_rng(k)
    for df in DFS:
        q = np.concatenate([[1e-3, 0.01, 0.5, 2.0, 3.5, 5.0, _tukey.MAX_Q],
                            rng.uniform(0.01, _tukey.MAX_Q, 5)])
        got = _tukey.studentized_range_sf(q, k, df)
        np.testing.assert_allclose(got, sps.studentized_range.sf(q, k, df), rtol=0,
                                   atol=1e-12, err_msg=f"k={k}, df={df}")


@pytest.mark.parametrize("k, df", [(11, 20), (3, 1001), (3, 2.5), (9, 1), (1, 10), (3, 0)])
def test_outside_the_checked_domain_scipy_answers(k, df):
    q = np.array([0.3, 2.6, 5.1])
    assert np.array_equal(_tukey.studentized_range_sf(q, k, df),
                          sps.studentized_range.sf(q, k, df), equal_nan=True)


def test_values_scipy_does_not_integrate_are_scipys():
    q = np.array([0.0, -1.0, np.inf, np.nan, 12.5, 1.0])
    expected = sps.studentized_range.sf(q, 4, 30)
    got = _tukey.studentized_range_sf(q, 4, 30)
    assert np.array_equal(got[:5], expected[:5], equal_nan=True)
    assert abs(got[5] - expected[5]) < 1e-12


def test_a_wrong_quadrature_would_be_caught():
    """The tolerance is tight enough to see a quadrature of half the nodes in z."""
    nodes, weights = (9.0 * part for part in np.polynomial.legendre.leggauss(24))
    coarse = 3 * (np.exp(-0.5 * nodes ** 2) / np.sqrt(2 * np.pi)
                  * (sps.norm.cdf(nodes) - sps.norm.cdf(nodes - 2.0)) ** 2) @ weights
    exact = _tukey._range_cdf(np.array([2.0]), 3)[0]
    assert abs(coarse - exact) > 1e-12


@pytest.mark.parametrize("sizes", [(9, 10, 11), (20, 20, 20, 20), (7, 13)])
def test_tukey_p_values_agree_with_scipys_tukey_hsd(sizes):
    rng = np.random.default_rng(sum(sizes))
    samples = [rng.normal(0.3 * i, 1, n) for i, n in enumerate(sizes)]
    off_diagonal = ~np.eye(len(samples), dtype=bool)
    np.testing.assert_allclose(_tukey.tukey_p_values(samples)[off_diagonal],
                               sps.tukey_hsd(*samples).pvalue[off_diagonal], rtol=0, atol=1e-12)
