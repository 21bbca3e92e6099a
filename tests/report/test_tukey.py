"""avoidrl._tukey: scipy's studentized range p-values, to the bit, by a shorter path.

The reference is scipy's public ``studentized_range.sf`` itself; every
comparison is exact (``np.array_equal``), on statistics of the sizes a
report sees and on the values scipy does not integrate (0, negative, inf,
NaN), for 2 to 6 groups and small to large degrees of freedom.
"""

import numpy as np
import pytest
import scipy.stats as sps

from avoidrl import _tukey

GRID = [(2, 4), (3, 57), (3, 9), (4, 20), (6, 300), (5, 2.5)]


@pytest.mark.parametrize("k, df", GRID)
def test_the_direct_integral_is_scipys(k, df):
    """The QUADPACK calls reproduce scipy's nquad (this is what the fast path runs)."""
    q = np.array([1e-3, 0.4, 1.7, 3.2, 4.9, 7.5])
    direct = np.array([1.0 - np.clip(_tukey._cdf_by_quadpack(x, k, df), 0, 1) for x in q])
    assert np.array_equal(direct, sps.studentized_range.sf(q, k, df))


@pytest.mark.parametrize("k, df", GRID + [(3, 200000), (1, 10), (3, 0)])
def test_studentized_range_sf_is_scipys(k, df):
    # inside the support, then values scipy answers without integrating
    q = np.array([0.3, 2.6, 5.1, 0.0, -1.0, np.inf, np.nan])
    expected = sps.studentized_range.sf(q, k, df)
    assert np.array_equal(_tukey.studentized_range_sf(q, k, df), expected, equal_nan=True)


def test_the_check_against_scipy_passes_here():
    """With this SciPy the direct path is used (not the public fallback)."""
    assert _tukey._quadpack_ok()


@pytest.mark.parametrize("sizes", [(9, 10, 11), (20, 20, 20, 20)])
def test_tukey_p_values_of_three_or_more_groups_are_scipys(sizes):
    rng = np.random.default_rng(sum(sizes))
    samples = [rng.normal(0.3 * i, 1, n) for i, n in enumerate(sizes)]
    off_diagonal = ~np.eye(len(samples), dtype=bool)
    assert np.array_equal(_tukey.tukey_p_values(samples)[off_diagonal],
                          sps.tukey_hsd(*samples).pvalue[off_diagonal])
