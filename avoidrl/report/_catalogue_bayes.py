"""The catalogue rows of full-Bayes fits' own files: posterior tables and figures.

Kept beside :mod:`avoidrl.report._catalogue`, which places them in the FIT
folder's order (after the empirical-Bayes population files); the rows where
full Bayes differs from the other methods in a file they share (no AIC/BIC, no
starts, the PSIS-LOO criterion) stay next to their siblings there.
"""

from __future__ import annotations

from .. import plotting
from .._tables import (
    population_posterior, posterior_diagnostics, posterior_group_differences,
    posterior_summary,
)
from ._entries import BAYES, EVIDENCE, FIT
from ._files import figure

#: bayes_*.csv and the figures of full-Bayes fits, in the README's order.
POSTERIOR_ENTRIES = (
    FIT('bayes_posterior_summary.csv',
        "every participant's posterior (`avoidrl.report.posterior_summary`): model, participant_id, group, parameter, mean (the estimate), median, lower, upper (equal-tailed 95 % credible interval), r_hat (rank-normalised split R-hat, ArviZ), ess_bulk, ess_tail (effective sample sizes)",
        methods=BAYES, files=("bayes_posterior_summary.csv",),
        producer=lambda run: posterior_summary(run.models), step=EVIDENCE),
    FIT('bayes_population.csv',
        "each model's population posterior (`avoidrl.report.population_posterior`): model, prior ('pooled': one population; 'group': a mean per group_code, a shared sd), group, parameter, median, lower, upper (the population's median and central 95 % range in natural units, at the posterior means of its mean and sd), mean_z, mean_z_lower, mean_z_upper (the population mean in the logit space, 95 % credible interval), sd_z, sd_z_lower, sd_z_upper (its sd)",
        methods=BAYES, files=("bayes_population.csv",),
        producer=lambda run: population_posterior(run.models), step=EVIDENCE),
    FIT('bayes_group_differences.csv',
        "written with two or more groups: the posterior of every pair of groups' difference a - b per model and parameter, in natural units (`avoidrl.report.posterior_group_differences`; the Bayesian counterpart of pain_fits_*): model, quantity ('sample': the difference of the groups' mean parameter over their participants, drawn draw by draw; 'population': of the groups' population medians, prior='group' only), parameter, group_a, group_b, n_a, n_b, mean, lower, upper (95 % credible interval), p_direction (posterior probability of the difference's more probable sign). With a pooled prior (the default) both groups shrink toward one population, so 'sample' differences are conservative",
        methods=BAYES, files=("bayes_group_differences.csv",),
        producer=lambda run: posterior_group_differences(run.models), step=EVIDENCE,
        when="has_groups"),
    FIT('bayes_group_differences.png',
        "written with two or more groups: bayes_group_differences.csv as a forest plot, one panel per model: each difference's posterior mean (filled: population, open: sample) with its 95 % credible interval, zero dashed, the probability of direction beside it",
        methods=BAYES, files=("bayes_group_differences.png",),
        producer=lambda run: figure(plotting.plot_group_differences, run.models),
        step=EVIDENCE, when="has_groups"),
    FIT('bayes_diagnostics.csv',
        "convergence and mixing (`avoidrl.report.posterior_diagnostics`), per model, quantity ('participants': every participant's parameter; 'mu': the population mean, per group with prior='group'; 'sigma': the population sd) and parameter: model, quantity, group, parameter, n, max_r_hat, n_r_hat_above and share_r_hat_above (R-hat above 1.05: the chains disagree), min_ess_bulk, median_ess_bulk, min_ess_tail, n_low_ess (bulk or tail ESS below 100 per chain: poor mixing), n_pareto_k_above (participants whose PSIS-LOO Pareto k exceeds 0.7: their elpd is unreliable), converged (no R-hat above 1.05). The sampler has no divergent transitions (a Hamiltonian sampler's diagnostic), so there is no such column",
        methods=BAYES, files=("bayes_diagnostics.csv",),
        producer=lambda run: posterior_diagnostics(run.models), step=EVIDENCE),
    FIT('bayes_trace_rank/{{model}}_trace_rank.png',
        "per model, one row per parameter: (A) the population mean along each chain (logit space), rank histograms of each chain's draws among all chains' of (B) the population mean, (C) the population sd and (D) the participant with the highest R-hat for that parameter (named, with its R-hat); dashed = the uniform count. Overlapping traces and flat rank histograms mean the chains mix",
        methods=BAYES, files=("bayes_trace_rank/{model}_trace_rank.png",),
        producer=lambda run, name: figure(plotting.plot_trace_rank, run.models[name], name),
        step=EVIDENCE),
)
