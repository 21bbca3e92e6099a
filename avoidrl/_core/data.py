"""Validated conversion of task data frames into compact arrays.

This module is the only border between pandas and numpy: everything downstream
(likelihood kernels, simulator, optimizer) sees the :class:`TaskData` arrays.
It is the flow's first step: :func:`load_task_data` checks the rows here
against the task's facts (:mod:`avoidrl._core.task`) and lays them out as
arrays with :mod:`avoidrl._core._layout`.

Conventions (see the reference's data loader):

* option 0 of a pair is the symbol with the higher ``symbol_*_value`` (the
  better option in both contexts), option 1 the lower;
* ``choice`` is 1.0 when option 1 (the worse option) was chosen;
* outcomes are ``feedback / 10``, one per option (complete feedback);
* trial order is row order within a participant; ``trial_index``, when
  given, is only checked against it.

The rules checked are listed in :func:`load_task_data`.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._labels import (
    _groups_of, _plain, check_codes_as_text, check_ids_as_text, participant_positions,
)
from ._layout import TaskData, learning_layout, transfer_layout
from .task import (  # noqa: F401  (the task's facts, importable here as before)
    N_PAIRS, N_STIMULI, PAIR_FEEDBACK, PAIR_NAMES, PAIR_VALUES, STIMULUS_LETTERS,
    STIMULUS_NAMES, STIMULUS_VALUES, TRANSFER_PAIRS,
)

LEARNING_COLUMNS = (
    "participant_id", "group_code", "symbol_names", "symbol_L_value",
    "symbol_R_value", "feedback_L", "feedback_R", "choice_made",
)
TRANSFER_COLUMNS = (
    "participant_id", "group_code", "symbol_L_name", "symbol_R_name",
    "symbol_L_value", "symbol_R_value", "choice_made",
)
#: Columns read from CSV files as text (labels, never numbers).
TEXT_COLUMNS = ("participant_id", "group_code")
#: What ``load_task_data`` does with a missed trial (``choice_made`` missing):
#: leave it out of the likelihood ('skip') or refuse the data ('error').
MISSED_OPTIONS = ("skip", "error")
LEARNING_TRIAL_TYPE = "learning-trials"
TRANSFER_TRIAL_TYPE = "probe"
#: Written by ``combine_phases``: each participant's number of learning and
#: transfer rows, so that a frame whose trial rows were split is recognised.
PARTICIPANT_TRIALS = "participant_trials"

# looked up a whole column at once (get_indexer)
_STIMULUS_NAME_INDEX = pd.Index(STIMULUS_NAMES, dtype=object)
_PAIR_NAME_INDEX = pd.Index(PAIR_NAMES, dtype=object)


def read_frame(X, what):
    """Return ``X`` as a DataFrame, reading it if it is a CSV path."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, (str, os.PathLike)):
        path = os.fspath(X)
        if not os.path.exists(path):
            raise ValueError(f"{what}: file {path!r} does not exist")
        try:
            # Ids and group codes are labels, not numbers: read as numbers, ids
            # such as 001 and 01 would both become 1 and be merged silently.
            # Columns named here but absent are ignored by pandas, so a missing
            # column still gets the contract's own message.
            frame = pd.read_csv(path, dtype={column: str for column in TEXT_COLUMNS})
            return _text_columns_as_written(frame, path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
                OSError) as exc:
            raise ValueError(f"{what}: could not read {path!r} as CSV ({exc})") from exc
    raise ValueError(
        f"{what} must be a pandas DataFrame or a path to a CSV file, got {type(X).__name__}"
    )


def _text_columns_as_written(frame, path):
    """Ids and group codes such as ``NA`` or ``null`` as the text they are.

    pandas reads ``NA``, ``null``, ``NaN``... as missing; in a label column
    they are a participant's id or a group's code. Only truly empty cells stay
    missing (and an error, as a missing id or code is).
    """
    present = [column for column in TEXT_COLUMNS if column in frame.columns]
    if present and len(frame):
        text = pd.read_csv(path, dtype=str, usecols=present, keep_default_na=False,
                           na_values=[""])
        for column in present:
            frame[column] = text[column].to_numpy(dtype=object)
    return frame


