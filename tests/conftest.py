"""Shared fixtures and the markers: data, session-wide study folders, the suite's checks.

The tutorial data and the reference likelihoods live outside the project, in
``../shared`` next to the project root. Tests that need them (through the
``shared_dir`` fixture) are marked ``shared`` here and skip cleanly when that
folder is absent; everything else runs on :func:`make_small_frames` or the
bundled example data.

Markers (registered in pyproject.toml, ``--strict-markers``):

* ``slow``: whole CLI/Pipeline runs, the examples, anything over ~3 s. The default
  selection (``addopts = -m "not slow"``) leaves them out; ``python -m pytest -m slow``
  runs only them, ``python -m pytest -m ""`` everything (CI runs both parts).
* ``shared``: needs ``../shared``; added here to every test that uses ``shared_dir``.

Study folders that several tests only read are written once per session
(``fit_ml_run``, ``fit_eb_run``, ``validate_run``); a test that changes one copies
it first (``shutil.copytree(folder, tmp_path / ...)``).
"""

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"

# Compiled kernels of the test run go to a folder of its own, not the user's cache
# (subprocesses started by tests inherit it).
os.environ.setdefault("AVOIDRL_CACHE_DIR", tempfile.mkdtemp(prefix="avoidrl-test-cache-"))

#: Symbol value of each stimulus name (reference-spec.md section 1.1).
SYMBOL_VALUES = {"75R1": 4, "25R1": 3, "75R2": 4, "25R2": 3,
                 "25P1": 2, "75P1": 1, "25P2": 2, "75P2": 1, "Zero": 0}
#: Learning pairs: (better symbol, worse symbol, possible feedbacks).
LEARNING_PAIRS = {
    "Reward1": ("75R1", "25R1", (0.0, 10.0)),
    "Reward2": ("75R2", "25R2", (0.0, 10.0)),
    "Punish1": ("25P1", "75P1", (-10.0, 0.0)),
    "Punish2": ("25P2", "75P2", (-10.0, 0.0)),
}
#: Transfer pairs of the synthetic task: every learning symbol, several pairs with Zero.
TRANSFER_PAIRS = [
    ("75R1", "Zero"), ("Zero", "75P2"), ("25R2", "Zero"), ("25P1", "Zero"),
    ("75R1", "25P1"), ("25R1", "75P1"), ("75R2", "25R1"), ("25P2", "75P1"),
    ("75R1", "75P2"), ("25R2", "25P2"), ("75R1", "25R1"),
]
SMALL_PARTICIPANTS = (("p1", "no pain"), ("p2", "acute pain"), ("p3", "chronic pain"))
TRIALS_PER_PAIR = 6


