"""The data contract of avoidrl._core.data: load_task_data and split_phases.

Every invalid input raises a ValueError whose message names the culprit (the
column and/or the participant); valid inputs in any accepted form give the same
arrays.
"""

import dataclasses
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from avoidrl import load_example
from avoidrl._core.data import TaskData, load_task_data, split_phases
from avoidrl.datasets import _FILES


def assert_same_data(a, b):
    """Every field of two TaskData objects is equal (values and shapes)."""
    for field in dataclasses.fields(TaskData):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.shape == y.shape, field.name
            if x.dtype == object:
                assert list(x.ravel()) == list(y.ravel()), field.name
            else:
                assert np.array_equal(x, y), field.name
        else:
            assert x == y, field.name


def first_row(frame, pid, **conditions):
    """Label of the first row of participant ``pid`` matching ``conditions``."""
    mask = frame["participant_id"] == pid
    for column, value in conditions.items():
        mask &= frame[column] == value
    return frame.index[mask][0]


def long_frame(learning, transfer):
    """Both phases in one frame, each participant's learning rows then transfer rows."""
    parts = []
    for pid in pd.unique(learning["participant_id"]):
        parts.append(learning[learning["participant_id"] == pid])
        parts.append(transfer[transfer["participant_id"] == pid])
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("phase, column", [("learning", "feedback_R"), ("transfer", "symbol_L_name")])
def test_missing_column(small_frames, phase, column):
    learning, transfer = small_frames
    if phase == "learning":
        learning = learning.drop(columns=column)
    else:
        transfer = transfer.drop(columns=column)
    with pytest.raises(ValueError, match=rf"{phase}.*missing.*'{column}'"):
        load_task_data(learning, transfer)


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_nan_choice(small_frames, phase):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    frame["choice_made"] = frame["choice_made"].astype(float)
    frame.loc[first_row(frame, "p2"), "choice_made"] = np.nan
    with pytest.raises(ValueError, match=r"'choice_made'.*participant 'p2'"):
        load_task_data(frames["learning"], frames["transfer"])


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_non_binary_choice(small_frames, phase):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    frame.loc[first_row(frame, "p3"), "choice_made"] = 2
    with pytest.raises(ValueError, match=r"'choice_made'.*participant 'p3'.*\b2\b"):
        load_task_data(frames["learning"], frames["transfer"])


@pytest.mark.parametrize("value", [7, 1])  # 7 is no symbol value; 1 belongs to a Punish pair
def test_unknown_learning_symbol_value(small_frames, value):
    learning, transfer = small_frames
    learning.loc[first_row(learning, "p2", symbol_names="Reward1"), "symbol_L_value"] = value
    with pytest.raises(ValueError, match=r"'symbol_L_value'.*participant 'p2'"):
        load_task_data(learning, transfer)


def test_unknown_learning_pair_name(small_frames):
    learning, transfer = small_frames
    learning.loc[first_row(learning, "p3"), "symbol_names"] = "Reward3"
    with pytest.raises(ValueError, match=r"'symbol_names'.*participant 'p3'.*Reward3"):
        load_task_data(learning, transfer)


def test_unknown_transfer_symbol_name(small_frames):
    learning, transfer = small_frames
    transfer.loc[first_row(transfer, "p2"), "symbol_L_name"] = "75R3"
    with pytest.raises(ValueError, match=r"'symbol_L_name'.*participant 'p2'.*75R3"):
        load_task_data(learning, transfer)


def test_transfer_value_inconsistent_with_name(small_frames):
    learning, transfer = small_frames
    row = first_row(transfer, "p3", symbol_L_name="25R1")  # value 3
    transfer.loc[row, "symbol_L_value"] = 4
    with pytest.raises(ValueError, match=r"'symbol_L_value'.*participant 'p3'"):
        load_task_data(learning, transfer)