def split_phases(X, X_transfer=None):
    """Return ``(learning_frame, transfer_frame)`` from one or two inputs.

    With ``X_transfer=None``, ``X`` holds both phases in one long frame,
    told apart by its ``trial_type`` column (``learning-trials`` / ``probe``;
    rows of any other trial type are ignored), or learning trials only: a
    frame without ``trial_type`` whose every row names a learning pair in
    ``symbol_names``. The transfer frame is then empty (a learning-only fit).
    """
    if X_transfer is not None:
        return read_frame(X, "X_learning"), read_frame(X_transfer, "X_transfer")
    X = read_frame(X, "X")
    if "trial_type" not in X.columns:
        if len(X) and "symbol_names" in X.columns and X["symbol_names"].isin(PAIR_NAMES).all():
            return X, X.iloc[:0]  # learning trials only
        raise ValueError(
            "X_transfer was not given, so X must hold both phases with a 'trial_type' "
            f"column ({LEARNING_TRIAL_TYPE!r} / {TRANSFER_TRIAL_TYPE!r}), or learning trials "
            "only (every row's 'symbol_names' a learning pair); column 'trial_type' is missing"
        )
    trial_type = X["trial_type"]
    return (X.loc[trial_type == LEARNING_TRIAL_TYPE], X.loc[trial_type == TRANSFER_TRIAL_TYPE])


def _check_columns(frame, columns, phase):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{phase} data: missing column(s) {missing}; expected at least {list(columns)}"
        )


def _plain_list(values):
    return [_plain(v) for v in values]


def _first_bad(frame, bad, column, phase, expected):
    """Raise a ValueError that names the first offending row of ``bad``.

    ``expected`` is a string, or a function of the row's position that
    returns one (for rules that depend on other columns of the row).
    """
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = frame.iloc[pos]
        if callable(expected):
            expected = expected(pos)
        raise ValueError(
            f"{phase} data: column {column!r} has {int(bad.sum())} invalid value(s); "
            f"first at row {_plain(frame.index[pos])!r} (participant "
            f"{_plain(row['participant_id'])!r}): {_plain(row[column])!r}; expected {expected}"
        )


def _to_float(frame, column):
    """The column as floats; NaN where a value is no real number."""
    values = pd.to_numeric(frame[column], errors="coerce")
    if np.iscomplexobj(values.to_numpy()):
        # pandas would drop the imaginary part silently: no complex value is a valid number.
        values = pd.Series(np.where(np.imag(values) == 0, np.real(values), np.nan))
    return values.to_numpy(dtype=float)


def _numeric(frame, column, phase):
    values = _to_float(frame, column)
    _first_bad(frame, np.isnan(values), column, phase, "a number (no NaN)")
    return values


def _missed(frame):
    """Rows whose ``choice_made`` is missing (NaN, None, empty or blank text): missed trials."""
    raw = frame["choice_made"]
    blank = _odd_values(raw, lambda v: isinstance(v, str) and not v.strip())
    return raw.isna().to_numpy() | blank


def _refuse_missed(frame, missed, phase):
    """The error of ``missed='error'``: the first participant with missed trials and its rows."""
    pos = int(np.flatnonzero(missed)[0])
    pid = frame["participant_id"].iloc[pos]
    rows = frame.index[missed & (frame["participant_id"] == pid).to_numpy()]
    raise ValueError(
        f"{phase} data: column 'choice_made' is missing on {int(missed.sum())} row(s) (missed "
        f"trials, no choice made); first participant {_plain(pid)!r}, rows "
        f"{_plain_list(rows[:10])}{' ...' if len(rows) > 10 else ''}; expected 0 (left) or "
        "1 (right). To leave missed trials out of the likelihood (no term, no update), use "
        "missed='skip' (the estimators' missed_trials='skip', the default)"
    )


