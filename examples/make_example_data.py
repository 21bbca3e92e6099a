"""
Regenerate the bundled example data
===================================

Regenerate avoidrl's bundled example data, bit for bit.

Sixty simulated participants in three groups of twenty, each simulated with
QLearning+novel on the standard task design (24 trials per learning pair,
the 32 transfer pairs shown 12 times). The groups differ in their generating
parameters (means below; each participant's values are drawn around them):

=========  ==========  =================  ===========  ===========
group      factual_lr  counterfactual_lr  temperature  novel_value
=========  ==========  =================  ===========  ===========
control    0.30        0.20               0.08         0.00
acute      0.20        0.15               0.12         -0.20
chronic    0.12        0.10               0.16         -0.40
=========  ==========  =================  ===========  ===========

Run from the project root::

    python examples/make_example_data.py

It writes ``avoidrl/datasets/example_{learning,transfer}_data.csv``,
``example_parameters.csv`` and ``example_metadata.json``.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from avoidrl import QLearning
from avoidrl._core.data import PAIR_NAMES

SEED = 20261128
GROUPS = {
    "control": {"factual_lr": 0.30, "counterfactual_lr": 0.20, "temperature": 0.08,
                "novel_value": 0.00},
    "acute": {"factual_lr": 0.20, "counterfactual_lr": 0.15, "temperature": 0.12,
              "novel_value": -0.20},
    "chronic": {"factual_lr": 0.12, "counterfactual_lr": 0.10, "temperature": 0.16,
                "novel_value": -0.40},
}
PER_GROUP = 20
#: between-participant spread (SD) of each parameter around its group mean
SPREAD = {"factual_lr": 0.05, "counterfactual_lr": 0.04, "temperature": 0.02,
          "novel_value": 0.15}
OUT = Path(__file__).resolve().parents[1] / "avoidrl" / "datasets"


def main():
    rng = np.random.RandomState(SEED)
    model = QLearning(novel=True)
    bounds = {p.name: p.bounds for p in model._variant().parameters}
    rows, learning, transfer = [], [], []
    for g, (group, means) in enumerate(GROUPS.items()):
        ids = [f"sub-{g * PER_GROUP + i + 1:03d}" for i in range(PER_GROUP)]
        params = pd.DataFrame({
            name: np.clip(mean + SPREAD[name] * rng.standard_normal(PER_GROUP), *bounds[name])
            for name, mean in means.items()}, index=pd.Index(ids, name="participant_id"))
        sim_learning, sim_transfer = model.sample(params=params, random_state=rng)
        sim_learning["group_code"] = group
        sim_transfer["group_code"] = group
        learning.append(sim_learning)
        transfer.append(sim_transfer)
        rows.append(params.assign(group_code=group))
    learning = pd.concat(learning, ignore_index=True)
    transfer = pd.concat(transfer, ignore_index=True)
    # symbol_names holds the pair (Reward1 ...); keep the reference's column order first.
    assert set(learning["symbol_names"]) <= set(PAIR_NAMES)
    parameters = pd.concat(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    learning.to_csv(OUT / "example_learning_data.csv", index=False)
    transfer.to_csv(OUT / "example_transfer_data.csv", index=False)
    parameters.to_csv(OUT / "example_parameters.csv")
    metadata = {
        "model": model.model_name,
        "seed": SEED,
        "participants_per_group": PER_GROUP,
        "group_means": GROUPS,
        "spread": SPREAD,
        "design": {"trials_per_pair": 24, "transfer_repeats": 12},
        "script": "examples/make_example_data.py",
    }
    (OUT / "example_metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"wrote {len(learning)} learning and {len(transfer)} transfer trials of "
          f"{len(parameters)} participants to {OUT}")


if __name__ == "__main__":
    main()