@pytest.mark.parametrize("value", [5.0, np.nan])
def test_feedback_not_in_allowed_set(small_frames, value):
    learning, transfer = small_frames
    learning.loc[first_row(learning, "p1", symbol_names="Reward2"), "feedback_R"] = value
    with pytest.raises(ValueError, match=r"'feedback_R'.*participant 'p1'"):
        load_task_data(learning, transfer)


def test_participant_in_learning_only(small_frames):
    learning, transfer = small_frames
    transfer = transfer[transfer["participant_id"] != "p3"]
    with pytest.raises(ValueError, match=r"learning trials only: \['p3'\]"):
        load_task_data(learning, transfer)


def test_participant_in_transfer_only(small_frames):
    learning, transfer = small_frames
    learning = learning[learning["participant_id"] != "p2"]
    with pytest.raises(ValueError, match=r"transfer trials only: \['p2'\]"):
        load_task_data(learning, transfer)


def test_learning_pair_of_equal_values(small_frames):
    learning, transfer = small_frames
    row = first_row(learning, "p1", symbol_names="Punish2")
    learning.loc[row, "symbol_R_value"] = learning.loc[row, "symbol_L_value"]
    with pytest.raises(ValueError, match=r"'symbol_R_value'.*participant 'p1'"):
        load_task_data(learning, transfer)


def test_transfer_pair_of_equal_values(small_frames):
    learning, transfer = small_frames
    row = first_row(transfer, "p2")
    transfer.loc[row, ["symbol_L_name", "symbol_R_name"]] = ["75R1", "75R2"]  # pair AC, never shown
    transfer.loc[row, ["symbol_L_value", "symbol_R_value"]] = [4, 4]
    with pytest.raises(ValueError, match=r"'symbol_R_value'.*participant 'p2'"):
        load_task_data(learning, transfer)


def test_empty_data(small_frames):
    learning, transfer = small_frames
    with pytest.raises(ValueError, match=r"empty"):
        load_task_data(learning.iloc[:0], transfer.iloc[:0])


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_one_phase_empty(small_frames, phase):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frames[phase] = frames[phase].iloc[:0]
    with pytest.raises(ValueError, match=rf"{phase} data are empty"):
        load_task_data(frames["learning"], frames["transfer"])


def test_participant_without_trials(small_frames):
    practice = pd.DataFrame({
        "participant_id": ["p4", "p4"], "trial_type": ["practice", "practice"],
        "trial_index": [1, 2], "group_code": ["no pain", "no pain"],
    })
    X = pd.concat([long_frame(*small_frames), practice], ignore_index=True)
    with pytest.raises(ValueError, match=r"'p4'.*no learning or transfer trials"):
        load_task_data(X)


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_decreasing_trial_index(small_frames, phase):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    rows = frame.index[frame["participant_id"] == "p2"][3:5]
    frame.loc[rows, "trial_index"] = frame.loc[rows[::-1], "trial_index"].to_numpy()
    with pytest.raises(ValueError, match=rf"{phase}.*'trial_index' decreases.*participant 'p2'"):
        load_task_data(frames["learning"], frames["transfer"])


def test_csv_path_does_not_exist(small_frames, tmp_path):
    missing = tmp_path / "no_such_learning.csv"
    with pytest.raises(ValueError, match=r"no_such_learning\.csv.*does not exist"):
        load_task_data(missing, small_frames[1])


@pytest.mark.parametrize("bad", [np.zeros((3, 8)), {"participant_id": ["p1"]}, 42])
def test_non_dataframe_input(small_frames, bad):
    with pytest.raises(ValueError, match=rf"DataFrame.*got {type(bad).__name__}"):
        load_task_data(bad, small_frames[1])


def test_two_group_codes_for_one_participant(small_frames):
    learning, transfer = small_frames
    learning.loc[first_row(learning, "p2", symbol_names="Punish1"), "group_code"] = "no pain"
    with pytest.raises(ValueError, match=r"participant 'p2'.*group_code"):
        load_task_data(learning, transfer)


def test_group_code_differs_between_phases(small_frames):
    learning, transfer = small_frames
    transfer.loc[transfer["participant_id"] == "p3", "group_code"] = "no pain"
    with pytest.raises(ValueError, match=r"participant 'p3'.*group_code"):
        load_task_data(learning, transfer)


