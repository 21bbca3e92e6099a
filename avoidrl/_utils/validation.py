"""Shared checks of estimator arguments, and the vocabularies they check against.

Below every estimator (:mod:`avoidrl.estimators`, :mod:`avoidrl.hierarchical`)
and the declarations (:mod:`avoidrl.models`): what a seed, a number of jobs,
a start mode or a plain number may be is decided here once, so each fit
method checks its constructor arguments the same way and says so in the same
words.
"""

from __future__ import annotations

import numbers

import numpy as np
from joblib import effective_n_jobs as _joblib_n_jobs
from sklearn.utils import check_random_state

#: How an estimator draws its starts: N(init, range / 15) clipped to the bounds,
#: uniform within the bounds, or the start values themselves.
START_MODES = ("normal", "random", "fixed")
#: Integer seeds (``random_state``) lie in [0, SEED_LIMIT): numpy's RandomState range.
SEED_LIMIT = 2 ** 32
#: Seeds drawn from a random stream for the sub-fits of recovery and
#: simulation studies lie in [0, DRAWN_SEED_LIMIT) (numpy's int32 maximum, as
#: ``RandomState.randint`` draws by default). Not used by the estimators; stated
#: here so that the modules that draw such seeds can share it.
DRAWN_SEED_LIMIT = np.iinfo(np.int32).max


def is_number(value, *, integer=False):
    """Whether ``value`` is a real number (an integer with ``integer=True``) and not a bool.

    A bool is an ``numbers.Integral`` to Python but never a meaningful count
    or setting here (``n_starts=True``), so it is refused everywhere.
    """
    kind = numbers.Integral if integer else numbers.Real
    return isinstance(value, kind) and not isinstance(value, (bool, np.bool_))


def _expected(integer, low, open_low):
    if integer:
        return "a positive integer" if low == 1 and not open_low else "an integer"
    if low == 0:
        return "a positive number" if open_low else "a non-negative number"
    return "a number"


def check_number(value, name, *, integer=False, low=None, open_low=False, finite=False,
                 expected=None):
    """``value`` if it is a number (not a bool) within the limits, else a ValueError.

    Parameters
    ----------
    value : object
    name : str
        How the message names it, e.g. ``'n_starts'`` or ``"init['temperature']"``.
    integer : bool, default=False
        Require an integer.
    low : float, optional
        The lowest allowed value (excluded with ``open_low=True``).
    finite : bool, default=False
        Refuse infinite values (NaN is refused by any ``low``).
    expected : str, optional
        What the message says was expected; by default 'a positive integer',
        'a positive number', 'a non-negative number', 'an integer' or 'a number'.

    Returns
    -------
    value, unchanged
    """
    ok = is_number(value, integer=integer) and (not finite or bool(np.isfinite(value)))
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if not ok:
        if expected is None:
            expected = _expected(integer, low, open_low)
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_n_jobs(n_jobs):
    """None or a non-zero integer (joblib's meaning: -1 = all cores)."""
    if n_jobs is None:
        return None
    if not is_number(n_jobs, integer=True) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer (-1 = all cores), got "
                         f"{n_jobs!r}")
    return int(n_jobs)


def effective_n_jobs(n_jobs):
    """The number of workers ``n_jobs`` means (None = 1, -1 = all cores)."""
    return _joblib_n_jobs(n_jobs if n_jobs is not None else 1)


def check_rng(random_state):
    """``random_state`` as a RandomState, with an error that names it."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return check_random_state(random_state)
    if is_number(random_state, integer=True) and 0 <= random_state < SEED_LIMIT:
        return np.random.RandomState(int(random_state))
    raise ValueError("random_state must be None, an integer in [0, 2**32) or a numpy "
                     f"RandomState, got {random_state!r}")
