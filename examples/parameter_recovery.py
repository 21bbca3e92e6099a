"""
Parameter recovery of a small model
===================================

Can QLearning's three parameters be read back from data of one participant's
size? Simulate, fit, compare.

``ParameterRecovery`` draws true parameters within the estimator's bounds,
simulates one synthetic participant per draw on the task design (here the
default design: no template data), fits the estimator to each and compares
the fitted parameters with the true ones: Pearson r, and the recoverability
(the share of the true values' variance the fits recover, 1 = perfect).

Bounds decide what is recovered. With the default temperature bounds (0.01 to
1) high temperatures make choices nearly random, and the learning rates of
those datasets cannot be read back; capping the temperature at 0.2 (the range
where most real participants are) makes the learning rates clearly better
recovered. Run it (about ten seconds)::

    python examples/parameter_recovery.py [OUTPUT_FOLDER]

Figures go to OUTPUT_FOLDER/figures (default: recovery_output/). The command
line runs recoveries of whole model sets: ``avoidrl validate``.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from avoidrl import QLearning, plotting
from avoidrl.recovery import ParameterRecovery

BOUNDS = {"default bounds": None, "temperature up to 0.2": {"temperature": (0.01, 0.2)}}


def save(figure, out_dir, name, caption):
    """Save a figure with its caption in the PNG's metadata (the docs show it below it)."""
    path = Path(out_dir) / "figures" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, metadata={"Description": caption})
    print(f"  saved figures/{name}")  # relative: no machine-specific path in the output


def recoverability_figure(table):
    """Bars of each parameter's recoverability, one colour per bounds setting."""
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = figure.subplots()
    width = 0.8 / len(table.columns)
    x = np.arange(len(table.index))
    for i, column in enumerate(table.columns):
        ax.bar(x + (i - (len(table.columns) - 1) / 2) * width, table[column], width,
               label=column)
    ax.set_xticks(x, table.index)
    ax.set_ylim(0, 1)
    ax.set_ylabel("recoverability")
    ax.axhline(1, color="grey", linestyle="--", linewidth=0.8)
    ax.legend(loc="lower right", frameon=False)
    return figure


def main(out_dir="recovery_output", *, n_datasets=60, n_starts=3, random_state=0):
    """Run both recoveries, print their scores, save the figures; returns the recoveries."""
    recoveries = {}
    for label, bounds in BOUNDS.items():
        estimator = QLearning(bounds=bounds, n_starts=n_starts)
        recoveries[label] = ParameterRecovery(estimator, n_datasets=n_datasets,
                                              random_state=random_state).fit()
    correlations = pd.DataFrame({label: r.correlations_ for label, r in recoveries.items()})
    recoverability = pd.DataFrame({label: r.recoverability_
                                   for label, r in recoveries.items()})
    print(f"QLearning, {n_datasets} synthetic participants per setting\n")
    print("Pearson r of true and fitted parameters:")
    print(correlations.round(2).to_string())
    print("\nRecoverability (share of the true values' variance recovered):")
    print(recoverability.round(2).to_string())

    print("\nFigures:")
    with plotting.headless():
        save(plotting.plot_parameter_recovery(recoveries), out_dir,
             "recovery_correlation_plot.png",
             "True (x) against fitted (y) parameters of QLearning, one point per synthetic "
             "participant; top row with the default bounds, bottom row with the temperature "
             "capped at 0.2. Grey dashed: the identity line; red dashed: the bounds; open red "
             "circles: fits that end on a bound. Titles give Pearson r and n.")
        save(recoverability_figure(recoverability), out_dir, "recoverability.png",
             "Recoverability of each parameter (1 = every true value recovered exactly) "
             "under the two bounds: with the temperature capped at 0.2 the learning rates "
             "are recovered far better, at a small cost for the temperature itself.")
    return recoveries


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "recovery_output")