def test_long_frame_without_trial_type(small_frames):
    X = long_frame(*small_frames).drop(columns="trial_type")
    with pytest.raises(ValueError, match=r"'trial_type'"):
        split_phases(X)


@pytest.mark.parametrize("phase", ["learning", "transfer"])
@pytest.mark.parametrize("code", [np.nan, None, "", "   "])
def test_missing_or_blank_group_code(small_frames, phase, code):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    frame["group_code"] = frame["group_code"].astype(object)
    frame.loc[first_row(frame, "p2"), "group_code"] = code
    with pytest.raises(ValueError, match=rf"{phase}.*'group_code'.*participant 'p2'.*not blank"):
        load_task_data(frames["learning"], frames["transfer"])


@pytest.mark.parametrize("phase", ["learning", "transfer"])
@pytest.mark.parametrize("value", ["ten", np.nan, np.inf])
def test_trial_index_not_a_number(small_frames, phase, value):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    frame["trial_index"] = frame["trial_index"].astype(object)
    frame.loc[first_row(frame, "p3"), "trial_index"] = value
    with pytest.raises(ValueError, match=rf"{phase}.*'trial_index'.*participant 'p3'.*finite"):
        load_task_data(frames["learning"], frames["transfer"])


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_repeated_trial_index(small_frames, phase):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    row = frame.index[frame["participant_id"] == "p2"][4]
    frame.loc[row, "trial_index"] = frame.loc[row - 1, "trial_index"]
    repeated = frame.loc[row, "trial_index"]
    with pytest.raises(ValueError, match=rf"{phase}.*'trial_index' {repeated} is repeated within "
                                         rf"participant 'p2' \(rows \[{row - 1}, {row}\]\)"):
        load_task_data(frames["learning"], frames["transfer"])


def test_every_row_duplicated(small_frames):
    """Duplicated rows are reported as such, though they also break the order."""
    learning, transfer = small_frames
    twice = pd.concat([learning, learning])
    pattern = r"learning.*'trial_index' 1 is repeated within participant 'p1'"
    with pytest.raises(ValueError, match=pattern):
        load_task_data(twice, transfer)
    with pytest.raises(ValueError, match=pattern):
        load_task_data(long_frame(twice, transfer))


def test_trial_index_checked_per_phase_in_long_frame(small_frames):
    """The transfer numbering may restart: each phase's order is its own."""
    learning, transfer = small_frames
    expected = load_task_data(learning, transfer)
    transfer["trial_index"] = transfer.groupby("participant_id").cumcount()
    assert_same_data(load_task_data(long_frame(learning, transfer)), expected)


@pytest.mark.parametrize("pair, value", [("Reward1", -10.0), ("Reward2", -10.0),
                                         ("Punish1", 10.0), ("Punish2", 10.0)])
@pytest.mark.parametrize("column", ["feedback_L", "feedback_R"])
def test_feedback_sign_must_fit_the_pair(small_frames, pair, value, column):
    learning, transfer = small_frames
    row = first_row(learning, "p3", symbol_names=pair)
    learning.loc[row, column] = value
    expected = "0 or \\+10" if pair.startswith("Reward") else "-10 or 0"
    with pytest.raises(ValueError, match=rf"'{column}'.*row {row} \(participant 'p3'\): "
                                         rf"{value}; expected {expected} on pair '{pair}'"):
        load_task_data(learning, transfer)


def test_complex_values_are_no_numbers(small_frames):
    learning, transfer = small_frames
    learning["choice_made"] = learning["choice_made"].astype(object)
    learning.loc[first_row(learning, "p2"), "choice_made"] = 1 + 1j
    with pytest.raises(ValueError, match=r"'choice_made'.*participant 'p2'"):
        load_task_data(learning, transfer)


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_bool_participant_id(small_frames, phase):
    frames = dict(zip(("learning", "transfer"), small_frames))
    frame = frames[phase]
    frame["participant_id"] = frame["participant_id"].astype(object)
    frame.loc[first_row(frame, "p2"), "participant_id"] = True
    with pytest.raises(ValueError, match=rf"{phase}.*'participant_id'.*participant True"):
        load_task_data(frames["learning"], frames["transfer"])


