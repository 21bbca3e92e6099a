"""
Your own model: valence-asymmetric Q-learning
=============================================

Valence-asymmetric Q-learning, declared, checked, fitted, simulated and recovered.

Q-learning with complete feedback where prediction errors of each sign have
their own learning rate, for the chosen option (factual) and the unchosen one
(counterfactual)::

    δ_i = r_i - Q_i,    Q_i <- Q_i + α_i δ_i,
    α_i = factual_lr_pos / factual_lr_neg          (chosen option,   δ_i > 0 / δ_i < 0)
          counterfactual_lr_pos / counterfactual_lr_neg (unchosen option)

and the usual temperature softmax in both phases; transfer uses the final Q
values (decayed under +decay). Four learning rates and a temperature.

Run it::

    python examples/custom_asymmetric_q.py [OUTPUT_FOLDER]

Figures go to OUTPUT_FOLDER/figures (default: asymmetric_q_output/).

The model is declared with the public API of :mod:`avoidrl.models` and
checked with ``check_model``; ``make_estimator`` gives a scikit-learn
estimator that fits, simulates and recovers it like a built-in model. Put
the class in an importable module and it can be named on the command line
too: ``avoidrl fit --models mypackage.models:AsymmetricQ+novel``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import avoidrl
from avoidrl import plotting
from avoidrl.models import (
    BaseModel, by_choice, check_model, decayed, delta_rule, learning_rate, make_estimator,
    stimulus_table, temperature,
)
from avoidrl.recovery import ModelRecovery, ParameterRecovery


class AsymmetricQ(BaseModel):
    """Q-learning with separate learning rates for positive and negative prediction errors."""

    parameters = (
        learning_rate("factual_lr_pos", 0.30, "chosen option's rate for positive errors"),
        learning_rate("factual_lr_neg", 0.20, "chosen option's rate for negative errors"),
        learning_rate("counterfactual_lr_pos", 0.20, "unchosen option's rate for positive errors"),
        learning_rate("counterfactual_lr_neg", 0.15, "unchosen option's rate for negative errors"),
        temperature(0.06),
    )
    state_names = ("q",)
    value_systems = ("q",)
    # like the built-in Q models: the valence asymmetry is in the rates, not in the outcomes
    allows_bias = False

    def prepare(self, theta, chose1, outcome):
        # All trials at once, outside the sequential loop: the rates of both
        # signs for both options, by choice.
        return {
            "lr_pos": by_choice(chose1, theta["factual_lr_pos"], theta["counterfactual_lr_pos"]),
            "lr_neg": by_choice(chose1, theta["factual_lr_neg"], theta["counterfactual_lr_neg"]),
            "target": outcome,
        }

    def update(self, state, step, t, theta, scratch, guard=True):
        # The sign of an error depends on the current Q, so the rate is picked here.
        return {"pe": delta_rule(state["q"], step["target"][t], step["lr_pos"][t], scratch,
                                 negative_rates=step["lr_neg"][t])}

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
    check_model(AsymmetricQ)
    print("check_model(AsymmetricQ): ok")

    learning, transfer = avoidrl.load_example()
    if n_participants is not None:
        keep = learning["participant_id"].drop_duplicates().iloc[:n_participants]
        learning = learning[learning["participant_id"].isin(keep)]
        transfer = transfer[transfer["participant_id"].isin(keep)]
    model = make_estimator(AsymmetricQ, novel=True, n_starts=n_starts,
                           random_state=random_state)
    model.fit(learning, transfer)
    print(f"\n{model.model_name_}: mean BIC {model.bic_.mean():.1f} over "
          f"{len(model.params_)} participants")
    print(model.params_.describe().loc[["mean", "std"]].round(3).to_string())

    qlearning = avoidrl.make_model("QLearning+novel", n_starts=n_starts,
                                   random_state=random_state).fit(learning, transfer)
    print(f"QLearning+novel: mean BIC {qlearning.bic_.mean():.1f}")

    simulated, _ = model.sample(learning, transfer, random_state=random_state)
    accuracy = 1.0 - simulated.groupby("symbol_names")["accuracy"].mean().div(100)
    print("\nsimulated error rate per pair at the fitted parameters:")
    print(accuracy.round(2).to_string())

    recovery = ParameterRecovery(make_estimator(AsymmetricQ, n_starts=n_starts),
                                 n_datasets=n_datasets, random_state=random_state).fit()
    print(f"\nparameter recovery ({n_datasets} datasets on the default design), Pearson r:")
    print(recovery.correlations_.round(2).to_string())

    # Can it be told apart from QLearning? Each model generates datasets (the
    # asymmetric one with clearly different rates for the two signs), then
    # both fit every dataset with their default bounds.
    temperatures = {"temperature": (0.05, 0.3)}
    asymmetric = {"factual_lr_pos": (0.5, 0.99), "factual_lr_neg": (0.01, 0.15),
                  "counterfactual_lr_pos": (0.01, 0.15), "counterfactual_lr_neg": (0.5, 0.99)}
    generators = [make_estimator(AsymmetricQ, bounds={**temperatures, **asymmetric}),
                  avoidrl.make_model("QLearning", bounds=temperatures)]
    datasets = [d for g in generators for d in
                ParameterRecovery(g, n_datasets=n_datasets // 2, random_state=random_state)
                .split()]
    models = ModelRecovery([("AsymmetricQ", make_estimator(AsymmetricQ, n_starts=n_starts)),
                            ("QLearning", avoidrl.make_model("QLearning", n_starts=n_starts))],
                           random_state=random_state).fit(datasets=datasets)
    print("\nmodel recovery: p(best fit by BIC | generating model)")
    print(models.confusion_.round(2).to_string())
    if out_dir is not None:
        print("\nFigures:")
        with plotting.headless():
            save(plotting.plot_parameter_recovery(recovery), out_dir, "parameter_recovery.png",
                 "AsymmetricQ's parameter recovery: true (x) against fitted (y) values "
                 f"of each parameter, one point per synthetic participant ({n_datasets} on "
                 "the default design). Grey dashed: the identity line; red dashed: the "
                 "bounds; open red circles: fits that end on a bound.")
            save(plotting.plot_model_recovery(models), out_dir, "model_recovery.png",
                 "Model recovery of AsymmetricQ (generating with rates of opposite "
                 "signs far apart) "
                 "against QLearning. Rows: generating models, columns: fitting models. "
                 "Left: p(best fit by BIC | generating model), each row summing to 1; "
                 "right: p(generating model | best fit), each column summing to 1. "
                 "Boxed: each row's (left) or column's (right) maximum.")
    return {"model": model, "qlearning": qlearning, "recovery": recovery,
            "model_recovery": models}


if __name__ == "__main__":
    main(out_dir=sys.argv[1] if len(sys.argv) > 1 else "asymmetric_q_output")
