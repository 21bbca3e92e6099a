"""Property-based tests of the data contract (avoidrl._core.data.load_task_data).

Valid frames (three participants of the bundled example data, one per group,
cut short) are corrupted at random: rows dropped, duplicated or shuffled, odd
values (NaN, inf, None, text, bools, huge numbers) written into any column the
loader reads (containers too), participant ids renamed or given another type,
ids that only look like numbers read back from CSV. Whatever is done,
loading either raises a ValueError or succeeds with the right arrays; never
another exception and never a silent wrong answer.

"Right" is judged by :func:`expected_content`, a plain row-by-row reading of
the contract (reference-spec section 1) that shares nothing with the loader
but the lists of columns read:
it says whether the data are valid and, if so, what each participant's trials
are. Loading must fail exactly when it says the data are invalid and must
agree with it otherwise. Corruptions whose outcome is known without it
(duplicated trials with a trial_index, shuffled rows) are also checked
directly.
"""

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from avoidrl import QLearning, load_example
from avoidrl._core.data import LEARNING_COLUMNS, TRANSFER_COLUMNS, load_task_data

# Derandomized so CI sees the same examples every run; no example database,
# so nothing is written into the checkout.
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)
FEW = settings(max_examples=6, deadline=None, derandomize=True, database=None)

# --------------------------------------------------------------------------- the contract, by hand

#: Pair -> (symbol values it may show, feedback it may give), from reference-spec 1.1.
PAIRS = {"Reward1": ({3, 4}, {0, 10}), "Reward2": ({3, 4}, {0, 10}),
         "Punish1": ({1, 2}, {-10, 0}), "Punish2": ({1, 2}, {-10, 0})}
PAIR_ORDER = ["Reward1", "Reward2", "Punish1", "Punish2"]
#: Transfer stimulus -> symbol value; its position is the stimulus index (A-H, then N).
STIMULI = {"75R1": 4, "25R1": 3, "75R2": 4, "25R2": 3,
           "25P1": 2, "75P1": 1, "25P2": 2, "75P2": 1, "Zero": 0}
STIMULUS_ORDER = list(STIMULI)


def is_missing(value):
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def number(value):
    """The number a cell holds (bools and numeric text count), NaN if none."""
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def no_label(value):
    """Containers cannot label a participant or a group."""
    return isinstance(value, (list, tuple, dict, set))


def valid_row(row, phase):
    """Whether one row obeys the contract on its own."""
    pid, code = row["participant_id"], row["group_code"]
    if is_missing(pid) or no_label(pid) or isinstance(pid, (bool, np.bool_)):
        return False
    if is_missing(code) or no_label(code) or (isinstance(code, str) and not code.strip()):
        return False
    if number(row["choice_made"]) not in (0.0, 1.0):
        return False
    left, right = number(row["symbol_L_value"]), number(row["symbol_R_value"])
    if left == right:
        return False
    if phase == "learning":
        pair = row["symbol_names"]
        if not isinstance(pair, str) or pair not in PAIRS:
            return False
        values, feedbacks = PAIRS[pair]
        return (left in values and right in values
                and number(row["feedback_L"]) in feedbacks
                and number(row["feedback_R"]) in feedbacks)
    names = row["symbol_L_name"], row["symbol_R_name"]
    if not all(isinstance(n, str) and n in STIMULI for n in names):
        return False
    return left == STIMULI[names[0]] and right == STIMULI[names[1]]


def valid_order(rows):
    """trial_index: present on no row, or a finite number never repeated or decreasing."""
    if not rows or "trial_index" not in rows[0] or all(is_missing(r["trial_index"]) for r in rows):
        return True
    seen, last = {}, {}
    for row in rows:
        index = number(row["trial_index"])
        if not math.isfinite(index):
            return False
        pid = row["participant_id"]
        if index in seen.setdefault(pid, set()) or index < last.get(pid, -math.inf):
            return False
        seen[pid].add(index)
        last[pid] = index
    return True


