"""The tutorial data the benchmarks run on (``../shared/data`` beside the project)."""

import sys
from pathlib import Path

import pandas as pd

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_tutorial(data_dir=DEFAULT_DATA_DIR, n_participants=None):
    """Return the tutorial ``(learning, transfer)`` frames, or exit with a clear message.

    ``n_participants`` keeps the first N participants (all when None or 0).
    """
    paths = [Path(data_dir) / f"tutorial_{phase}_data.csv" for phase in ("learning", "transfer")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"error: tutorial data not found: {', '.join(missing)}\n"
                 "Pass --data-dir pointing at the folder holding "
                 "tutorial_learning_data.csv and tutorial_transfer_data.csv.")
    learning, transfer = (pd.read_csv(p) for p in paths)
    if n_participants:
        keep = pd.unique(learning["participant_id"])[:n_participants]
        learning = learning[learning["participant_id"].isin(keep)]
        transfer = transfer[transfer["participant_id"].isin(keep)]
    return learning, transfer