@pytest.mark.parametrize("column", ["participant_id", "group_code"])
@pytest.mark.parametrize("value", [["p2"], {"id": "p2"}])
def test_containers_are_no_labels(small_frames, column, value):
    """A list or dict as id or group is a ValueError, not a TypeError from hashing."""
    learning, transfer = small_frames
    learning[column] = learning[column].astype(object)
    learning.iat[first_row(learning, "p2"), learning.columns.get_loc(column)] = value
    with pytest.raises(ValueError, match=rf"learning data: column '{column}'"):
        load_task_data(learning, transfer)


def test_container_id_on_a_row_of_another_trial_type(small_frames):
    X = long_frame(*small_frames)
    X.loc[len(X)] = {"participant_id": "p1", "trial_type": "practice"}
    X["participant_id"] = X["participant_id"].astype(object)
    X.iat[len(X) - 1, X.columns.get_loc("participant_id")] = ["p1"]
    with pytest.raises(ValueError, match=r"input data: column 'participant_id'.*\['p1'\]"):
        load_task_data(X)


@pytest.mark.parametrize("where", ["same column", "across phases"])
def test_ids_that_read_the_same_as_text(small_frames, where):
    """The integer 1 and the text '1' are neither merged nor kept apart silently."""
    learning, transfer = small_frames
    ids = {"p1": 1, "p2": 2, "p3": 3}
    for frame in (learning, transfer):
        frame["participant_id"] = frame["participant_id"].map(ids).astype(object)
    if where == "same column":
        learning.loc[learning["participant_id"] == 3, "participant_id"] = "1"
        transfer.loc[transfer["participant_id"] == 3, "participant_id"] = "1"
        pattern = r"'participant_id': ids 1 \(int, learning data row 0\) and '1' \(str, learning"
    else:
        transfer["participant_id"] = transfer["participant_id"].astype(str)
        pattern = r"'participant_id': ids 1 \(int, learning data row 0\) and '1' \(str, transfer"
    with pytest.raises(ValueError, match=pattern + r".*read the same as text"):
        load_task_data(learning, transfer)


def test_csv_missing_id_column_keeps_its_message(small_frames, tmp_path):
    learning, transfer = small_frames
    learning.drop(columns="participant_id").to_csv(tmp_path / "learning.csv", index=False)
    transfer.to_csv(tmp_path / "transfer.csv", index=False)
    with pytest.raises(ValueError, match=r"learning data: missing column.*'participant_id'"):
        load_task_data(tmp_path / "learning.csv", tmp_path / "transfer.csv")


# --------------------------------------------------------------------------- valid inputs