def _binary_choice(frame, phase, missed="skip"):
    """``(choice, made)``: 0/1 choices (NaN on missed trials) and the rows with a choice."""
    absent = _missed(frame)
    if missed == "error" and absent.any():
        _refuse_missed(frame, absent, phase)
    choice = _to_float(frame, "choice_made").copy()  # may be a read-only view
    _first_bad(frame, ~absent & ~np.isin(choice, (0.0, 1.0)), "choice_made", phase,
               "0 (left) or 1 (right), or empty for a missed trial")
    choice[absent] = np.nan
    return choice, ~absent


def _feedback(frame, column, phase, made):
    """The feedback column; a missed trial's feedback may be missing (it is not used)."""
    values = _to_float(frame, column)
    excused = frame[column].isna().to_numpy() & ~made
    _first_bad(frame, np.isnan(values) & ~excused, column, phase,
               "a number (no NaN; missing only on a missed trial)")
    return values


def check_missed_option(missed, name="missed"):
    """``missed`` is one of :data:`MISSED_OPTIONS`."""
    if not isinstance(missed, str) or missed not in MISSED_OPTIONS:
        raise ValueError(f"{name} must be one of {list(MISSED_OPTIONS)}, got {missed!r}")
    return missed


def _check_order(frame, phase):
    """Check that ``trial_index``, when given, is a valid, increasing trial order.

    Trials are taken in row order; ``trial_index`` is only checked against it,
    per participant. A phase whose ``trial_index`` is missing on every row
    (the column came from the other phase in a concatenated frame) has no
    order to check.
    """
    if "trial_index" not in frame.columns or frame["trial_index"].isna().all():
        return
    ti = _to_float(frame, "trial_index")
    _first_bad(frame, ~np.isfinite(ti), "trial_index", phase,
               "a finite number (the trial's position; drop the column to use row order)")
    ids = frame["participant_id"].to_numpy()
    who = pd.factorize(ids)[0]
    # Each participant's rows in row order, then by trial_index: equal
    # neighbours are repeats, a drop between row-order neighbours a decrease.
    by_row = np.argsort(who, kind="stable")
    by_index = np.lexsort((ti, who))
    same_who = np.diff(who[by_index]) == 0
    # Checked before the order: sorting cannot fix duplicated trials.
    repeats = by_index[1:][same_who & (np.diff(ti[by_index]) == 0)]
    if len(repeats):
        pos = int(repeats.min())
        same = np.flatnonzero((who == who[pos]) & (ti == ti[pos]))
        raise ValueError(
            f"{phase} data: 'trial_index' {_plain(frame['trial_index'].iloc[pos])!r} is repeated "
            f"within participant {_plain(ids[pos])!r} (rows "
            f"{_plain_list(frame.index[same][:5])}); expected each trial once (duplicated rows?)"
        )
    same_who = np.diff(who[by_row]) == 0
    decreasing = by_row[1:][same_who & (np.diff(ti[by_row]) < 0)]
    if len(decreasing):
        pos = int(decreasing.min())
        raise ValueError(
            f"{phase} data: 'trial_index' decreases within participant "
            f"{_plain(ids[pos])!r} (row {_plain(frame.index[pos])!r}); "
            "trials are taken in row order, so sort each participant's rows by trial_index first"
        )


def _odd_values(series, odd, text_is_fine=False):
    """Mark the values for which ``odd(value)`` holds, looking only where types may be mixed
    (``text_is_fine``: odd is False for any string, so a column of text needs no look)."""
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal", "empty") \
            or (text_is_fine and kind == "string"):
        return np.zeros(len(series), dtype=bool)  # no text and no bools here (or only text)
    return np.fromiter((odd(v) for v in series.to_numpy(dtype=object)), dtype=bool,
                       count=len(series))