def recode_learning(row):
    """(pair, choice of the worse option, outcome of the better, of the worse)."""
    left_better = number(row["symbol_L_value"]) > number(row["symbol_R_value"])
    choice = number(row["choice_made"])
    fb = number(row["feedback_L"]) / 10, number(row["feedback_R"]) / 10
    if not left_better:
        choice, fb = 1.0 - choice, fb[::-1]
    return PAIR_ORDER.index(row["symbol_names"]), choice, fb[0], fb[1]


def recode_transfer(row):
    """(higher-valued stimulus, lower-valued stimulus, 1.0 if the lower was chosen)."""
    left, right = STIMULUS_ORDER.index(row["symbol_L_name"]), STIMULUS_ORDER.index(row["symbol_R_name"])
    choice = number(row["choice_made"])
    if number(row["symbol_L_value"]) < number(row["symbol_R_value"]):
        left, right, choice = right, left, 1.0 - choice
    return left, right, choice


def records(frame, columns):
    """The rows as dicts of the columns the contract reads (plus trial_index, if any)."""
    columns = [*columns, "trial_index"] if "trial_index" in frame.columns else list(columns)
    return [dict(zip(columns, row)) for row in zip(*(frame[c].tolist() for c in columns))]


def expected_content(learning, transfer, long=None):
    """Each participant's group and recoded trials, or None when the data are invalid.

    ``long`` is the one long frame the phases were split from, if any (its rows
    of other trial types must not hold participants without trials).
    """
    phases = {"learning": records(learning, LEARNING_COLUMNS),
              "transfer": records(transfer, TRANSFER_COLUMNS)}
    if not phases["learning"] or not phases["transfer"]:
        return None
    for phase, rows in phases.items():
        if not all(valid_row(row, phase) for row in rows) or not valid_order(rows):
            return None
    content = {}
    for phase, rows in phases.items():
        for row in rows:
            entry = content.setdefault(row["participant_id"], {
                "groups": {"learning": set(), "transfer": set()}, "learning": [], "transfer": []})
            entry["groups"][phase].add(row["group_code"])
            recode = recode_learning if phase == "learning" else recode_transfer
            entry[phase].append(recode(row))
    texts = [str(pid) for pid in content]
    if len(set(texts)) < len(texts):
        return None  # two different ids that read the same as text
    for entry in content.values():
        groups = entry["groups"]
        if not entry["learning"] or not entry["transfer"]:
            return None
        if len(groups["learning"]) != 1 or groups["learning"] != groups["transfer"]:
            return None
        entry["group"] = next(iter(groups["learning"]))
    if long is not None:
        others = [pid for pid in long["participant_id"] if not is_missing(pid)]
        if any(no_label(pid) or isinstance(pid, (bool, np.bool_)) for pid in others):
            return None
        if set(others) - set(content):
            return None
    return content  # insertion order: first appearance in the learning data


def note(text):
    """Count outcomes for --hypothesis-show-statistics (so the mix of cases can be seen)."""
    if currently_in_test_context():
        event(text)


def check(learning, transfer, long=False):
    """Load (two frames or one long one) and compare with the hand reading.

    Returns the TaskData, or None when loading raised the ValueError it should.
    """
    if long:
        X = pd.concat([learning.assign(trial_type="learning-trials"),
                       transfer.assign(trial_type="probe")], ignore_index=True)
        content = expected_content(learning, transfer, long=X)
        args = (X,)
    else:
        content = expected_content(learning, transfer)
        args = (learning, transfer)
    try:
        data = load_task_data(*args)
    except ValueError as exc:
        note(f"refused: {str(exc).split(';')[0][:60]}")
        assert content is None, "valid data refused"
        return None
    note("loaded")
    assert content is not None, "invalid data accepted"
    assert_matches(data, content)
    return data


