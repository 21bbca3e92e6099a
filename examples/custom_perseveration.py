"""
Your own model: Q-learning with perseveration
=============================================

Q-learning with a choice-perseveration bonus, declared, fitted and recovered.

QLearning (factual and counterfactual learning rates, complete feedback)
where, in the learning phase, the option chosen on the previous trial of the
same pair gets a bonus κ (``perseveration``) added to its value in the
choice rule::

    P(option 1) = softmax((Q_1 + κ c_1) - (Q_0 + κ c_0)) / T,

with c_i = 1 for the option chosen last time the pair was shown, else 0 (both
0 on a pair's first trial). κ > 0 is stickiness, κ < 0 alternation. The
transfer phase pairs stimuli that were never chosen against each other, so it
uses the final Q values only (decayed under +decay): κ does not enter it.

With κ = 0 the model is QLearning, which it declares (``nests``): every fit
also starts from QLearning's optimum, so it never fits worse than QLearning.

Run it::

    python examples/custom_perseveration.py [OUTPUT_FOLDER]

Figures go to OUTPUT_FOLDER/figures (default: perseveration_output/).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import avoidrl
from avoidrl import plotting
from avoidrl.models import (
    BaseModel, Parameter, by_choice, check_model, decayed, delta_rule, learning_rate,
    make_estimator, stimulus_table, temperature,
)
from avoidrl.recovery import ModelRecovery, ParameterRecovery


class PerseverationQ(BaseModel):
    """Q-learning with a bonus for repeating the previous choice of the same pair."""

    parameters = (
        learning_rate("factual_lr", 0.28, "learning rate of the chosen option's Q value"),
        learning_rate("counterfactual_lr", 0.18, "learning rate of the unchosen option's Q value"),
        temperature(0.06),
        Parameter("perseveration", -0.5, 0.5, 0.0,
                  "bonus κ added to the value of the option chosen last time in the pair",
                  domain=(-np.inf, np.inf)),
    )
    # "last" is 1 for the option chosen on the pair's previous trial, 0 otherwise
    state_names = ("q", "last")
    value_systems = ("q", "last")
    nests = ("QLearning", {"perseveration": 0.0})

    def prepare(self, theta, chose1, outcome):
        return {"lr": by_choice(chose1, theta["factual_lr"], theta["counterfactual_lr"]),
                "target": outcome,
                "chosen": by_choice(chose1, 1.0, 0.0)}

    def update(self, state, step, t, theta, scratch, guard=True):
        errors = delta_rule(state["q"], step["target"][t], step["lr"][t], scratch)
        np.copyto(state["last"], step["chosen"][t])
        return {"pe": errors}

    def mix_values(self, differences, theta):
        # v1 - v0 = (Q1 - Q0) + κ (c1 - c0); in place, the kernel owns these arrays
        q_difference, last_difference = differences
        last_difference *= theta["perseveration"][0]
        q_difference += last_difference
        return q_difference

    def transfer_values(self, state, theta, novel, decay):
        return decayed(stimulus_table(state["q"], novel), decay)


def save(figure, out_dir, name, caption):
    """Save a figure with its caption in the PNG's metadata (the docs show it below it)."""
    path = Path(out_dir) / "figures" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, metadata={"Description": caption})
    print(f"  saved figures/{name}")  # relative: no machine-specific path in the output


def main(n_participants=None, n_datasets=40, n_starts=5, random_state=0, out_dir=None):
    """Check, fit, simulate and recover the model; returns what the test suite checks.

    With ``out_dir``, the recovery figures go to ``out_dir/figures``.
    """
    check_model(PerseverationQ)
    print("check_model(PerseverationQ): ok")

    learning, transfer = avoidrl.load_example()
    if n_participants is not None:
        keep = learning["participant_id"].drop_duplicates().iloc[:n_participants]
        learning = learning[learning["participant_id"].isin(keep)]
        transfer = transfer[transfer["participant_id"].isin(keep)]
    model = make_estimator(PerseverationQ, novel=True, n_starts=n_starts,
                           random_state=random_state).fit(learning, transfer)
    print(f"\n{model.model_name_}: mean BIC {model.bic_.mean():.1f} over "
          f"{len(model.params_)} participants; perseveration "
          f"{model.params_['perseveration'].mean():+.3f} on average")

    simulated = model.sample(learning, transfer, random_state=random_state)[0]
    simulated = simulated.sort_values(["participant_id", "symbol_names", "trial_index"])
    # accuracy says which option was chosen (100: the better one)
    by_pair = simulated.groupby(["participant_id", "symbol_names"])["accuracy"]
    repeated = by_pair.diff().eq(0)[by_pair.cumcount() > 0]
    print(f"simulated share of learning trials repeating the pair's previous choice: "
          f"{repeated.mean():.2f}")

    recovery = ParameterRecovery(make_estimator(PerseverationQ, n_starts=n_starts),
                                 n_datasets=n_datasets, random_state=random_state).fit()
    print(f"\nparameter recovery ({n_datasets} datasets on the default design), Pearson r:")
    print(recovery.correlations_.round(2).to_string())

    # Can it be told apart from QLearning? Each model generates datasets (the
    # sticky one with a clear bonus, both at temperatures where choices vary),
    # then both fit every dataset with their default bounds.
    temperatures = {"temperature": (0.05, 0.3)}
    generators = [make_estimator(PerseverationQ,
                                 bounds={**temperatures, "perseveration": (0.25, 0.5)}),
                  avoidrl.make_model("QLearning", bounds=temperatures)]
    datasets = [d for g in generators for d in
                ParameterRecovery(g, n_datasets=n_datasets // 2, random_state=random_state)
                .split()]
    models = ModelRecovery([("PerseverationQ", make_estimator(PerseverationQ, n_starts=n_starts)),
                            ("QLearning", avoidrl.make_model("QLearning", n_starts=n_starts))],
                           random_state=random_state).fit(datasets=datasets)
    print("\nmodel recovery: p(best fit by BIC | generating model)")
    print(models.confusion_.round(2).to_string())
    if out_dir is not None:
        print("\nFigures:")
        with plotting.headless():
            save(plotting.plot_parameter_recovery(recovery), out_dir, "parameter_recovery.png",
                 "PerseverationQ's parameter recovery: true (x) against fitted (y) values "
                 f"of each parameter, one point per synthetic participant ({n_datasets} on "
                 "the default design). Grey dashed: the identity line; red dashed: the "
                 "bounds; open red circles: fits that end on a bound.")
            save(plotting.plot_model_recovery(models), out_dir, "model_recovery.png",
                 "Model recovery of PerseverationQ (generating with a perseveration "
                 "bonus of 0.25-0.5) "
                 "against QLearning. Rows: generating models, columns: fitting models. "
                 "Left: p(best fit by BIC | generating model), each row summing to 1; "
                 "right: p(generating model | best fit), each column summing to 1. "
                 "Boxed: each row's (left) or column's (right) maximum.")
    return {"model": model, "recovery": recovery, "model_recovery": models}


if __name__ == "__main__":
    main(out_dir=sys.argv[1] if len(sys.argv) > 1 else "perseveration_output")