def _not_a_label(value):
    """Lists, dicts and the like cannot be told apart by hashing, so cannot label anyone."""
    return not pd.api.types.is_scalar(value)


def _check_ids(frame, phase, missing_ok=False):
    ids = frame["participant_id"]
    # A bool would equal the id 1 or 0 and merge with that participant.
    odd = _odd_values(ids, lambda v: _not_a_label(v) or isinstance(v, (bool, np.bool_)),
                      text_is_fine=True)
    if not missing_ok:
        odd |= ids.isna().to_numpy()
    _first_bad(frame, odd, "participant_id", phase, "a participant id (text or an integer)")


def check_participant_ids(frame, phase):
    """The ``participant_id`` column is present and every value can label a participant."""
    _check_columns(frame, ("participant_id",), phase)
    _check_ids(frame, phase)


def _check_groups(frame, phase):
    codes = frame["group_code"]
    if pd.api.types.infer_dtype(codes, skipna=True) == "string":
        # each distinct code stripped once: a few groups over thousands of rows
        which, distinct = pd.factorize(codes)  # a missing code is -1: not blank here
        stripped = pd.Series(distinct, dtype=codes.dtype).str.strip() == ""
        blank = np.append(stripped.to_numpy(dtype=bool, na_value=False), False)[which]
    else:
        blank = _odd_values(codes, lambda v: _not_a_label(v)
                            or (isinstance(v, str) and not v.strip()))
    _first_bad(frame, codes.isna().to_numpy() | blank, "group_code", phase,
               "a group code (not missing, not blank)")


def _name_positions(frame, column, phase, names):
    """Each row's position in the Index ``names``; a ValueError if a row holds none of them."""
    values = frame[column].astype(object).to_numpy()
    # text: hashed look-ups (np.isin compares object arrays one by one); a list cannot be hashed
    text = pd.api.types.infer_dtype(values, skipna=True) == "string"
    positions = names.get_indexer(values) if text else None
    known = positions >= 0 if text else np.isin(values, names.to_numpy())
    _first_bad(frame, ~known, column, phase, f"one of {list(names)}")
    return positions if text else names.get_indexer(values)


def _learning_arrays(frame, missed="skip"):
    phase = "learning"
    _check_columns(frame, LEARNING_COLUMNS, phase)
    _check_ids(frame, phase)
    _check_groups(frame, phase)
    pair = _name_positions(frame, "symbol_names", phase, _PAIR_NAME_INDEX)
    left = _numeric(frame, "symbol_L_value", phase)
    right = _numeric(frame, "symbol_R_value", phase)
    # each row's pair's two symbol values (a table look-up, not a loop over rows)
    pair_values = np.array([sorted(PAIR_VALUES[name]) for name in PAIR_NAMES], dtype=float)[pair]
    for column, values in (("symbol_L_value", left), ("symbol_R_value", right)):
        allowed = (values[:, None] == pair_values).any(axis=1)
        _first_bad(frame, ~allowed, column, phase,
                   "a symbol value of the row's pair (3 or 4 for Reward*, 1 or 2 for Punish*)")
    _first_bad(frame, left == right, "symbol_R_value", phase,
               "a value different from symbol_L_value (the pair's two symbols)")
    choice, made = _binary_choice(frame, phase, missed)
    fb_left = _feedback(frame, "feedback_L", phase, made)
    fb_right = _feedback(frame, "feedback_R", phase, made)
    # The sign is the pair's context: a -10 on a reward pair (or +10 on a
    # loss-avoidance pair) means mislabelled pairs or feedback, not data.
    low, high = np.array([PAIR_FEEDBACK[p] for p in PAIR_NAMES]).T[:, pair]

    def expected(pos):
        name = PAIR_NAMES[pair[pos]]
        context = "a reward pair" if high[pos] > 0 else "a loss-avoidance pair"
        shown = [f"{v:+g}" if v > 0 else f"{v:g}" for v in (low[pos], high[pos])]
        return f"{shown[0]} or {shown[1]} on pair {name!r} ({context})"

    for column, values in (("feedback_L", fb_left), ("feedback_R", fb_right)):
        wrong = (values != low) & (values != high) & ~np.isnan(values)
        _first_bad(frame, wrong, column, phase, expected)
    left_better = left > right
    # a missed trial's outcomes and choice are never read (it is no trial of its chain)
    fb_left, fb_right = np.nan_to_num(fb_left), np.nan_to_num(fb_right)
    return {
        "pair": pair,
        "outcome0": np.where(left_better, fb_left, fb_right) / 10.0,
        "outcome1": np.where(left_better, fb_right, fb_left) / 10.0,
        "choice": np.where(left_better, choice, 1.0 - choice),
        "made": made,
    }


