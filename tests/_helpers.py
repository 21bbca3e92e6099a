"""Helpers the test modules import (``from .._helpers import ...``); fixtures live in conftest.py.

Test modules never import each other: what several of them need sits here.
"""

from avoidrl import load_example


def small_example(per_group=2):
    """The first ``per_group`` example participants of every group."""
    learning, transfer = load_example()
    first = learning.drop_duplicates("participant_id")
    ids = set(first.groupby("group_code", sort=False).head(per_group)["participant_id"])
    return (learning[learning["participant_id"].isin(ids)].reset_index(drop=True),
            transfer[transfer["participant_id"].isin(ids)].reset_index(drop=True))


def write_csvs(folder, learning, transfer):
    """Write the two CSVs into ``folder``; returns their paths as strings."""
    paths = folder / "learning.csv", folder / "transfer.csv"
    learning.to_csv(paths[0], index=False)
    transfer.to_csv(paths[1], index=False)
    return tuple(map(str, paths))
