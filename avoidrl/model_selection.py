"""Tools for scikit-learn's model selection with avoidrl estimators.

The likelihood of a participant is a sequential recursion over all of their
trials, so scikit-learn's default splitters, which split trial rows, would
silently fit partial sequences. Grid searches over bounds or options compare
in-sample fits by BIC (``score`` is minus the mean BIC): use
:class:`InSampleSplit` and pass both phases in one long frame
(:func:`combine_phases`), so the transfer phase reaches ``fit`` and ``score``.

Examples
--------
>>> from sklearn.model_selection import GridSearchCV
>>> from avoidrl import QLearning, load_example
>>> from avoidrl.model_selection import InSampleSplit, combine_phases
>>> X = combine_phases(*load_example())
>>> search = GridSearchCV(
...     QLearning(novel=True, n_starts=3, random_state=0),
...     {"bounds": [{"temperature": (0.01, t)} for t in (0.2, 0.5, 1.0)]},
...     cv=InSampleSplit())
>>> search.fit(X).best_params_ # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._bms import log_evidence_table, random_effects_bms
from ._data import LEARNING_TRIAL_TYPE, TRANSFER_TRIAL_TYPE, read_frame

__all__ = ["InSampleSplit", "combine_phases", "log_evidence_table", "random_effects_bms"]


def combine_phases(X_learning, X_transfer):
    """Concatenate the two phases into one long frame that ``fit(X)`` accepts.

    A ``trial_type`` column is set to ``learning-trials`` / ``probe``
    (overwriting any existing one).

    Parameters
    ----------
    X_learning, X_transfer : DataFrame or path

    Returns
    -------
    DataFrame
    """
    learning = read_frame(X_learning, "X_learning").assign(trial_type=LEARNING_TRIAL_TYPE)
    transfer = read_frame(X_transfer, "X_transfer").assign(trial_type=TRANSFER_TRIAL_TYPE)
    return pd.concat([learning, transfer], ignore_index=True)


class InSampleSplit:
    """A single split whose training and test sets are all rows.

    For model selection by an in-sample criterion (BIC): every candidate is
    fitted to all participants' complete data and scored on the same data.

    Examples
    --------
    >>> import numpy as np
    >>> from avoidrl.model_selection import InSampleSplit
    >>> [(train.tolist(), test.tolist()) for train, test in InSampleSplit().split(np.zeros((3, 1)))]
    [([0, 1, 2], [0, 1, 2])]
    """

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` = (all rows, all rows) once."""
        rows = np.arange(len(X))
        yield rows, rows

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return 1."""
        return 1

    def __repr__(self):
        return "InSampleSplit()"