def _transfer_arrays(frame, missed="skip"):
    phase = "transfer"
    if len(frame) == 0:  # a learning-only fit: no transfer trials (the columns may be absent)
        empty = np.empty(0, dtype=np.intp)
        return {"first": empty, "second": empty, "choice": np.empty(0),
                "made": np.empty(0, dtype=bool)}
    _check_columns(frame, TRANSFER_COLUMNS, phase)
    _check_ids(frame, phase)
    _check_groups(frame, phase)
    index = {}
    for column in ("symbol_L_name", "symbol_R_name"):
        index[column] = _name_positions(frame, column, phase, _STIMULUS_NAME_INDEX)
    values = {}
    for side in ("L", "R"):
        column = f"symbol_{side}_value"
        values[side] = _numeric(frame, column, phase)
        expected = np.asarray(STIMULUS_VALUES)[index[f"symbol_{side}_name"]]
        _first_bad(frame, values[side] != expected, column, phase,
                   "the value of the row's symbol name (75R=4, 25R=3, 25P=2, 75P=1, Zero=0)")
    _first_bad(frame, values["L"] == values["R"], "symbol_R_value", phase,
               "a value different from symbol_L_value (pairs of equal value are never shown)")
    choice, made = _binary_choice(frame, phase, missed)
    left_higher = values["L"] > values["R"]
    return {
        "first": np.where(left_higher, index["symbol_L_name"], index["symbol_R_name"]),
        "second": np.where(left_higher, index["symbol_R_name"], index["symbol_L_name"]),
        "choice": np.where(left_higher, choice, 1.0 - choice),
        "made": made,
    }


def _check_complete_participants(learning, transfer):
    """Refuse participants whose trial rows were split (by a row-wise cross-validator).

    The count of each participant's rows written by ``combine_phases``
    (column ``participant_trials``) must match the rows present: a
    participant's likelihood is a recursion over all of their trials, so a
    partial sequence gives a plausible but wrong fit.
    """
    if PARTICIPANT_TRIALS not in learning.columns or PARTICIPANT_TRIALS not in transfer.columns:
        return
    for frame, phase in ((learning, "learning"), (transfer, "transfer")):
        check_participant_ids(frame, phase)
    rows = pd.concat([learning[["participant_id", PARTICIPANT_TRIALS]],
                      transfer[["participant_id", PARTICIPANT_TRIALS]]])
    expected = pd.to_numeric(rows[PARTICIPANT_TRIALS], errors="coerce")
    _first_bad(rows, ~np.isfinite(expected.to_numpy(dtype=float)), PARTICIPANT_TRIALS, "input",
               "the participant's number of trials, as written by combine_phases")
    who = rows["participant_id"].to_numpy(dtype=object)
    table = pd.DataFrame({"who": pd.factorize(who)[0], "expected": expected.to_numpy(float)})
    by_who = table.groupby("who", sort=True)["expected"]
    present = by_who.size().to_numpy()
    low, high = by_who.min().to_numpy(), by_who.max().to_numpy()
    split = np.flatnonzero((present != low) | (low != high))
    if len(split):
        ids = pd.unique(who)
        first = split[0]
        n_learning = int((learning["participant_id"].to_numpy(dtype=object) == ids[first]).sum())
        raise ValueError(
            f"the trials of {len(split)} participant(s) were split (first: participant "
            f"{_plain(ids[first])!r}, {present[first]} of its {int(high[first])} trials are "
            f"here: {n_learning} learning, {present[first] - n_learning} transfer). A "
            "participant's likelihood runs over all of their trials in order, so "
            "cross-validation that splits trial rows (KFold, ShuffleSplit, train_test_split, "
            "the default cv of GridSearchCV and cross_val_score) cannot be used. Use "
            "avoidrl.model_selection.InSampleSplit (fit and score all participants' complete "
            "data, for in-sample criteria such as BIC), or GroupKFold / GroupShuffleSplit "
            "with groups=X['participant_id'] (score held-out participants). (Column "
            f"{PARTICIPANT_TRIALS!r} was written by combine_phases; to remove trials on "
            "purpose, remove them before combine_phases.)"
        )