def assert_matches(data, content):
    """The TaskData hold exactly the hand-read trials of every participant."""
    assert list(data.participants) == list(content)
    assert list(data.groups) == [entry["group"] for entry in content.values()]
    for p, entry in enumerate(content.values()):
        assert data.n_learning[p] == len(entry["learning"])
        assert data.n_transfer[p] == len(entry["transfer"])
        for s in range(4):
            chain = [(row, trial[1:]) for row, trial in enumerate(entry["learning"])
                     if trial[0] == s]
            n = len(chain)
            assert data.mask[:n, p, s].all() and not data.mask[n:, p, s].any()
            got = [(int(data.learning_row[t, p, s]), (data.choice[t, p, s],
                                                      *data.outcome[t, :, p, s]))
                   for t in range(n)]
            assert got == chain
        n = len(entry["transfer"])
        got = list(zip(data.transfer_first[p, :n].tolist(), data.transfer_second[p, :n].tolist(),
                       data.transfer_choice[p, :n].tolist()))
        assert got == entry["transfer"]
        assert data.transfer_mask[p, :n].all() and not data.transfer_mask[p, n:].any()
        assert data.transfer_counts[p].sum() == n


# --------------------------------------------------------------------------- valid frames


def _base_frames():
    learning, transfer = load_example()
    ids = ["sub-001", "sub-021", "sub-041"]  # one per group
    return tuple(
        frame[frame["participant_id"].isin(ids)].groupby("participant_id", sort=False)
        .head(n).reset_index(drop=True)
        for frame, n in ((learning, 16), (transfer, 12)))


BASE = _base_frames()
INT_IDS = {"sub-001": 1, "sub-021": 21, "sub-041": 41}


@st.composite
def frames(draw, trial_index=None):
    """A fresh valid (learning, transfer) pair; ids as text or integers."""
    learning, transfer = (frame.copy() for frame in BASE)
    if draw(st.booleans()):
        for frame in (learning, transfer):
            frame["participant_id"] = frame["participant_id"].map(INT_IDS).astype("int64")
    if trial_index is None:
        trial_index = draw(st.booleans())
    if not trial_index:
        learning, transfer = (frame.drop(columns="trial_index") for frame in (learning, transfer))
    return learning, transfer


def test_base_frames_are_valid():
    for long in (False, True):
        data = check(*BASE, long=long)
        assert data is not None and data.n_participants == 3 and not data.padded


# --------------------------------------------------------------------------- corruptions

ODD_VALUES = [
    np.nan, None, math.inf, -math.inf, "", "   ", "abc", "nan", True, False, 10**30, 2**64,
    -1, 0, 1, 2, 3, 4, 10, -10, 0.5, 1.0, "0", "1", "3", "10", "-10", "Reward1", "Punish2",
    "75R1", "Zero", "control", "sub-021", 21, "21", np.int64(1), np.float64(4.0),
    [1], ("sub-001",), {"a": 1},
]
values = (st.sampled_from(ODD_VALUES) | st.integers(-20, 10**6) | st.floats()
          | st.text(alphabet="0123456789.-+e abx", max_size=4))
COLUMNS = {"learning": [*LEARNING_COLUMNS, "trial_index"],
           "transfer": [*TRANSFER_COLUMNS, "trial_index"]}


def write(frame, row, column, value):
    """Write any value into one cell (an object column accepts every type)."""
    frame[column] = frame[column].astype(object)
    frame.iat[row, frame.columns.get_loc(column)] = value


#: Tokens for a cell's own value in another type, or a neighbour's value.
RETYPE = {"as text": str, "as float": float, "as numpy float": np.float64,
          "as numpy text": np.str_, "as padded text": lambda v: f" {v} "}