def test_recoding_on_hand_made_rows():
    base = {"participant_id": "h1", "group_code": "no pain"}
    learning = pd.DataFrame([
        # pair, L value, R value, feedback L, R, choice (0 = left)
        dict(base, symbol_names="Reward1", symbol_L_value=4, symbol_R_value=3,
             feedback_L=10.0, feedback_R=0.0, choice_made=0),    # left better, chose better
        dict(base, symbol_names="Reward1", symbol_L_value=3, symbol_R_value=4,
             feedback_L=0.0, feedback_R=10.0, choice_made=0),    # left worse, chose worse
        dict(base, symbol_names="Punish1", symbol_L_value=1, symbol_R_value=2,
             feedback_L=-10.0, feedback_R=0.0, choice_made=1),   # left worse, chose better
        dict(base, symbol_names="Punish1", symbol_L_value=2, symbol_R_value=1,
             feedback_L=0.0, feedback_R=-10.0, choice_made=1),   # left better, chose worse
        dict(base, symbol_names="Reward2", symbol_L_value=3, symbol_R_value=4,
             feedback_L=10.0, feedback_R=0.0, choice_made=1),    # left worse, chose better
        dict(base, symbol_names="Punish2", symbol_L_value=2, symbol_R_value=1,
             feedback_L=-10.0, feedback_R=0.0, choice_made=0),   # left better, chose better
    ])
    transfer = pd.DataFrame([
        dict(base, symbol_L_name="75R1", symbol_R_name="Zero", symbol_L_value=4,
             symbol_R_value=0, choice_made=1),                   # chose Zero (lower)
        dict(base, symbol_L_name="Zero", symbol_R_name="25P2", symbol_L_value=0,
             symbol_R_value=2, choice_made=1),                   # chose 25P2 (higher)
        dict(base, symbol_L_name="75P1", symbol_R_name="25R2", symbol_L_value=1,
             symbol_R_value=3, choice_made=0),                   # chose 75P1 (lower)
        dict(base, symbol_L_name="25R2", symbol_R_name="75P1", symbol_L_value=3,
             symbol_R_value=1, choice_made=0),                   # chose 25R2 (higher)
    ])
    data = load_task_data(learning, transfer)

    assert list(data.participants) == ["h1"] and list(data.groups) == ["no pain"]
    assert data.n_learning.tolist() == [6] and data.n_transfer.tolist() == [4]
    # (step, pair) -> (choice of option 1, outcome of option 0, outcome of option 1, row)
    expected = {(0, 0): (0.0, 1.0, 0.0, 0), (1, 0): (1.0, 1.0, 0.0, 1),
                (0, 2): (0.0, 0.0, -1.0, 2), (1, 2): (1.0, 0.0, -1.0, 3),
                (0, 1): (0.0, 0.0, 1.0, 4), (0, 3): (0.0, -1.0, 0.0, 5)}
    assert data.choice.shape == (2, 1, 4)
    for step in range(2):
        for pair in range(4):
            key = (step, pair)
            assert data.mask[step, 0, pair] == (key in expected), key
            if key in expected:
                choice, out0, out1, row = expected[key]
                assert data.choice[step, 0, pair] == choice, key
                assert data.outcome[step, :, 0, pair].tolist() == [out0, out1], key
                assert data.learning_row[step, 0, pair] == row, key
            else:
                assert data.learning_row[step, 0, pair] == -1, key
    assert data.padded

    A, D, F, G, N = 0, 3, 5, 6, 8
    assert data.transfer_first[0].tolist() == [A, G, D, D]
    assert data.transfer_second[0].tolist() == [N, N, F, F]
    assert data.transfer_choice[0].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert data.transfer_mask[0].all()
    shown = [tuple(p) for p in data.transfer_pairs.tolist()]
    assert sorted(shown) == sorted([(A, N), (G, N), (D, F)])
    n_shown = len(shown)
    counts = {pair: (data.transfer_counts[0, k], data.transfer_counts[0, n_shown + k])
              for k, pair in enumerate(shown)}
    assert counts == {(A, N): (0.0, 1.0), (G, N): (1.0, 0.0), (D, F): (1.0, 1.0)}


def test_long_frame_equals_two_frames(small_frames):
    two = load_task_data(*small_frames)
    assert_same_data(load_task_data(long_frame(*small_frames)), two)
    learning, transfer = split_phases(long_frame(*small_frames))
    assert len(learning) == len(small_frames[0]) and len(transfer) == len(small_frames[1])
    assert (learning["trial_type"] == "learning-trials").all()
    assert (transfer["trial_type"] == "probe").all()


def test_long_frame_equals_two_frames_tutorial(tutorial_frames):
    two = load_task_data(*tutorial_frames)
    assert two.n_participants == 15
    assert_same_data(load_task_data(long_frame(*tutorial_frames)), two)
    assert_same_data(load_task_data(pd.concat(tutorial_frames, ignore_index=True)), two)


