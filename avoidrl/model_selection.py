"""Tools for scikit-learn's model selection with avoidrl estimators.

The likelihood of a participant is a sequential recursion over all of their
trials, so a participant's trials must never be split. Pass both phases in
one long frame made by :func:`combine_phases` (so the transfer phase reaches
``fit`` and ``score``); it records each participant's number of trials, and
a frame whose trial rows were split (``KFold``, ``ShuffleSplit``, the default
``cv``) is refused with one error that names the supported splitters:

* :class:`InSampleSplit`: every candidate fits and is scored on all
  participants' complete data. For an estimator, ``score`` is minus the mean
  BIC (comparing models with different numbers of parameters); for
  :class:`~avoidrl.recovery.ParameterRecovery`, ``score`` rates how well the
  parameters are recovered (choosing bounds).
* ``GroupKFold`` / ``GroupShuffleSplit`` with ``groups=X["participant_id"]``:
  held-out participants are scored by their predictive likelihood under the
  population fitted to the others (see the estimators' ``score``).

Examples
--------
Choose the temperature's upper bound by how well the parameters are
recovered, and the novel-value option by BIC:

>>> from sklearn.model_selection import GridSearchCV
>>> from avoidrl import QLearning, load_example
>>> from avoidrl.model_selection import InSampleSplit, combine_phases
>>> from avoidrl.recovery import ParameterRecovery
>>> X = combine_phases(*load_example())
>>> bounds = GridSearchCV(
...     ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=20, random_state=0),
...     {"estimator__bounds": [{"temperature": (0.01, t)} for t in (0.05, 0.2, 10.0)]},
...     cv=InSampleSplit())
>>> bounds.fit(X).best_params_ # doctest: +SKIP
{'estimator__bounds': {'temperature': (0.01, 0.2)}}
>>> options = GridSearchCV(QLearning(random_state=0), {"novel": [False, True]},
...                        cv=InSampleSplit())
>>> options.fit(X).best_params_ # doctest: +SKIP
{'novel': True}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._bms import log_evidence_table, random_effects_bms
from ._core.data import (
    LEARNING_TRIAL_TYPE, PARTICIPANT_TRIALS, TRANSFER_TRIAL_TYPE, check_participant_ids,
    read_frame,
)

__all__ = ["InSampleSplit", "combine_phases", "log_evidence_table", "random_effects_bms"]

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._utils.typing import FrameLike

#: Pareto k above which a participant's PSIS-LOO estimate is unreliable (Vehtari et al. 2017)
PARETO_K_LIMIT = 0.7


def combine_phases(X_learning: FrameLike, X_transfer: FrameLike) -> pd.DataFrame:
    """Concatenate the two phases into one long frame that ``fit(X)`` accepts.

    A ``trial_type`` column is set to ``learning-trials`` / ``probe`` and a
    ``participant_trials`` column to each participant's number of rows in
    both phases (overwriting existing ones). ``fit`` and ``score`` check the
    count, so a frame whose trial rows were split by a cross-validator is
    refused; remove trials on purpose before combining.

    Parameters
    ----------
    X_learning, X_transfer : DataFrame or path

    Returns
    -------
    DataFrame
    """
    learning = read_frame(X_learning, "X_learning").assign(trial_type=LEARNING_TRIAL_TYPE)
    transfer = read_frame(X_transfer, "X_transfer").assign(trial_type=TRANSFER_TRIAL_TYPE)
    for frame, phase in ((learning, "learning"), (transfer, "transfer")):
        check_participant_ids(frame, phase)
    combined = pd.concat([learning, transfer], ignore_index=True)
    ids = combined["participant_id"]
    combined[PARTICIPANT_TRIALS] = ids.map(ids.value_counts()).to_numpy(dtype=np.int64)
    return combined


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

    def split(self, X: Any, y: Any = None,
              groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` = (all rows, all rows) once."""
        rows = np.arange(len(X))
        yield rows, rows

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Return 1."""
        return 1

    def __repr__(self):
        return "InSampleSplit()"