NEIGHBOUR = {"previous row's": -1, "next row's": +1}
#: Near misses for each column: values a real file might hold by mistake.
NEAR_MISSES = {
    "participant_id": [np.nan, None, "", True, "sub-021", 21, "21", "SUB-001"],
    "group_code": [np.nan, None, "", "  ", "acute", "Control", 1],
    "symbol_names": [*PAIRS, "reward1", "Reward3", np.nan],
    "symbol_L_value": [0, 1, 2, 3, 4, 5, "4", 4.0, True, np.nan],
    "feedback_L": [-10, 0, 10, "10", "-10", -10.0, 5, 1, True, np.nan],
    "choice_made": [0, 1, 2, -1, True, False, "1", 0.5, np.nan],
    "symbol_L_name": [*STIMULI, "75R3", "zero", np.nan],
    "trial_index": [np.nan, math.inf, "x", -1, 0, 10**30, 0.5, *NEIGHBOUR],
}
for _same, _as in (("symbol_R_value", "symbol_L_value"), ("feedback_R", "feedback_L"),
                   ("symbol_R_name", "symbol_L_name")):
    NEAR_MISSES[_same] = NEAR_MISSES[_as]


@settings(FAST, max_examples=150)
@given(frames(), st.sampled_from(["learning", "transfer"]), st.data(), st.booleans())
def test_odd_value_in_a_used_column(pair, phase, data, long):
    """One cell gets a near miss, an odd value, or its own value in another type."""
    learning, transfer = pair
    frame = learning if phase == "learning" else transfer
    column = data.draw(st.sampled_from([c for c in COLUMNS[phase] if c in frame.columns]))
    row = data.draw(st.integers(0, len(frame) - 1))
    value = data.draw(st.sampled_from(NEAR_MISSES[column]) | values
                      | st.sampled_from([*RETYPE]))
    if isinstance(value, str) and value in RETYPE:
        try:
            value = RETYPE[value](frame[column].iloc[row])
        except ValueError:
            return  # text that is no number cannot become a float
    elif isinstance(value, str) and value in NEIGHBOUR:
        value = frame[column].iloc[(row + NEIGHBOUR[value]) % len(frame)]
    write(frame, row, column, value)
    check(learning, transfer, long=long)


@FAST
@given(frames(), st.lists(st.tuples(st.sampled_from(["learning", "transfer"]),
                                    st.integers(0, 10**6), st.sampled_from(COLUMNS["learning"]),
                                    values), min_size=2, max_size=6))
def test_several_odd_values(pair, writes):
    learning, transfer = pair
    for phase, row, column, value in writes:
        frame = learning if phase == "learning" else transfer
        if column in frame.columns:
            write(frame, row % len(frame), column, value)
    check(learning, transfer)


@FAST
@given(frames(), st.data())
def test_dropped_rows(pair, data):
    learning, transfer = pair
    kept = []
    for frame in (learning, transfer):
        drop = data.draw(st.sets(st.integers(0, len(frame) - 1), max_size=len(frame)))
        kept.append(frame.drop(index=list(drop)))
    result = check(*kept)
    # Dropping rows never breaks a rule, unless a participant loses a whole phase.
    ids = [set(frame["participant_id"]) for frame in kept]
    assert (result is not None) == (ids[0] == ids[1] != set())
    if result is not None:
        for n, frame in ((result.n_learning, kept[0]), (result.n_transfer, kept[1])):
            counts = frame["participant_id"].value_counts()
            assert n.tolist() == [counts[p] for p in result.participants]


@FAST
@given(frames(), st.sampled_from(["learning", "transfer"]), st.data())
def test_duplicated_rows(pair, phase, data):
    learning, transfer = pair
    frames_ = {"learning": learning, "transfer": transfer}
    frame = frames_[phase]
    rows = data.draw(st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=5))
    where = data.draw(st.sampled_from(["after", "end", "shuffled"]))
    copies = frame.iloc[rows]
    if where == "after":
        order = sorted([*range(len(frame)), *rows], key=float)
        frame = frame.iloc[order]
    else:
        frame = pd.concat([frame, copies])
        if where == "shuffled":
            frame = frame.sample(frac=1.0, random_state=data.draw(st.integers(0, 2**32 - 1)))
    frames_[phase] = frame.reset_index(drop=True)
    result = check(frames_["learning"], frames_["transfer"])
    if "trial_index" in frame.columns:
        assert result is None  # the same trial twice is never data
    else:
        assert result is not None  # without trial_index, row order is trial order


