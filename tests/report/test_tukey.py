"""avoidrl._tukey: the Tukey HSD p-values are scipy's own, to the bit."""

import numpy as np
import pytest
import scipy.stats as sps

from avoidrl import _tukey


@pytest.mark.parametrize("sizes", [(9, 10, 11), (20, 20, 20, 20)])
def test_tukey_p_values_of_three_or_more_groups_are_scipys(sizes):
    rng = np.random.default_rng(sum(sizes))
    samples = [rng.normal(0.3 * i, 1, n) for i, n in enumerate(sizes)]
    off_diagonal = ~np.eye(len(samples), dtype=bool)
    assert np.array_equal(_tukey.tukey_p_values(samples)[off_diagonal],
                          sps.tukey_hsd(*samples).pvalue[off_diagonal])


def test_two_groups_of_unequal_sizes_are_scipys():
    rng = np.random.default_rng(5)
    samples = [rng.normal(0, 1, 7), rng.normal(1, 2, 13)]
    assert np.array_equal(_tukey.tukey_p_values(samples)[0, 1],
                          sps.tukey_hsd(*samples).pvalue[0, 1])
