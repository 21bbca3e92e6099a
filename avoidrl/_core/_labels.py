"""Labels (participant ids and group codes) that must not be told apart by accident.

A step of :func:`avoidrl._core.data.load_task_data`, after each row was
checked on its own: two different ids (or group codes) that read the same
as text, or differ only by surrounding whitespace or Unicode normalisation
(NFC / NFD), would silently become two participants (or groups) with part
of the trials each, so they are an error naming both spellings.
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