def make_small_frames(seed=0):
    """A tiny valid task in the tutorial CSVs' format (needed columns only).

    Three participants, six learning trials per pair (interleaved, both
    left/right placements) and 22 transfer trials (11 pairs in both
    placements, four of them with the novel symbol 'Zero'). Participant p1's
    first Punish1 trial has -10 on both sides, so actor weights can cancel,
    and its second has 0 (better) and -10 (worse).
    """
    rng = np.random.default_rng(seed)
    learning, transfer = [], []
    for pid, group in SMALL_PARTICIPANTS:
        trial_index = 1
        placements = {name: [True, False] * (TRIALS_PER_PAIR // 2) for name in LEARNING_PAIRS}
        for block in range(TRIALS_PER_PAIR):
            for name in rng.permutation(list(LEARNING_PAIRS)):
                better, worse, feedbacks = LEARNING_PAIRS[name]
                better_left = placements[name][block]
                fb_better, fb_worse = rng.choice(feedbacks, size=2)
                if pid == "p1" and name == "Punish1" and block < 2:
                    # Both -10, then unequal: cancelled actor weights restart, and
                    # how they restart shows in the next update.
                    fb_better, fb_worse = (-10.0, -10.0) if block == 0 else (0.0, -10.0)
                left, right = (better, worse) if better_left else (worse, better)
                fb_left, fb_right = (fb_better, fb_worse) if better_left else (fb_worse, fb_better)
                learning.append({
                    "participant_id": pid, "trial_type": "learning-trials",
                    "trial_index": trial_index, "group_code": group, "symbol_names": name,
                    "symbol_L_value": SYMBOL_VALUES[left], "symbol_R_value": SYMBOL_VALUES[right],
                    "feedback_L": float(fb_left), "feedback_R": float(fb_right),
                    "choice_made": int(rng.integers(2)),
                })
                trial_index += 1
        shown = [pair for pair in TRANSFER_PAIRS] + [pair[::-1] for pair in TRANSFER_PAIRS]
        for k in rng.permutation(len(shown)):
            left, right = shown[k]
            transfer.append({
                "participant_id": pid, "trial_type": "probe", "trial_index": trial_index,
                "group_code": group, "symbol_L_name": left, "symbol_R_name": right,
                "symbol_L_value": SYMBOL_VALUES[left], "symbol_R_value": SYMBOL_VALUES[right],
                "choice_made": int(rng.integers(2)),
            })
            trial_index += 1
    return pd.DataFrame(learning), pd.DataFrame(transfer)


def pytest_collection_modifyitems(config, items):
    """Mark ``shared`` every test that needs the shared folder (``-m "not shared"`` skips them)."""
    for item in items:
        if "shared_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared)


@pytest.fixture(scope="session")
def shared_dir():
    """The shared folder (tutorial data, reference fixtures); skips when absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data folder {SHARED_DIR} is not available")
    return SHARED_DIR


@pytest.fixture(scope="session")
def _tutorial_cache(shared_dir):
    paths = [shared_dir / "data" / f"tutorial_{phase}_data.csv" for phase in ("learning", "transfer")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"tutorial data not available: {missing}")
    return tuple(pd.read_csv(p) for p in paths)


@pytest.fixture
def tutorial_frames(_tutorial_cache):
    """(learning, transfer) DataFrames of the 15-participant tutorial data (fresh copies)."""
    return tuple(frame.copy() for frame in _tutorial_cache)


@pytest.fixture
def small_frames():
    """(learning, transfer) DataFrames of the synthetic task (fresh copies)."""
    return make_small_frames()


@pytest.fixture(autouse=True)
def _reported_nll_is_the_nll_at_reported_params(monkeypatch):
    """Every fit in the suite: ``nll_`` is the NLL at ``params_``, re-evaluated here.

    Wraps the estimators' common fit step, so a fit that reported an
    optimizer's stale value (e.g. after an ABNORMAL L-BFGS-B exit) fails
    whichever test made it.
    """
    import numpy as np

    from avoidrl._core.likelihood import Objective
    from avoidrl.estimators import RLModelBase

    original = RLModelBase._fit_data

    def checked(self, data, *args, **kwargs):
        result = original(self, data, *args, **kwargs)
        owner = np.arange(data.n_participants)
        at_params = Objective(self._variant(), data)(self.params_.to_numpy(), owner)
        assert np.array_equal(at_params, self.nll_.to_numpy()), (
            "nll_ differs from the NLL at params_", self.model_name_)
        return result

    monkeypatch.setattr(RLModelBase, "_fit_data", checked)


# ------------------------------------------------------- session-wide study folders
#: The two models of the shared study folders.
TWO_MODELS = ("QLearning+novel", "Relative+novel")


def run_cli(argv):
    """``avoidrl ARGV`` in this process, output captured by hand: (code, stdout, stderr)."""
    from avoidrl import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="session")
def data_files(tmp_path_factory):
    """Six example participants (two per group) as the reference's two CSVs (paths, str).

    Read only: tests check that runs leave this folder as it is.
    """
    from ._helpers import small_example, write_csvs

    return write_csvs(tmp_path_factory.mktemp("data"), *small_example())


@pytest.fixture(scope="session")
def fit_ml_run(data_files, tmp_path_factory):
    """``avoidrl fit`` of TWO_MODELS on ``data_files``, 2 starts, seed 3 (not quiet).

    (exit code, stdout, stderr, folder); read only.
    """
    out = tmp_path_factory.mktemp("fit_ml") / "modelling"
    return (*run_cli(["fit", "--models", *TWO_MODELS, "--learning", data_files[0],
                      "--transfer", data_files[1], "--n-starts", "2", "--seed", "3",
                      "--out", str(out)]), out)


@pytest.fixture(scope="session")
def fit_eb_run(tmp_path_factory):
    """``avoidrl fit --method eb`` of TWO_MODELS on 12 example participants, seed 1.

    (exit code, stdout, stderr, folder); read only.
    """
    out = tmp_path_factory.mktemp("fit_eb") / "study"
    return (*run_cli(["fit", "--method", "eb", "--models", *TWO_MODELS, "--participants",
                      "12", "--seed", "1", "--out", str(out)]), out)


@pytest.fixture(scope="session")
def validate_run(data_files, tmp_path_factory):
    """``avoidrl validate --recovery both`` of TWO_MODELS on ``data_files``: 6 datasets,
    2 starts, seed 7 (not quiet). (exit code, stdout, stderr, folder); read only."""
    out = tmp_path_factory.mktemp("validate") / "validation"
    return (*run_cli(["validate", "--recovery", "both", "--models", *TWO_MODELS,
                      "--learning", data_files[0], "--transfer", data_files[1],
                      "--n-datasets", "6", "--n-starts", "2", "--seed", "7",
                      "--out", str(out)]), out)
