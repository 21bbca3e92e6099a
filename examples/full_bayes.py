"""
Full hierarchical Bayes: posteriors, group differences and diagnostics
======================================================================

``HierarchicalBayes`` samples the joint posterior of every participant's
parameters and of the population they come from (its mean and sd integrated
over, not plugged in), by Metropolis-within-Gibbs on the batched likelihood.
Here it fits QLearning+novel to 15 of the bundled participants (5 per group)
with one population mean per group (``prior='group'``), so the posterior of
every group difference comes with it.

**A short run, on purpose.** So that the documentation build runs it in
seconds, the chains are short: 2 chains, 300 warm-up sweeps and 150 draws
each. That is enough to show the outputs, not to trust them: some R-hats
exceed 1.05 and ``fit`` warns about them. For real analyses keep the defaults
(4 chains, 2500 warm-up sweeps, 500 draws thinned by 8) and check
``rhat_`` and the ESS before reading the estimates. Run it::

    python examples/full_bayes.py [OUTPUT_FOLDER]

Figures go to OUTPUT_FOLDER/figures (default: bayes_output/). The command line
does the same for whole model sets: ``avoidrl fit --method bayes``.
"""

import sys
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

from avoidrl import load_example, make_model, plotting, report
from avoidrl.hierarchical import HierarchicalBayes


def save(figure, out_dir, name, caption):
    """Save a figure with its caption in the PNG's metadata (the docs show it below it)."""
    path = Path(out_dir) / "figures" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata={"Description": caption})
    print(f"  saved figures/{name}")  # relative: no machine-specific path in the output


def subset(learning, transfer, per_group):
    """The first ``per_group`` participants of each group, both phases."""
    firsts = learning.drop_duplicates("participant_id")
    keep = firsts.groupby("group_code", sort=False).head(per_group)["participant_id"]
    return (learning[learning["participant_id"].isin(keep)],
            transfer[transfer["participant_id"].isin(keep)])


def main(out_dir="bayes_output", participants_per_group=5, n_warmup=300, n_samples=150):
    learning, transfer = subset(*load_example(), participants_per_group)
    fit = HierarchicalBayes(make_model("QLearning+novel"), prior="group", n_chains=2,
                            n_warmup=n_warmup, n_samples=n_samples, thin=1, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit.fit(learning, transfer)
    for warning in caught:  # the short chains' R-hat warning, said once and plainly
        print(f"warning: {str(warning.message)[:160]} ...")

    # %%
    # Each participant's posterior: mean, median, 95 % credible interval, R-hat, ESS.
    summary = report.posterior_summary(fit)
    print(summary.head(8).round(3).to_string(index=False))

    # %%
    # Convergence: how many R-hats exceed 1.05, and how small the ESS get.
    diagnostics = report.posterior_diagnostics(fit)
    print(diagnostics[["quantity", "group", "parameter", "max_r_hat", "share_r_hat_above",
                       "min_ess_bulk"]].round(3).to_string(index=False))

    # %%
    # Group differences (a - b, natural units) with their credible intervals and
    # probability of direction: the Bayesian counterpart of the report's t-tests.
    differences = report.posterior_group_differences(fit)
    population = differences[differences["quantity"] == "population"]
    print(population[["parameter", "group_a", "group_b", "mean", "lower", "upper",
                      "p_direction"]].round(3).to_string(index=False))

    # %%
    # The figures the report folder draws for full-Bayes fits.
    with plotting.headless():
        save(plotting.plot_group_differences({"QLearning+novel": fit}), out_dir,
             "bayes_group_differences.png",
             "Posterior group differences of QLearning+novel (15 participants, short chains): "
             "posterior mean and 95 % credible interval of each difference a - b; filled = "
             "population medians, open = the groups' mean parameters.")
        save(plotting.plot_trace_rank(fit, "QLearning+novel"), out_dir,
             "bayes_trace_rank.png",
             "Trace and rank plots of the short chains: the population mean along each "
             "chain, and rank histograms of the population mean and sd and of the worst "
             "participant (flat histograms mean the chains mix).")
    return {"fit": fit, "summary": summary, "diagnostics": diagnostics,
            "differences": differences}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bayes_output")