@FAST
@given(frames(trial_index=True), st.sampled_from(["learning", "transfer", "both"]),
       st.sampled_from(["all", "two rows", "participants interleaved"]), st.data())
def test_shuffled_rows(pair, phase, how, data):
    """With a trial_index, reordered rows are refused or change nothing."""
    original = load_task_data(*pair)
    shuffled = []
    for name, frame in zip(("learning", "transfer"), pair):
        if phase in (name, "both"):
            n = len(frame)
            if how == "all":
                order = data.draw(st.permutations(range(n)))
            elif how == "two rows":
                i, j = data.draw(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)))
                order = list(range(n))
                order[i], order[j] = order[j], order[i]
            else:
                # Random positions, handed out to each participant's rows in their
                # own order: participants interleave, each one's trials stay in order.
                key = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
                ids = frame["participant_id"].to_numpy()
                for pid in pd.unique(ids):
                    mine = np.flatnonzero(ids == pid)
                    key[mine] = np.sort(key[mine])
                order = np.argsort(key, kind="stable")
            frame = frame.iloc[list(order)]
        shuffled.append(frame)
    result = check(*shuffled)
    if how == "participants interleaved":
        assert result is not None
    if result is not None:
        # The right answer is known: every participant's trials as before.
        for p, pid in enumerate(result.participants):
            q = list(original.participants).index(pid)
            for field in ("choice", "outcome", "mask", "learning_row"):
                axis = 2 if field == "outcome" else 1
                assert np.array_equal(np.take(getattr(result, field), p, axis=axis),
                                      np.take(getattr(original, field), q, axis=axis)), field
            for field in ("transfer_first", "transfer_second", "transfer_choice",
                          "transfer_counts"):
                assert np.array_equal(getattr(result, field)[p], getattr(original, field)[q])


@FAST
@given(frames(), st.sampled_from(["learning", "transfer", "both"]),
       st.sampled_from(["another's id", "a new id", "the id as text", "the id as a number"]),
       st.booleans(), st.data())
def test_renamed_participant(pair, phase, rename, one_row, data):
    """Rows given another participant's id, a new id, or the same id in another type."""
    learning, transfer = pair
    ids = list(pd.unique(learning["participant_id"]))
    who = data.draw(st.sampled_from(ids))
    new = {"another's id": data.draw(st.sampled_from([i for i in ids if i != who])),
           "a new id": "sub-999",
           "the id as text": str(who),
           "the id as a number": int(str(who).removeprefix("sub-"))}[rename]
    for name, frame in (("learning", learning), ("transfer", transfer)):
        if phase in (name, "both"):
            rows = np.flatnonzero(frame["participant_id"] == who)
            if one_row:
                rows = rows[[data.draw(st.integers(0, len(rows) - 1))]]
            for row in rows:
                write(frame, row, "participant_id", new)
    check(learning, transfer, long=data.draw(st.booleans()))


@FAST
@given(frames(), st.integers(0, 10**6),
       values | st.sampled_from(["learning-trials", "probe", "practice"]), st.booleans())
def test_odd_trial_type_in_one_long_frame(pair, row, value, in_learning):
    """A row of another trial type is ignored; the rest must still be valid."""
    learning, transfer = pair
    X = pd.concat([learning.assign(trial_type="learning-trials"),
                   transfer.assign(trial_type="probe")], ignore_index=True)
    row = row % len(learning) if in_learning else len(learning) + row % len(transfer)
    write(X, row, "trial_type", value)
    keep = {"learning-trials": [], "probe": []}
    for r, kind in enumerate(X["trial_type"]):
        if isinstance(kind, str) and kind in keep:
            keep[kind].append(r)
    content = expected_content(X.iloc[keep["learning-trials"]], X.iloc[keep["probe"]], long=X)
    try:
        data = load_task_data(X)
    except ValueError as exc:
        note(f"refused: {str(exc).split(';')[0][:60]}")
        assert content is None
    else:
        note("loaded")
        assert content is not None
        assert_matches(data, content)


