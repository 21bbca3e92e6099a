"""Transfer prediction: each transfer trial's choice probabilities under fitted parameters.

The natural out-of-sample test of the task: fit the learning phase alone
(``fit(X_learning)``), then ask how well the values learned predict the
transfer choices, which the fit never saw. A participant's transfer values
are the state after its learning trials (decayed, with the novel symbol's
value, as the model does before transfer); each transfer choice is a
softmax of the two symbols' values at the fitted temperature (with the
lapse, for the lapse models). :class:`TransferPrediction` gives the
estimators (:class:`~._base.RLModelBase`) :func:`transfer_probabilities` as
``predict_proba`` and :func:`transfer_log_loss` as ``transfer_log_loss``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._core.data import split_phases
from .._core.likelihood import Objective, choice_nll, learning_recursion

if TYPE_CHECKING:
    from .._utils.typing import FrameLike


def _transfer_values(variant, data, matrix):
    """The nine stimulus values (n_participants, 9) after each participant's learning."""
    theta = variant.theta(matrix)
    _, final = learning_recursion(variant, theta, data.choice, data.outcome,
                                  data.mask.sum(axis=0) if data.padded else None)
    return variant.transfer_values(final, theta), theta


def _row_positions(transfer, participants):
    """Each transfer row's participant position and its rank among that participant's rows."""
    position = {pid: i for i, pid in enumerate(participants)}
    who = np.fromiter((position[p] for p in transfer["participant_id"].to_numpy(dtype=object)),
                      dtype=np.intp, count=len(transfer))
    rank = pd.Series(who).groupby(who).cumcount().to_numpy()
    return who, rank


def transfer_probabilities(variant, data, matrix, transfer):
    """``[P(left), P(right)]`` of each row of the transfer frame, in row order.

    Parameters
    ----------
    variant : ModelVariant
    data : TaskData
        The validated data of both phases (``transfer`` is its transfer frame).
    matrix : ndarray, shape (n_participants, k)
        Each participant's parameters, in ``data.participants`` order.
    transfer : DataFrame
        The transfer rows, as validated into ``data``.

    Returns
    -------
    ndarray, shape (n_rows, 2)
        Missed trials (no choice made) get probabilities too: the pair was shown.
    """
    if len(transfer) == 0:
        raise ValueError("the transfer data are empty: give the transfer trials to predict "
                         "(X_transfer, or probe rows of a long frame)")
    values, theta = _transfer_values(variant, data, matrix)
    who, rank = _row_positions(transfer, data.participants)
    higher, lower = data.transfer_first[who, rank], data.transfer_second[who, rank]
    # choosing the lower-valued symbol costs choice_nll((v_higher - v_lower) / T)
    x = (values[who, higher] - values[who, lower]) / theta["temperature"][who, 0]
    noise = theta["noise_factor"][who, 0] if variant.base.lapse else None
    p_lower = np.exp(-choice_nll(x, noise))
    left_higher = (transfer["symbol_L_value"].to_numpy(float)
                   > transfer["symbol_R_value"].to_numpy(float))
    p_right = np.where(left_higher, p_lower, 1.0 - p_lower)
    return np.column_stack([1.0 - p_right, p_right])


def transfer_log_loss(variant, data, matrix):
    """Per participant: transfer trials with a choice, their NLL and its mean per trial.

    The NLL is the likelihood kernel's transfer phase at ``matrix``: the sum
    of ``-log P(choice)`` over the transfer trials with a choice, so
    ``log_loss`` equals scikit-learn's ``log_loss`` of ``predict_proba`` on
    those trials.
    """
    if not data.n_transfer.any():
        raise ValueError("the transfer data are empty: no transfer choice to score "
                         "(give X_transfer, or probe rows of a long frame)")
    _, nll = Objective(variant, data).phases(matrix)
    n = data.n_transfer
    with np.errstate(invalid="ignore", divide="ignore"):  # a participant who missed all: NaN
        mean = np.where(n > 0, nll / n, np.nan)
    return pd.DataFrame({"n_trials": n, "nll": nll, "log_loss": mean},
                        index=pd.Index(data.participants, name="participant_id"))


class TransferPrediction:
    """``predict_proba`` and ``transfer_log_loss`` of a fitted estimator.

    Uses the estimator's ``_variant``, ``_load`` and ``_params_matrix``.
    """

    def predict_proba(self, X_learning: FrameLike, X_transfer: FrameLike | None = None,
                      params: pd.DataFrame | None = None) -> np.ndarray:
        """Probability of choosing the left and the right symbol on each transfer trial.

        Each participant's transfer values are those after its learning
        trials (in ``X_learning``) under its parameters; a choice is the
        model's softmax of the two values (with its lapse, if any). Fit the
        learning phase alone (``fit(X_learning)``) to predict the transfer
        phase out of sample.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path
            As in :meth:`fit`; the transfer rows are the trials predicted.
        params : DataFrame, optional
            Indexed by participant_id; defaults to the fitted ``params_``.

        Returns
        -------
        ndarray, shape (n_transfer_rows, 2)
            ``[P(left), P(right)]`` (``choice_made`` 0 and 1) of each transfer
            row, in the rows' order; missed trials get probabilities too. So
            ``sklearn.metrics.log_loss(y, proba, labels=[0, 1])`` with ``y`` the
            ``choice_made`` of the rows with a choice (and ``proba`` of those
            rows) is :meth:`transfer_log_loss`'s mean per trial over them.
        """
        variant = self._variant()
        if params is None:  # unfitted: sklearn's NotFittedError before reading any data
            self._check_fitted_model(variant)
        learning, transfer = split_phases(X_learning, X_transfer)
        data = self._load(learning, transfer)
        matrix = self._params_matrix(params, data.participants, variant)
        return transfer_probabilities(variant, data, matrix, transfer)

    def transfer_log_loss(self, X_learning: FrameLike, X_transfer: FrameLike | None = None,
                          params: pd.DataFrame | None = None) -> pd.DataFrame:
        """How well the parameters predict each participant's transfer choices.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path
            As in :meth:`predict_proba`.
        params : DataFrame, optional
            Indexed by participant_id; defaults to the fitted ``params_``.

        Returns
        -------
        DataFrame
            Indexed by participant_id: ``n_trials`` (transfer trials with a
            choice), ``nll`` (their summed ``-log P(choice)``) and
            ``log_loss`` (``nll / n_trials``, the per-trial log loss; 0.693 is
            chance). Missed trials are left out.
        """
        variant = self._variant()
        if params is None:
            self._check_fitted_model(variant)
        data = self._load(X_learning, X_transfer)
        matrix = self._params_matrix(params, data.participants, variant)
        return transfer_log_loss(variant, data, matrix)
