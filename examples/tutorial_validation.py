"""
Tutorial, part 2: parameter and model recovery
==============================================

Validate the models by parameter and model recovery.

This walks through what the reference pipeline's tutorial does in VALIDATION
mode, with avoidrl's Python API. Synthetic participants replay the bundled
example participants' trial sequences and outcomes (complete feedback), with
choices drawn from each model at known ("true") parameters:

1. parameter recovery: each model fits the data it generated; how well do the
   fitted parameters track the true ones (Pearson r per parameter)?
2. model recovery: every model fits every model's datasets (the same datasets
   as step 1); is the generating model the one with the lowest BIC?
   The confusion matrix p(best fit | generator) and the inversion matrix
   p(generator | best fit) summarise it;
3. write the VALIDATION folder, as ``avoidrl validate --recovery both`` does.

Run from the project root::

    python examples/tutorial_validation.py [OUTPUT_FOLDER]

Figures and the folder go to OUTPUT_FOLDER (default: tutorial_output/).
"""

import sys
from pathlib import Path

import pandas as pd

from avoidrl import load_example, make_model
from avoidrl import plotting, report
from avoidrl.recovery import ModelRecovery, ParameterRecovery

MODELS = ["QLearning+novel", "Relative+novel", "Hybrid2012+novel"]
#: as in the reference's validation script: a narrower temperature range, within which
#: the generating parameters are drawn and the fits search
BOUNDS = {"temperature": (0.01, 0.2)}
SEED = 1251


def save(figure, path, caption):
    """Save a figure (made inside plotting.headless(), so nothing needs closing).

    The caption goes into the PNG's metadata (the docs show it below the figure).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, metadata={"Description": caption})
    print(f"  saved figures/{path.name}")  # relative: no machine-specific path in the output


def main(out_dir="tutorial_output", *, n_datasets=None, n_starts=None, n_templates=None,
         models=MODELS, seed=SEED, write_folder=True):
    """Run the tutorial; returns the recovery objects.

    Parameters
    ----------
    out_dir : path
        Where the figures and the VALIDATION folder go.
    n_datasets : int, optional
        Synthetic participants per model (None: one per template participant).
    n_starts : int, optional
        Optimizer starts of every recovery fit (None: the estimators' defaults).
    n_templates : int, optional
        Use only the first N example participants as templates.
    models : list of str
    seed : int
    write_folder : bool
        Also write the VALIDATION folder (step 3).
    """
    out_dir = Path(out_dir)
    pd.set_option("display.width", 120)
    learning, transfer = load_example()
    if n_templates is not None:
        ids = set(pd.unique(learning["participant_id"])[:n_templates])
        learning = learning[learning["participant_id"].isin(ids)].reset_index(drop=True)
        transfer = transfer[transfer["participant_id"].isin(ids)].reset_index(drop=True)
    estimators = {name: make_model(name, bounds=BOUNDS, n_starts=n_starts) for name in models}

    # 1. Parameter recovery, one model at a time. Each gets its own seed so the models'
    #    generating parameters are independent draws.
    parameter_recovery = {}
    print("Parameter recovery: Pearson r of true vs fitted parameters")
    for i, (name, estimator) in enumerate(estimators.items()):
        recovery = ParameterRecovery(estimator, n_datasets=n_datasets, sampler="random",
                                     random_state=seed + i)
        parameter_recovery[name] = recovery.fit(learning, transfer)
        print(f"  {name} ({len(recovery.datasets_)} datasets): "
              + ", ".join(f"{p} {r:.2f}" for p, r in recovery.correlations_.items()))

    # 2. Model recovery on the very same datasets.
    datasets = [d for recovery in parameter_recovery.values() for d in recovery.datasets_]
    model_recovery = ModelRecovery(list(estimators.values()), random_state=seed)
    model_recovery.fit(datasets=datasets)
    print("\nMean BIC (rows: generating model, columns: fitting model):")
    print(model_recovery.bic_.round(1).to_string())
    print("\nConfusion matrix p(best fit | generating model):")
    print(model_recovery.confusion_.round(2).to_string())
    print("\nInversion matrix p(generating model | best fit):")
    print(model_recovery.inversion_.round(2).to_string())

    print("\nFigures:")
    with plotting.headless():
        save(plotting.plot_parameter_recovery(parameter_recovery),
             out_dir / "figures" / "recovery_correlation_plot.png",
             "Parameter recovery, one row per model: true (x) against fitted (y) values, "
             "one point per synthetic participant. Grey dashed: the identity line; red "
             "dashed: the bounds; open red circles: fits that end on a bound.")
        save(plotting.plot_model_recovery(model_recovery, normalized=True),
             out_dir / "figures" / "model_recovery.png",
             "Model recovery; rows: generating models, columns: fitting models. Left: "
             "p(best fit by BIC | generating model); middle: p(generating model | best fit); "
             "right: each fitting model's mean BIC difference from the best one on each "
             "generator's data.")

    # 3. The VALIDATION folder (what `avoidrl validate --recovery both` writes).
    folder = None
    if write_folder:
        folder = report.write_validation_report(
            out_dir / "validation", parameter_recovery=parameter_recovery,
            model_recovery=model_recovery, overwrite=True)
        print(f"\nVALIDATION folder: {Path(folder).name}/ in the output folder")
    return {"parameter_recovery": parameter_recovery, "model_recovery": model_recovery,
            "folder": folder}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tutorial_output")