NUMBER_LIKE = ["001", "01", "1", "1.0", "1e0", "+1", "0001", "-0", "0", "7", "007"]


@FEW
@given(frames(), st.lists(st.sampled_from(NUMBER_LIKE), min_size=6, max_size=6, unique=True),
       st.booleans())
def test_ids_that_look_like_numbers_survive_csv(pair, labels, long):
    """Read from CSV, ids and group codes stay the text that was written."""
    learning, transfer = pair
    ids, codes = labels[:3], labels[3:]
    old = pd.unique(learning["participant_id"])
    for frame in (learning, transfer):
        position = frame["participant_id"].map({pid: i for i, pid in enumerate(old)}).to_numpy()
        frame["participant_id"] = np.array(ids, dtype=object)[position]
        frame["group_code"] = np.array(codes, dtype=object)[position]
    expected = check(learning, transfer)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if long:
            X = pd.concat([learning.assign(trial_type="learning-trials"),
                           transfer.assign(trial_type="probe")], ignore_index=True)
            X.to_csv(folder / "long.csv", index=False)
            data = load_task_data(folder / "long.csv")
        else:
            learning.to_csv(folder / "learning.csv", index=False)
            transfer.to_csv(folder / "transfer.csv", index=False)
            data = load_task_data(folder / "learning.csv", folder / "transfer.csv")
    assert list(data.participants) == ids and list(data.groups) == codes
    for name in ("choice", "outcome", "mask", "transfer_first", "transfer_second",
                 "transfer_choice", "transfer_counts"):
        assert np.array_equal(getattr(data, name), getattr(expected, name)), name


# --------------------------------------------------------------------------- through the estimator

PARAMS = {"factual_lr": 0.3, "counterfactual_lr": 0.2, "temperature": 0.1, "novel_value": 0.1}


def canonical(frame):
    """The frame with every read cell replaced by the plain value the contract gives it."""
    frame = frame.copy()
    for column in ("symbol_L_value", "symbol_R_value", "feedback_L", "feedback_R",
                   "choice_made", "trial_index"):
        if column in frame.columns:
            frame[column] = [number(v) for v in frame[column]]
    return frame


@FEW
@given(frames(), st.sampled_from(["learning", "transfer"]), st.data(),
       st.sampled_from([True, 1, 1.0, "1", "10", "-10", "0", np.nan, "abc", -10, 10**30]))
def test_likelihood_and_fit_see_what_the_contract_says(pair, phase, data, value):
    """An accepted odd value means what the contract says; a refused one is a ValueError."""
    learning, transfer = pair
    frame = learning if phase == "learning" else transfer
    column = data.draw(st.sampled_from(["choice_made", "feedback_L", "feedback_R"]
                                       if phase == "learning" else ["choice_made"]))
    write(frame, data.draw(st.integers(0, len(frame) - 1)), column, value)
    model = QLearning(novel=True, start="fixed")
    valid = check(learning, transfer)
    if valid is None:
        with pytest.raises(ValueError):
            model.fit(learning, transfer)
        return
    params = pd.DataFrame([PARAMS] * valid.n_participants,
                          index=pd.Index(valid.participants, name="participant_id"))
    nll = model.negative_log_likelihood(learning, transfer, params=params)
    plain = model.negative_log_likelihood(canonical(learning), canonical(transfer), params=params)
    assert np.isfinite(nll.to_numpy()).all()
    pd.testing.assert_frame_equal(nll, plain)
    if data.draw(st.booleans()):
        model.fit(learning, transfer)
        refit = QLearning(novel=True, start="fixed").fit(canonical(learning), canonical(transfer))
        pd.testing.assert_frame_equal(model.params_, refit.params_)
