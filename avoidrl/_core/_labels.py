"""Labels (participant ids and group codes) that must not be told apart by accident.

A step of :func:`avoidrl._core.data.load_task_data`, after each row was
checked on its own: two different ids (or group codes) that read the same
as text, or differ only by surrounding whitespace or Unicode normalisation
(NFC / NFD), would silently become two participants (or groups) with part
of the trials each, so they are an error naming both spellings. Each
participant has one group code, the same in both phases.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd


def _plain(value):
    """A numpy scalar as the Python value it holds, for readable messages."""
    return value.item() if isinstance(value, np.generic) else value


def _spelling(value):
    """A label as text, without surrounding whitespace, in Unicode normal form NFC."""
    return unicodedata.normalize("NFC", str(value)).strip()


def _shown(value):
    """A label for a message; escaped when its repr hides the difference (NFC vs NFD)."""
    text = repr(_plain(value))
    return text if text.isascii() else f"{text} (as {value!a})"


def check_ids_as_text(frames):
    """Refuse two different ids that read the same as text (such as 1 and '1').

    Both would print, and be written to CSV, as the same id, and a CSV read
    back would merge them; the data must say which participant is meant.
    Ids that differ only by surrounding whitespace or Unicode normalisation
    (``'sub-001'`` and ``'sub-001 '``, NFC and NFD) are refused too: they
    are one participant's id typed twice, not two participants.
    """
    by_text = {}
    for frame, phase in frames:
        ids = frame["participant_id"]
        for pid in pd.unique(ids.to_numpy(dtype=object)):
            other = by_text.setdefault(_spelling(pid), (pid, frame, phase))
            if other[0] == pid:
                continue
            where = [
                f"{p} data row {_plain(f.index[(f['participant_id'] == v).to_numpy()][0])!r}"
                for v, f, p in (other, (pid, frame, phase))
            ]
            if str(other[0]) != str(pid):
                raise ValueError(
                    f"column 'participant_id': ids {_shown(other[0])} ({where[0]}) and "
                    f"{_shown(pid)} ({where[1]}) differ only by surrounding whitespace or "
                    "Unicode normalisation (NFC / NFD); expected one spelling per participant "
                    "(e.g. .str.strip().str.normalize('NFC') on the column)"
                )
            raise ValueError(
                f"column 'participant_id': ids {_plain(other[0])!r} ({type(other[0]).__name__}, "
                f"{where[0]}) and {_plain(pid)!r} ({type(pid).__name__}, {where[1]}) differ "
                "but read the same as text; expected one type of id for each participant "
                "(convert the column, e.g. with .astype(str))"
            )


def check_codes_as_text(groups, participants):
    """Refuse group codes that differ only by whitespace or Unicode normalisation.

    ``'control'`` and ``'control '`` would silently become two groups.
    """
    by_text = {}
    for code, pid in zip(groups, participants):
        other = by_text.setdefault(_spelling(code), (code, pid))
        if other[0] != code:
            raise ValueError(
                f"column 'group_code': codes {_shown(other[0])} (participant "
                f"{_plain(other[1])!r}) and {_shown(code)} (participant {_plain(pid)!r}) differ "
                "only by surrounding whitespace, Unicode normalisation (NFC / NFD) or type; "
                "expected one spelling per group (e.g. .str.strip().str.normalize('NFC') on "
                "the column)"
            )


def participant_positions(participants, ids):
    """Each of ``ids``' position in ``participants`` (-1 where it is not one of them).

    One hashed look-up for the whole array, with the labels as Python objects
    (an integer id and its text never merge); a dict look-up or
    ``Series.map`` per row was most of a data load's time on text ids.
    """
    return pd.Index(participants, dtype=object).get_indexer(np.asarray(ids, dtype=object))


def _groups_by_participant(frame, phase):
    """Each participant's group_code, as a dict; more than one is an error."""
    who, ids = pd.factorize(frame["participant_id"].to_numpy())
    codes = frame["group_code"].to_numpy(dtype=object)
    code, distinct = pd.factorize(codes)
    # Distinct (participant, code) combinations, one integer each (np.unique of rows is
    # slow; code -1 is a missing code): more than one per participant is an error.
    width = len(distinct) + 1
    combos = np.unique(who * width + code + 1)
    several = np.flatnonzero(np.bincount(combos // width, minlength=len(ids)) > 1)
    if len(several):
        p = several[0]
        rows = np.flatnonzero(who == p)
        first = rows[[np.flatnonzero(code[rows] == c)[0] for c in pd.unique(code[rows])][:3]]
        shown = ", ".join(f"{_plain(codes[r])!r} (row {_plain(frame.index[r])!r})" for r in first)
        raise ValueError(f"{phase} data: participant {_plain(ids[p])!r} has more than one "
                         f"group_code: {shown}; expected one group per participant")
    _, first = np.unique(who, return_index=True)
    return dict(zip(ids, codes[first]))


def _groups_of(learning, transfer, participants):
    """Each participant's group_code (an object array), the same in both phases."""
    groups_learning = _groups_by_participant(learning, "learning")
    if len(transfer) == 0:
        return np.array([groups_learning[pid] for pid in participants], dtype=object)
    groups_transfer = _groups_by_participant(transfer, "transfer")
    for pid in participants:
        gl, gt = groups_learning[pid], groups_transfer[pid]
        if gl != gt:
            raise ValueError(
                f"participant {_plain(pid)!r} has group_code {_plain(gl)!r} in the learning "
                f"data but {_plain(gt)!r} in the transfer data"
            )
    return np.array([groups_learning[pid] for pid in participants], dtype=object)