def load_task_data(X_learning, X_transfer=None, missed="skip"):
    """Validate task data and convert it to :class:`TaskData`.

    Parameters
    ----------
    X_learning : DataFrame or path
        Learning-phase trials, or both phases in one long frame when
        ``X_transfer`` is None (see :func:`split_phases`; a frame of
        learning trials only, without ``trial_type``, is a learning-only
        dataset).
    X_transfer : DataFrame or path, optional
        Transfer-phase trials. Empty, or absent, for learning-only data: the
        likelihood then has no transfer terms.
    missed : {'skip', 'error'}, default='skip'
        What a missed trial (``choice_made`` missing: NaN, None, an empty
        CSV cell) is. 'skip': no choice was made, so the trial has no
        likelihood term and, in the learning phase, no update (it is left
        out of its pair's chain); it is counted in ``n_missed_learning`` /
        ``n_missed_transfer`` and not in the trial counts. 'error': a
        ValueError naming the participant and rows.

    Returns
    -------
    TaskData

    Raises
    ------
    ValueError
        If any rule below is broken; the message names the column, the row(s)
        and the participant at fault and what was expected.

    Notes
    -----
    Trial order is row order within each participant and phase. What is checked
    (reference-spec section 1):

    * the columns ``LEARNING_COLUMNS`` / ``TRANSFER_COLUMNS`` are present and
      neither phase is empty; other columns are ignored;
    * ``participant_id`` is never missing, a bool (it would equal the id 1 or
      0) or a container such as a list. CSV files are read with ids (and group
      codes) as text, so ``001`` and ``01`` stay two participants; a
      DataFrame's ids keep their type. Two ids that differ but read the same
      as text (the integer 1 and the string ``'1'``) are an error rather than
      being merged or split;
    * ``group_code`` is never missing, blank or a container, and there is one
      per participant, the same in both phases;
    * learning: ``symbol_names`` is one of ``PAIR_NAMES``; the symbol values
      are those of the row's pair and differ; ``feedback_L`` / ``feedback_R``
      are 0 or +10 on reward pairs (``Reward*``) and -10 or 0 on
      loss-avoidance pairs (``Punish*``);
    * transfer: the symbol names are stimuli of ``STIMULUS_NAMES``, each value
      matches its name, and the two values differ;
    * ``choice_made`` is 0 or 1 (numbers may be given as numeric text or
      bools), or missing on a missed trial (see ``missed``); a missed
      learning trial's feedback may be missing too;
    * ``trial_index``, when present, is a finite number on every row, never
      repeated within a participant's phase (duplicated rows) and never
      decreasing in row order. A phase whose ``trial_index`` is missing on
      every row (as when only the other phase had the column before the two
      were concatenated) is taken in row order unchecked. In one long frame
      the phases are checked separately;
    * when both phases hold the column ``participant_trials`` (written by
      ``combine_phases``), every participant has all of the rows it counts: a
      frame whose trial rows were split by a cross-validator is an error
      that names the supported splitters;
    * every participant has trials in both phases (or no one has transfer
      trials: learning-only data); in one long frame, every
      participant has at least one learning or transfer row (rows of other
      trial types may lack an id, but not hold a bool or a container).
    """
    check_missed_option(missed)
    learning, transfer = _nonempty_phases(X_learning, X_transfer)
    learn = _learning_arrays(learning, missed)
    trans = _transfer_arrays(transfer, missed)
    check_ids_as_text(((learning, "learning"), (transfer, "transfer")))
    for frame, phase in ((learning, "learning"), (transfer, "transfer")):
        _check_order(frame, phase)
    participants = _participants_of(learning, transfer, X_learning, X_transfer)
    groups = _groups_of(learning, transfer, participants)
    check_codes_as_text(groups, participants)

    n = len(participants)
    # every row's id is one of participants (checked above): no -1
    learn_pos = participant_positions(participants, learning["participant_id"])
    trans_pos = participant_positions(participants, transfer["participant_id"])
    return TaskData(participants=np.asarray(participants, dtype=object), groups=groups,
                    **learning_layout(learn, learn_pos, n),
                    **transfer_layout(trans, trans_pos, n))