def test_extra_columns_are_ignored(small_frames):
    learning, transfer = small_frames
    expected = load_task_data(learning, transfer)
    for frame in (learning, transfer):
        frame["rt"] = np.linspace(300.0, 900.0, len(frame))
        frame["notes"] = ["x", None] * (len(frame) // 2)
        frame["accuracy"] = np.nan
    learning["symbol_L_name"] = "junk"
    transfer["feedback_L"] = np.nan
    assert_same_data(load_task_data(learning, transfer), expected)


def recoded_chains(learning, pid):
    """{pair name: [(choice of option 1, outcome 0, outcome 1), ...]} in row order."""
    chains = {}
    for row in learning[learning["participant_id"] == pid].itertuples():
        left_better = row.symbol_L_value > row.symbol_R_value
        choice = row.choice_made if left_better else 1 - row.choice_made
        out = (row.feedback_L, row.feedback_R) if left_better else (row.feedback_R, row.feedback_L)
        chains.setdefault(row.symbol_names, []).append((float(choice), out[0] / 10, out[1] / 10))
    return chains


def test_different_trial_counts(small_frames):
    learning, transfer = small_frames
    full = load_task_data(learning, transfer)
    p2 = learning.index[learning["participant_id"] == "p2"]
    p2_reward1 = learning.index[(learning["participant_id"] == "p2")
                                & (learning["symbol_names"] == "Reward1")]
    drop = list(p2_reward1[-2:]) + [p2[5]]
    # p3 gets two extra Reward1 trials: its chain is longer than anyone else's.
    extra = learning[(learning["participant_id"] == "p3")
                     & (learning["symbol_names"] == "Reward1")].iloc[:2].copy()
    extra["trial_index"] = learning["trial_index"].max() + np.arange(1, 3)
    extra["choice_made"] = 1 - extra["choice_made"]
    learning = pd.concat([learning.drop(index=drop), extra], ignore_index=True)

    data = load_task_data(learning, transfer)
    assert data.n_learning.tolist() == [24, 21, 26]
    assert data.n_transfer.tolist() == [22, 22, 22]
    assert data.padded
    assert data.choice.shape[0] == 8  # p3's Reward1 chain: nothing truncated
    pair_names = ("Reward1", "Reward2", "Punish1", "Punish2")
    for p, pid in enumerate(("p1", "p2", "p3")):
        chains = recoded_chains(learning, pid)
        for s, name in enumerate(pair_names):
            n = len(chains[name])
            assert data.mask[:, p, s].tolist() == [True] * n + [False] * (8 - n), (pid, name)
            got = [(data.choice[t, p, s], *data.outcome[t, :, p, s]) for t in range(n)]
            assert got == chains[name], (pid, name)
        rows = np.sort(data.learning_row[:, p][data.mask[:, p]])
        assert rows.tolist() == list(range(data.n_learning[p]))
    # p1 is untouched: its arrays equal those of the unpadded load.
    assert np.array_equal(data.choice[:6, 0], full.choice[:, 0])
    assert np.array_equal(data.outcome[:6, :, 0], full.outcome[:, :, 0])
    assert np.array_equal(data.transfer_counts, full.transfer_counts)
    alone = data.subset([0])
    assert alone.padded and alone.mask[:6].all() and not alone.mask[6:].any()


def test_csv_paths(small_frames, tmp_path):
    learning, transfer = small_frames
    expected = load_task_data(learning, transfer)
    learning.to_csv(tmp_path / "learning.csv", index=False)
    transfer.to_csv(tmp_path / "transfer.csv", index=False)
    long_frame(learning, transfer).to_csv(tmp_path / "long.csv", index=False)
    assert_same_data(load_task_data(tmp_path / "learning.csv", tmp_path / "transfer.csv"), expected)
    assert_same_data(load_task_data(str(tmp_path / "learning.csv"), str(tmp_path / "transfer.csv")),
                     expected)
    assert_same_data(load_task_data(tmp_path / "long.csv"), expected)


def test_participant_order_is_first_appearance(small_frames):
    learning, transfer = small_frames
    singles = {pid: load_task_data(learning[learning["participant_id"] == pid],
                                   transfer[transfer["participant_id"] == pid])
               for pid in ("p1", "p2", "p3")}
    order = ["p3", "p1", "p2"]
    # Rows interleaved across participants (round robin), p3 first.
    rank = learning.groupby("participant_id").cumcount()
    learning = learning.assign(_rank=rank, _who=learning["participant_id"].map(order.index))
    learning = learning.sort_values(["_rank", "_who"]).drop(columns=["_rank", "_who"])
    transfer = pd.concat([transfer[transfer["participant_id"] == pid] for pid in order])
    data = load_task_data(learning, transfer)
    assert list(data.participants) == order
    assert list(data.groups) == ["chronic pain", "no pain", "acute pain"]
    for p, pid in enumerate(order):
        assert_same_data(data.subset([p]), singles[pid])


def test_error_shows_integer_ids_and_values_plainly(small_frames):
    """Messages show ids and values as the user wrote them ('7', '5.0'), not numpy reprs."""
    learning, transfer = small_frames
    for frame in (learning, transfer):
        frame["participant_id"] = frame["participant_id"].map({"p1": 101, "p2": 7, "p3": 55})
    learning.loc[first_row(learning, 7), "feedback_L"] = 5.0
    with pytest.raises(ValueError, match=r"'feedback_L'.*participant 7\b") as info:
        load_task_data(learning, transfer)
    assert "np." not in str(info.value)


def test_integer_participant_ids(small_frames):
    learning, transfer = small_frames
    expected = load_task_data(learning, transfer)
    ids = {"p1": 101, "p2": 7, "p3": 55}
    for frame in (learning, transfer):
        frame["participant_id"] = frame["participant_id"].map(ids).astype("int64")
    data = load_task_data(learning, transfer)
    assert list(data.participants) == [101, 7, 55]
    for field in dataclasses.fields(TaskData):
        if field.name != "participants":
            a, b = getattr(data, field.name), getattr(expected, field.name)
            assert (list(a) == list(b)) if field.name == "groups" else np.array_equal(a, b)


def test_csv_ids_and_group_codes_are_text(small_frames, tmp_path):
    """Ids 001 and 01 are two participants, not both the number 1."""
    learning, transfer = small_frames
    ids = {"p1": "001", "p2": "01", "p3": "1"}
    codes = {"p1": "1", "p2": "2", "p3": "03"}
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(codes)
        frame["participant_id"] = frame["participant_id"].map(ids)
    learning.to_csv(tmp_path / "learning.csv", index=False)
    transfer.to_csv(tmp_path / "transfer.csv", index=False)
    data = load_task_data(tmp_path / "learning.csv", tmp_path / "transfer.csv")
    assert list(data.participants) == ["001", "01", "1"]
    assert list(data.groups) == ["1", "2", "03"]
    assert_same_data(data, load_task_data(learning, transfer))


def test_trial_index_missing_in_a_whole_phase(small_frames):
    """A phase without any trial_index (concatenated frames) is taken in row order."""
    learning, transfer = small_frames
    expected = load_task_data(learning, transfer)
    transfer["trial_index"] = np.nan
    assert_same_data(load_task_data(learning, transfer), expected)
    assert_same_data(load_task_data(long_frame(learning, transfer)), expected)


def test_bundled_data_satisfy_the_contract():
    data = load_task_data(*load_example())
    assert data.n_participants == 60 and not data.padded
    # Read from the CSV paths (ids as text), the bundled files give the same arrays.
    paths = [resources.files("avoidrl.datasets").joinpath(_FILES[p]) for p in ("learning", "transfer")]
    with resources.as_file(paths[0]) as lp, resources.as_file(paths[1]) as tp:
        assert_same_data(load_task_data(lp, tp), data)


def test_tutorial_data_satisfy_the_contract(tutorial_frames, shared_dir):
    tutorial = load_task_data(*tutorial_frames)
    assert tutorial.n_participants == 15 and not tutorial.padded
    csvs = [shared_dir / "data" / f"tutorial_{p}_data.csv" for p in ("learning", "transfer")]
    assert_same_data(load_task_data(*csvs), tutorial)
