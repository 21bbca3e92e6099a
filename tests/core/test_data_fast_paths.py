"""The shortcuts of load_task_data for text columns refuse what the row-by-row checks refused.

Ids, group codes and symbol names that are all text are checked per distinct
value or by hashed look-up; a column that mixes in anything else (a bool, a
list) takes the row-by-row path. Each test breaks one row of an otherwise
valid frame, in the column's dtype as read from CSV (text) and as object.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from avoidrl._core._layout import _TRANSFER_PAIR_TABLE
from avoidrl._core.data import TaskData, load_task_data
from avoidrl._core.task import N_STIMULI, TRANSFER_PAIRS


def _set(frame, column, value, dtype=object):
    """``frame`` with ``value`` in the first row of participant p2 (column cast to dtype)."""
    frame = frame.copy()
    frame[column] = frame[column].astype(dtype)
    row = np.flatnonzero(frame["participant_id"].to_numpy(dtype=object) == "p2")[0]
    frame.iat[row, frame.columns.get_loc(column)] = value
    return frame


@pytest.mark.parametrize("value", [True, np.bool_(False)])
def test_a_bool_among_text_ids_is_refused(small_frames, value):
    learning, transfer = small_frames
    with pytest.raises(ValueError, match=r"transfer data: column 'participant_id'"):
        load_task_data(learning, _set(transfer, "participant_id", value))


@pytest.mark.parametrize("dtype", [object, "string"])
def test_a_missing_text_id_is_refused(small_frames, dtype):
    learning, transfer = small_frames
    with pytest.raises(ValueError, match=r"learning data: column 'participant_id'"):
        load_task_data(_set(learning, "participant_id", None, dtype), transfer)


@pytest.mark.parametrize("dtype", [object, "string", pd.StringDtype("python")])
@pytest.mark.parametrize("code", [" ", "\t\n", ""])
def test_a_blank_text_group_code_is_refused(small_frames, dtype, code):
    learning, transfer = small_frames
    with pytest.raises(ValueError, match=r"transfer data: column 'group_code'.*not blank"):
        load_task_data(learning, _set(transfer, "group_code", code, dtype))


@pytest.mark.parametrize("phase, column", [("learning", "symbol_names"),
                                           ("transfer", "symbol_L_name"),
                                           ("transfer", "symbol_R_name")])
@pytest.mark.parametrize("value", ["Zer0", ["Zero"], np.nan])
def test_a_name_of_no_symbol_is_refused(small_frames, phase, column, value):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frames[phase] = _set(frames[phase], column, value)
    with pytest.raises(ValueError, match=rf"{phase} data: column '{column}'.*expected one of"):
        load_task_data(frames["learning"], frames["transfer"])


def test_symbol_names_as_object_or_text_give_the_same_data(small_frames):
    learning, transfer = small_frames
    as_text = load_task_data(learning.astype({"symbol_names": "string"}),
                             transfer.astype({"symbol_L_name": "string",
                                              "symbol_R_name": "string"}))
    as_object = load_task_data(learning.astype({"symbol_names": object}),
                               transfer.astype({"symbol_L_name": object, "symbol_R_name": object}))
    for field in dataclasses.fields(TaskData):
        a, b = getattr(as_text, field.name), getattr(as_object, field.name)
        assert np.array_equal(np.asarray(a), np.asarray(b)), field.name


def test_the_transfer_pair_table_finds_every_pair():
    for k, pair in enumerate(TRANSFER_PAIRS):
        low, high = sorted(pair)
        assert _TRANSFER_PAIR_TABLE[low, high] == k
    # each unordered pair of different stimuli once; nothing on or below the diagonal
    assert (_TRANSFER_PAIR_TABLE >= 0).sum() == len(TRANSFER_PAIRS) \
        == N_STIMULI * (N_STIMULI - 1) // 2
    assert (_TRANSFER_PAIR_TABLE[np.tril_indices(N_STIMULI)] == -1).all()