def _nonempty_phases(X_learning, X_transfer):
    """The two phases' frames, neither empty, with no participant's trials split."""
    learning, transfer = split_phases(X_learning, X_transfer)
    if len(learning) == 0 and len(transfer) == 0:
        if X_transfer is None and len(read_frame(X_learning, "X")) > 0:
            raise ValueError(
                "no learning or transfer trials: 'trial_type' holds neither "
                f"{LEARNING_TRIAL_TYPE!r} nor {TRANSFER_TRIAL_TYPE!r}"
            )
        raise ValueError("the data are empty: no learning and no transfer trials")
    _check_complete_participants(learning, transfer)
    if len(learning) == 0:
        raise ValueError("the learning data are empty (no rows)")
    if len(transfer) == 0:
        # learning-only data: no transfer terms; an empty frame of the learning
        # frame's columns, so that every later step reads it like any other
        transfer = learning.iloc[:0]
    return learning, transfer


def _participants_of(learning, transfer, X_learning, X_transfer):
    """The participants, in order of first learning row; each must have both phases
    (unless no one has transfer trials: learning-only data).

    In one long frame (``X_transfer`` None), every participant must also
    have a learning or transfer row.
    """
    learn_ids = learning["participant_id"].to_numpy()
    trans_ids = transfer["participant_id"].to_numpy()
    participants = pd.unique(learn_ids)
    only_learning = _plain_list(sorted(set(participants) - set(trans_ids), key=str)) \
        if len(trans_ids) else []
    only_transfer = _plain_list(sorted(set(pd.unique(trans_ids)) - set(participants), key=str))
    if only_learning or only_transfer:
        raise ValueError(
            "every participant needs both phases; "
            + "; ".join(
                f"{phase} trials only: {ids[:10]}" + (" ..." if len(ids) > 10 else "")
                for phase, ids in (("learning", only_learning), ("transfer", only_transfer))
                if ids
            )
        )
    if X_transfer is None:
        long = read_frame(X_learning, "X")
        # Rows of other trial types may lack an id, but a list or dict is no id.
        _check_ids(long, "input", missing_ok=True)
        without = _plain_list(sorted(
            set(pd.unique(long["participant_id"].dropna())) - set(participants), key=str))
        if without:
            raise ValueError(
                f"participant(s) {without[:10]} have no learning or transfer trials "
                f"(no rows with trial_type {LEARNING_TRIAL_TYPE!r} or {TRANSFER_TRIAL_TYPE!r})"
            )
    return participants
