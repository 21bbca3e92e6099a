"""Model-comparison figures: criteria, their distributions, Bayesian model selection.

Draws the tables of :mod:`avoidrl._tables.comparison`.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from scipy import stats as _stats

from .._tables import (
    LAPLACE, _check_comparison, _t_ci, criterion_differences, criterion_distributions,
    criterion_label, criterion_values, group_criteria,
)
from .._utils.fitted import _model_dict
from ._style import (
    _BAR_COLOR, _despine, _fixed_layout, _grid, _new_figure, _number, _rotate, _suptitle,
)


# ------------------------------------------------------------ model comparison
def plot_model_comparison(models, criterion="bic"):
    """Compare models by AIC or BIC (the reference's ``*_model_comparisons.png``).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Models fitted to the same participants.
    criterion : {'bic', 'aic', 'laplace'}
        'laplace': empirical-Bayes fits by -2 x their Laplace log evidence.

    Returns
    -------
    Figure
        Two axes. A: each model's mean criterion over all participants as a
        point with its 95 % t-CI (points, not bars: the axis does not start
        at zero), the best (lowest mean) filled black and its mean dotted
        across the panel. B: bars from zero of the mean and 95 % t-CI of each
        other model's per-participant difference from the best model (a note
        instead when there is only one model). The number of participants is
        in the titles.
    """
    label = criterion_label(criterion)
    means = group_criteria(models, criterion)
    names = [c for c in means.columns if c != "best_model"]
    full = means.loc["full", names].astype(float)
    best = means.loc["full", "best_model"]
    differences = criterion_differences(models, criterion)
    values = {name: criterion_values(estimator, criterion, name).to_numpy(dtype=float)
              for name, estimator in _model_dict(models).items()}
    n_participants = len(next(iter(values.values())))
    cis = np.array([_t_ci(values[name]) for name in names])

    n = len(names)
    figure = _new_figure(max(8.0, 1.6 * n + 4.0), 4.8, layout=None)  # _fixed_layout
    ax_a, ax_b = figure.subplots(1, 2)
    x = np.arange(n)
    is_best = np.array([name == best for name in names])
    for mask, face in ((~is_best, "white"), (is_best, "black")):
        if mask.any():
            drawn = ax_a.errorbar(x[mask], full.to_numpy()[mask], yerr=cis[mask], fmt="o",
                                  markersize=8, markerfacecolor=face, markeredgecolor="black",
                                  ecolor="dimgray", capsize=5, linewidth=1.5)
            drawn.lines[0].set_gid("best" if face == "black" else "mean")
    ax_a.axhline(full[best], color="black", linestyle=":", linewidth=0.8, alpha=0.6)
    for i, value in enumerate(full):
        ax_a.annotate(f"{value:.1f}", (i, value), xytext=(9, 0), textcoords="offset points",
                      va="center", fontsize=8, color="dimgray")
    ax_a.set_xlim(-0.6, n - 0.4)
    _rotate(ax_a, names, threshold=1)
    ax_a.set_ylabel(f"mean {label} (95% CI)")
    ax_a.set_title(f"{textwrap.fill(f'A. Mean {label} (n = {n_participants} participants)', 40)}"
                   "\n(lowest = best, filled; the axis does not start at 0)", loc="left",
                   fontsize=11)

    if len(differences):
        xb = np.arange(len(differences))
        ax_b.bar(xb, differences["mean"].to_numpy(), color=_BAR_COLOR, width=0.7)
        ax_b.errorbar(xb, differences["mean"].to_numpy(), yerr=differences["ci"].to_numpy(),
                      fmt="none", ecolor="dimgray", capsize=5, linewidth=1.5)
        ax_b.axhline(0, color="darkgray", linestyle="--", linewidth=1)
        _rotate(ax_b, differences["model"].tolist(), threshold=1)
        ax_b.set_ylabel(f"{label} difference from {best}")
    else:
        ax_b.text(0.5, 0.5, f"Only one model ({best}):\nno differences to show",
                  ha="center", va="center", transform=ax_b.transAxes, color="dimgray")
        ax_b.set_xticks([])
        ax_b.set_yticks([])
    ax_b.set_title("B. Difference from the best model\n(paired, mean ± 95% CI; bars from 0)",
                   loc="left", fontsize=11)
    for ax in (ax_a, ax_b):
        _despine(ax)
    return _fixed_layout(figure)


def plot_bms(bms):
    """Random-effects Bayesian model selection (BMS_model_comparison.png).

    Parameters
    ----------
    bms : DataFrame
        The table of :func:`avoidrl.report.bms_results` (or the result of
        :func:`avoidrl.model_selection.random_effects_bms`, whose frequency
        intervals are then computed here).

    Returns
    -------
    Figure
        Two axes, bars from zero. A: each model's expected frequency in the
        population, ``alpha_k / sum(alpha)``, with the 95 % interval of its
        marginal posterior ``Beta(alpha_k, sum(alpha) - alpha_k)``; dashed =
        equal frequencies (1/K). B: the protected exceedance probability
        (bars) and the exceedance probability (diamonds). The title gives the
        evidence used, the number of participants and the Bayesian omnibus
        risk (BOR).
    """
    table = bms.reset_index() if "model" not in bms.columns else bms.reset_index(drop=True)
    names = table["model"].astype(str).tolist()
    alpha = table["alpha"].to_numpy(dtype=float)
    frequency = table["expected_frequency"].to_numpy(dtype=float)
    if "frequency_lower" in table.columns:
        lower = table["frequency_lower"].to_numpy(dtype=float)
        upper = table["frequency_upper"].to_numpy(dtype=float)
    else:
        lower = _stats.beta.ppf(0.025, alpha, alpha.sum() - alpha)
        upper = _stats.beta.ppf(0.975, alpha, alpha.sum() - alpha)
    bor = float(table["bor"].iloc[0]) if "bor" in table.columns else bms.attrs.get("bor")
    if "n_participants" in table.columns:
        n = int(table["n_participants"].iloc[0])
    else:
        assignment = bms.attrs.get("posterior_assignment")
        n = None if assignment is None else len(assignment)
    evidence = table["evidence"].iloc[0] if "evidence" in table.columns else None

    k = len(names)
    x = np.arange(k)
    figure = _new_figure(max(8.0, 1.6 * k + 4.0), 4.8, layout=None)  # _fixed_layout
    ax_a, ax_b = figure.subplots(1, 2)
    ax_a.bar(x, frequency, color=_BAR_COLOR, width=0.7)
    ax_a.errorbar(x, frequency, yerr=[frequency - lower, upper - frequency], fmt="none",
                  ecolor="dimgray", capsize=5, linewidth=1.5)
    ax_a.axhline(1.0 / k, color="darkgray", linestyle="--", linewidth=1)
    ax_a.set_ylim(0, 1)
    ax_a.set_ylabel("expected frequency")
    ax_a.set_title("A. Model frequency in the population\n(posterior mean ± 95% interval; "
                   "dashed = 1/K)", loc="left", fontsize=11)
    pxp = table["protected_exceedance_probability"].to_numpy(dtype=float)
    xp = table["exceedance_probability"].to_numpy(dtype=float)
    ax_b.bar(x, pxp, color="#2f6fa8", width=0.7, label="protected exceedance probability")
    ax_b.scatter(x, xp, marker="D", s=40, color="white", edgecolor="black", zorder=3,
                 label="exceedance probability")
    # a little headroom so a probability of 1 stays visible; the bars still start at zero
    ax_b.set_ylim(0, 1.05)
    ax_b.set_yticks(np.linspace(0, 1, 6))
    ax_b.set_ylabel("probability")
    ax_b.set_title("B. Exceedance probability\n(bars: protected, diamonds: not protected)",
                   loc="left", fontsize=11)
    for ax in (ax_a, ax_b):
        _rotate(ax, names, threshold=1)
        _despine(ax)
    figure.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8)
    parts = [f"evidence: {evidence}" if evidence is not None else None,
             f"n = {n} participants" if n is not None else None,
             f"BOR = {_number(bor, '.3f')}" if bor is not None else None]
    title = _suptitle(figure, "Random-effects Bayesian model selection\n"
                      + "; ".join(p for p in parts if p))
    return _fixed_layout(figure, title)


# ------------------------------------------------- criterion distributions
def plot_fit_distributions(models, criterion="bic"):
    """Distribution of the participants' BIC (or AIC) per model (model_fits_distributions.png).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    criterion : {'bic', 'aic', 'laplace'}
        'laplace': -2 x the Laplace log evidence of empirical-Bayes fits.

    Returns
    -------
    Figure
        One axis per model: a density histogram of the participants' values
        (each BIC with the participant's own trial count, not the reference's
        n = 480), the normal curve with the same mean and sd, the mean as a
        dashed line, and skewness and kurtosis (see
        :func:`avoidrl.report.criterion_distributions`) in the title.
    """
    key = _check_comparison(criterion)
    label = criterion_label(key)
    summary = criterion_distributions(models, key)
    models = _model_dict(models)
    figure, axes = _grid(3.6, 3.2, len(models), layout=None)  # _fixed_layout
    for ax, (name, estimator) in zip(axes, models.items()):
        values = pd.Series(criterion_values(estimator, key, name), dtype=float).dropna() \
            .to_numpy()
        row = summary.loc[name]
        bins = int(np.clip(np.ceil(np.log2(max(len(values), 1))) + 1, 1, 10))
        ax.hist(values, bins=bins, density=True, color=_BAR_COLOR, alpha=0.55,
                edgecolor="white")
        mean, sd = row["mean"], row["sd"]
        if np.isfinite(sd) and sd > 0:
            x = np.linspace(min(values.min(), mean - 3 * sd), max(values.max(), mean + 3 * sd),
                            200)
            ax.plot(x, np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)),
                    color="#3f6e1f", linewidth=2)
        if np.isfinite(mean):
            ax.axvline(mean, color="#3f6e1f", linestyle="--", linewidth=1)
        ax.set_title(f"{name}\nskewness {_number(row['skewness'])}, "
                     f"kurtosis {_number(row['kurtosis'])}", fontsize=10)
        ax.set_xlabel(f"{label} (n = {int(row['n'])} participants)", fontsize=9)
        ax.set_ylabel("density", fontsize=9)
        ax.tick_params(labelsize=8)
        _despine(ax)
    what = {"bic": "k ln(n) + 2 NLL, n = the participant's own trial count",
            "aic": "2k + 2 NLL",
            LAPLACE: "-2 x the Laplace log evidence under the fitted population prior",
            "loo": "-2 x the PSIS-LOO log predictive density of the participant's data"}[key]
    title = _suptitle(figure, f"Distribution of the participants' {label} ({what})\ncurve = "
                      "normal with the same mean and sd, dashed = mean; kurtosis = excess "
                      "kurtosis")
    return _fixed_layout(figure, title)
