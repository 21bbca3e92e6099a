"""Ids and group codes: spellings that differ only by whitespace or Unicode
normalisation are an error naming both; ``NA`` / ``null`` in a CSV's id and
group columns are text, while an empty cell stays an error."""

import unicodedata

import numpy as np
import pytest

from avoidrl._core.data import load_task_data

NFC = unicodedata.normalize("NFC", "sub-é")
NFD = unicodedata.normalize("NFD", "sub-é")


def _rename(frames, old, new, phase="both", rows=None):
    learning, transfer = (frame.copy() for frame in frames)
    for name, frame in (("learning", learning), ("transfer", transfer)):
        if phase in (name, "both"):
            where = frame["participant_id"] == old
            if rows is not None:
                where &= frame.index.isin(rows)
            frame.loc[where, "participant_id"] = new
    return learning, transfer


@pytest.mark.parametrize("first, second", [("p2", "p2 "), (" p2", "p2"), (NFC, NFD)])
def test_ids_differing_by_whitespace_or_normalisation(small_frames, first, second):
    frames = _rename(small_frames, "p2", first)
    # the same participant's transfer rows spelled the other way
    learning, transfer = _rename(frames, first, second, phase="transfer")
    with pytest.raises(ValueError, match=r"'participant_id'.*differ only by surrounding "
                                         r"whitespace or Unicode normalisation") as error:
        load_task_data(learning, transfer)
    message = str(error.value)
    assert repr(first) in message and repr(second) in message
    if first == NFC:  # the two look the same: the message shows them escaped
        assert ascii(NFC) in message and ascii(NFD) in message


def test_ids_differing_within_one_phase(small_frames):
    learning, transfer = small_frames
    p3 = learning.index[learning["participant_id"] == "p3"]
    learning, transfer = _rename((learning, transfer), "p3", "p3\t", rows=p3[:2])
    with pytest.raises(ValueError, match=rf"ids 'p3\\t' \(learning data row {p3[0]}\) and "
                                         rf"'p3' \(learning data row {p3[2]}\) differ only"):
        load_task_data(learning, transfer)


@pytest.mark.parametrize("first, second", [("control", "control "), (NFC, NFD)])
def test_group_codes_differing_by_whitespace_or_normalisation(small_frames, first, second):
    learning, transfer = (frame.copy() for frame in small_frames)
    for frame in (learning, transfer):
        frame.loc[frame["participant_id"] == "p1", "group_code"] = first
        frame.loc[frame["participant_id"] == "p3", "group_code"] = second
    with pytest.raises(ValueError, match=r"'group_code'.*participant 'p1'.*participant 'p3'"
                                         r".*differ only by surrounding whitespace"):
        load_task_data(learning, transfer)


@pytest.mark.parametrize("text", ["NA", "null", "NaN", "N/A", "None"])
def test_na_text_in_csv_ids_and_codes_is_kept(small_frames, tmp_path, text):
    learning, transfer = _rename(small_frames, "p2", text)
    for frame in (learning, transfer):
        frame.loc[frame["participant_id"] == "p3", "group_code"] = text
    paths = [tmp_path / "learning.csv", tmp_path / "transfer.csv"]
    for frame, path in zip((learning, transfer), paths):
        frame.to_csv(path, index=False)
    data = load_task_data(*paths)
    assert list(data.participants) == ["p1", text, "p3"]
    assert data.groups[2] == text


@pytest.mark.parametrize("column", ["participant_id", "group_code"])
def test_empty_csv_cell_in_ids_or_codes_is_still_an_error(small_frames, tmp_path, column):
    learning, transfer = (frame.copy() for frame in small_frames)
    learning[column] = learning[column].astype(object)
    learning.loc[7, column] = np.nan
    paths = [tmp_path / "learning.csv", tmp_path / "transfer.csv"]
    for frame, path in zip((learning, transfer), paths):
        frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"learning data: column '{column}'.*row 7"):
        load_task_data(*paths)
