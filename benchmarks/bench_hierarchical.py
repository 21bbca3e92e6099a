"""Empirical-Bayes fitting: cost, parameter recovery and model identification.

Synthetic populations: each parameter uniform within its default bounds,
except the temperature, uniform in [0.1, 0.2] (as in the reference's own
recovery sets), simulated on the default task design (96 learning + 384
transfer trials per participant).

Three reports (choose with ``--report``):

``timing``
    EM iterations and wall time of ``EmpiricalBayes`` by model and N, with
    ``--jobs`` workers.
``recovery``
    Pearson r of true vs fitted parameters, maximum likelihood (the model's
    default fit) vs EmpiricalBayes (diagonal prior), mean over ``--seeds``
    populations, and the mean paired gain and worst single-dataset gain (with
    the population seed where it occurred). Gains vary a lot between
    populations of 60 (the standard deviation of a population's mean
    learning-rate gain is about .06 for Hybrid2012+novel), so the mean needs
    8-16 populations: its standard error is printed.
``collapse``
    Whether EmpiricalBayes's population scale collapses: per parameter, the sd
    of the EB estimates in z against the sd of the true values in z (mean and
    minimum of the ratio over ``--seeds`` populations), Pearson r of EB's MAPs
    (mean and minimum), of its posterior means (``posterior_mean_``) and of ML,
    and how many fits report convergence. Issue 18's target: no ratio below 1/3.
``coverage``
    Share of true values inside the 95 % intervals (``params_ci_``), EB and ML,
    per parameter over ``--replicates`` simulated replicates of 60.
    QLearning+novel: the true population is the ML fit of the bundled example
    (60 participants, simulated again per replicate); Hybrid2012+novel: the
    benchmark's populations (seeds 1000, 1001, ...; the example was generated
    by QLearning, so its Hybrid fit is not a population of hybrids). ML is
    measured with Wald intervals (the default; estimates on a bound or not
    identified have none and are not counted) and with profile-likelihood
    intervals (``intervals='profile'`` and ``'calibrated-profile'``: every
    estimate has one). Counted by
    ``ParameterRecovery.coverage_``'s own function. Measured 2026-12-06, 10
    replicates (n = 600 per parameter): QLearning+novel Wald .912-.936, profile
    .925-.950, calibrated profile .943-.957, EB .858-.923; Hybrid2012+novel Wald
    .43-.89 (only 401-550 of 600 with an interval), profile .892-.940,
    calibrated profile .927-.953, EB .833-.952 (table in the README; the
    calibrated profile's cut is now the bootstrap's 95 % prediction bound,
    re-measured 2026-12-07 on the same replicates: .945-.957 and .933-.960). The
    report also gives the coverage of the lowest and highest 10 % of each
    replicate's true values pooled (n = 120 per parameter), as
    ``ParameterRecovery.coverage_by_position_`` counts. Measured 2026-12-07
    (a CPU without AVX-512; overall figures within .01 of the above): EB
    .48-.69 on every learning rate of both models and QLearning's temperature
    (.85-.94 on the others), ML Wald .32-.94, profile .85-.97, calibrated
    profile .90-.97. ``--calibration B`` also fits EB with
    ``interval_calibration=B`` and prints its coverage, tails, chosen levels
    and wall time (2026-12-07, B = 10, replicates 0-9: Hybrid2012+novel
    .910-.962, QLearning+novel .872-.925; replicates 10-19: .920-.965 and
    .873-.908); ``--first-replicate`` starts the replicates further on
    (replicates 10-19 are new populations and data). ``--levels L ...`` also
    counts EB's intervals at other credible levels
    (``EmpiricalBayes.credible_intervals``); 2026-12-07, 20 replicates, levels
    0.9/0.95/0.98/0.99/0.995/0.999: QLearning+novel .819-.855, .861-.912,
    .894-.947, .913-.958, .923-.964, .935-.979 (temperature the lowest at
    every level); Hybrid2012+novel .789-.869, .851-.930, .892-.966, .914-.982,
    .932-.991, .947-.994 (critic_lr the lowest, temperature the highest).
``identification``
    ``--groups`` groups of ``--group-size`` participants from each generator
    (the five base models +novel; ``--hybrids`` adds the other three hybrids),
    every model fitted to every group, ML and EmpiricalBayes (one prior per
    group and model): per generator and criterion, how many groups pick the
    generator (the integrated BIC, importance-sampled, and as estimated before
    from plain prior samples; random-effects BMS, protected exceedance
    probability, on Laplace evidence and on -BIC/2), and how many participants
    their own evidence (Laplace, -BIC/2) assigns to it; what wins instead;
    the groups where the group-level criteria disagree; and the iBIC's
    Monte-Carlo standard error against the winners' leads. ``--out`` keeps the
    fits' numbers in a CSV (``--resume`` continues an interrupted run),
    ``--from-csv`` prints the tables again from one.

Usage::

    python benchmarks/bench_hierarchical.py --report timing --models QLearning+novel Hybrid2012+novel --n 60 150 500
    python benchmarks/bench_hierarchical.py --report recovery --models Hybrid2012+novel --n 60 --seeds 16
    python benchmarks/bench_hierarchical.py --report identification --groups 10 --group-size 30 --out identification.csv
    python benchmarks/bench_hierarchical.py --report identification --from-csv identification.csv
    python benchmarks/bench_hierarchical.py --report collapse --models Hybrid2012+novel --seeds 16
    python benchmarks/bench_hierarchical.py --report coverage --replicates 10
    python benchmarks/bench_hierarchical.py --report coverage --no-ml --calibration 10
    python benchmarks/bench_hierarchical.py --report coverage --no-ml --replicates 20 --levels 0.9 0.95 0.99 0.999
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from avoidrl import make_model
from avoidrl._core.data import load_task_data
from avoidrl.datasets import load_example
from avoidrl.hierarchical import EmpiricalBayes
from avoidrl.hierarchical._laplace import integrated_bic
from avoidrl.model_selection import random_effects_bms
from avoidrl.recovery._calibration import coverage_by_position, coverage_table, pooled_tails

TEMPERATURE = (0.1, 0.2)
#: the five base models of issue 18's identification target
IDENTIFICATION_MODELS = ("QLearning+novel", "ActorCritic+novel", "Relative+novel",
                         "Advantage+novel", "Hybrid2012+novel")
#: the other hybrids, added by --hybrids
OTHER_HYBRIDS = ("Hybrid2021+novel", "StandardHybrid2012+novel", "StandardHybrid2021+novel")
#: a generator's groups have seeds 10_000 + 100 x offset + group; fixed per model, so that
#: adding a model leaves the other models' groups as they were (the first four are the
#: offsets of the earlier four-model report)
SEED_OFFSETS = {"QLearning+novel": 0, "Relative+novel": 1, "Advantage+novel": 2,
                "Hybrid2012+novel": 3, "ActorCritic+novel": 4, "Hybrid2021+novel": 5,
                "StandardHybrid2012+novel": 6, "StandardHybrid2021+novel": 7}


def generating_ranges(settings):
    """Each parameter's (low, high) of the populations' uniform distribution."""
    return {parameter: TEMPERATURE if parameter == "temperature" else settings["bounds"][parameter]
            for parameter in settings["variant"].parameter_names}


def population(name, n, seed, prefix="p"):
    """A synthetic population of ``n`` participants of model ``name``: (truth, learning, transfer)."""
    model = make_model(name)
    settings = model._fit_settings()
    rng = np.random.RandomState(seed)
    table = {}
    for parameter, (low, high) in generating_ranges(settings).items():
        table[parameter] = rng.uniform(low, high, n)
    truth = pd.DataFrame(table, index=pd.Index([f"{prefix}{i:04d}" for i in range(n)],
                                               name="participant_id"))
    learning, transfer = model.sample(params=truth, random_state=rng)
    return truth, learning, transfer


def quiet_fit(estimator, learning, transfer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tic = time.perf_counter()
        estimator.fit(learning, transfer)
        return time.perf_counter() - tic


def report_timing(args):
    print(f"EmpiricalBayes (diagonal), n_jobs={args.jobs}; wall seconds and EM iterations\n")
    rows = []
    for name in args.models:
        for n in args.n:
            _, learning, transfer = population(name, n, seed=0)
            times = []
            # the first fit of a model in a process also starts the worker processes and
            # loads (or compiles) the model's kernel in each: shown apart from the fit itself
            for _ in range(3):
                eb = EmpiricalBayes(make_model(name), random_state=0, n_jobs=args.jobs)
                times.append(quiet_fit(eb, learning, transfer))
            rows.append({"model": name, "N": n, "seconds": round(float(np.median(times[1:])), 2),
                         "first fit": round(times[0], 2), "EM iterations": eb.n_iter_,
                         "converged": eb.converged_})
            print(rows[-1], file=sys.stderr)
    print(pd.DataFrame(rows).to_string(index=False))
    print("\nseconds: median of 2 fits after the first; first fit: the first of the model at "
          "that N in this process (worker start-up and kernel loading; on the first row, "
          "compiling too if the kernel cache is empty)")


def pearson(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def report_recovery(args):
    print(f"Pearson r, true vs fitted, mean over {args.seeds} populations per N "
          f"(ML = the model's default fit, EB = EmpiricalBayes diagonal)\n")
    for name in args.models:
        for n in args.n:
            ml_r, eb_r, times = [], [], {"ML": 0.0, "EB": 0.0}
            for seed in range(args.seeds):
                truth, learning, transfer = population(name, n, seed=1000 + seed)
                ml = make_model(name, random_state=seed, n_jobs=args.jobs)
                times["ML"] += quiet_fit(ml, learning, transfer)
                eb = EmpiricalBayes(make_model(name), random_state=seed, n_jobs=args.jobs)
                times["EB"] += quiet_fit(eb, learning, transfer)
                ml_r.append({p: pearson(ml.params_[p], truth[p]) for p in truth.columns})
                eb_r.append({p: pearson(eb.params_[p], truth[p]) for p in truth.columns})
            ml_r, eb_r = pd.DataFrame(ml_r), pd.DataFrame(eb_r)
            gain = eb_r - ml_r
            table = pd.DataFrame({"ML r": ml_r.mean(), "EB r": eb_r.mean(),
                                  "mean gain": gain.mean(), "worst gain": gain.min(),
                                  "worst seed": 1000 + gain.idxmin()})
            print(f"{name}, N = {n}: ML {times['ML'] / args.seeds:.1f} s, "
                  f"EB {times['EB'] / args.seeds:.1f} s per population")
            print(table.round(3).to_string())
            # issue 8's headline: the factual and counterfactual (actor) learning rates
            rates = [p for p in gain.columns if p.startswith(("factual", "counterfactual"))]
            if rates:
                # one value per population, so the spread says how far the mean can be trusted
                per_population = gain[rates].mean(axis=1)
                error = per_population.std(ddof=1) / np.sqrt(len(per_population)) \
                    if len(per_population) > 1 else float("nan")
                print(f"mean gain over {', '.join(rates)}: {per_population.mean():+.3f} "
                      f"(standard error over the {len(per_population)} populations {error:.3f})")
            if args.per_population:
                print("gain (EB r - ML r) per population:")
                print(gain.set_axis([1000 + s for s in range(args.seeds)]).round(3).to_string())
            print()


def _bms_winner(evidence):
    result = random_effects_bms(evidence)["protected_exceedance_probability"]
    return result.idxmax(), float(result.max())


def _plain_ibic(eb, learning, transfer, seed):
    """The iBIC as estimated before issue 18: plain prior samples, shared by all participants."""
    settings = eb._settings()
    return integrated_bic(settings["variant"], load_task_data(learning, transfer),
                          eb.populations_[None], settings["low"], settings["high"],
                          eb.n_ibic_samples, np.random.default_rng(seed), eb.covariance)


def identification_groups(names, n_groups, group_size, jobs, out=None, resume=False):
    """Fit every model to every group; one row per (generator, group, fitted model).

    Also returns the per-participant winners. With ``out``, the rows so far are
    written after every group (a long run keeps what it has measured); with
    ``resume`` too, groups already in ``out`` are read, not fitted again (the
    seeds make them the same).
    """
    rows, participants, done = [], [], set()
    if resume and out is not None and Path(out).exists():
        earlier = pd.read_csv(out)
        earlier = earlier[earlier["generator"].isin(names) & earlier["group"].lt(n_groups)]
        rows = earlier.to_dict("records")
        people = pd.read_csv(_participants_path(out))
        participants = [people[people["generator"].isin(names) & people["group"].lt(n_groups)]]
        done = set(zip(earlier["generator"], earlier["group"]))
    for generator in names:
        offset = SEED_OFFSETS.get(generator, 10 + names.index(generator))
        for group in range(n_groups):
            if (generator, group) in done:
                continue
            seed = 10_000 + 100 * offset + group
            _, learning, transfer = population(generator, group_size, seed=seed)
            laplace, bic = {}, {}
            for name in names:
                ml = make_model(name, random_state=seed, n_jobs=jobs)
                ml_seconds = quiet_fit(ml, learning, transfer)
                eb = EmpiricalBayes(make_model(name), random_state=seed, n_jobs=jobs)
                eb_seconds = quiet_fit(eb, learning, transfer)
                laplace[name], bic[name] = eb.log_evidence_, -0.5 * ml.bic_
                rows.append({"generator": generator, "group": group, "seed": seed, "model": name,
                             "ibic": eb.ibic_, "ibic_se": eb.ibic_se_,
                             "ibic_prior_samples": _plain_ibic(eb, learning, transfer, seed),
                             "sum_log_evidence": float(eb.log_evidence_.sum()),
                             "sum_minus_half_bic": float(bic[name].sum()),
                             "em_iterations": eb.n_iter_, "em_converged": eb.converged_,
                             "ml_seconds": ml_seconds, "eb_seconds": eb_seconds})
            laplace, bic = pd.DataFrame(laplace), pd.DataFrame(bic)
            for criterion, evidence in (("bms_laplace", laplace), ("bms_bic", bic)):
                winner, pxp = _bms_winner(evidence)
                for row in rows[-len(names):]:
                    row[criterion], row[criterion + "_pxp"] = winner, pxp
            participants.append(pd.DataFrame({
                "generator": generator, "group": group, "participant_id": laplace.index,
                "laplace": laplace.idxmax(axis=1).to_numpy(),
                "bic": bic.idxmax(axis=1).to_numpy()}))
            print(f"{generator} group {group}: iBIC "
                  f"{min(names, key=lambda n: rows[-len(names) + names.index(n)]['ibic'])}, "
                  f"BMS Laplace {rows[-1]['bms_laplace']}, BMS BIC {rows[-1]['bms_bic']}",
                  file=sys.stderr, flush=True)
            if out is not None:
                pd.DataFrame(rows).to_csv(out, index=False)
                pd.concat(participants).to_csv(_participants_path(out), index=False)
    return pd.DataFrame(rows), pd.concat(participants, ignore_index=True)


def _participants_path(out):
    path = Path(out)
    return path.with_name(path.stem + "_participants" + path.suffix)


#: the group-level criteria: column of the winner, label
GROUP_CRITERIA = {"ibic": "iBIC", "ibic_prior_samples": "iBIC, prior samples (before)",
                  "bms_laplace": "BMS Laplace", "bms_bic": "BMS -BIC/2"}
PARTICIPANT_CRITERIA = {"laplace": "participants Laplace", "bic": "participants BIC"}


def identification_summary(rows, participants, names=None):
    """The identification tables of :func:`identification_groups`' output.

    Returns ``(table, wrong, winners)``: per generator and criterion how many
    groups (and participants) pick the generator, as text with n; per
    generator and criterion the models that won instead; and one row per
    group with every criterion's winner and the iBIC margin.
    """
    names = names or list(pd.unique(rows["generator"]))
    winners = []
    for (generator, group), fits in rows.groupby(["generator", "group"], sort=False):
        fits = fits.set_index("model")
        ranked = fits["ibic"].sort_values()
        winners.append({
            "generator": generator, "group": group,
            "ibic": ranked.index[0], "ibic_prior_samples": fits["ibic_prior_samples"].idxmin(),
            "bms_laplace": fits["bms_laplace"].iloc[0], "bms_bic": fits["bms_bic"].iloc[0],
            # how sure the iBIC's choice is: its lead over the runner-up, in standard errors
            "ibic_margin": ranked.iloc[1] - ranked.iloc[0],
            "ibic_margin_se": (ranked.iloc[1] - ranked.iloc[0]) / np.hypot(
                fits.loc[ranked.index[0], "ibic_se"], fits.loc[ranked.index[1], "ibic_se"])})
    winners = pd.DataFrame(winners)
    table, wrong = {}, {}
    for generator in names:
        mine = winners[winners["generator"] == generator]
        people = participants[participants["generator"] == generator]
        line, instead = {}, {}
        for column, label in GROUP_CRITERIA.items():
            hits = int((mine[column] == generator).sum())
            line[label] = f"{hits}/{len(mine)}"
            others = mine.loc[mine[column] != generator, column].value_counts()
            instead[label] = ", ".join(f"{m.split('+')[0]} {c}" for m, c in others.items()) or "-"
        for column, label in PARTICIPANT_CRITERIA.items():
            hits = int((people[column] == generator).sum())
            line[label] = f"{hits / max(len(people), 1):.2f} ({hits}/{len(people)})"
        table[generator] = line
        wrong[generator] = instead
    return (pd.DataFrame(table).T.rename_axis("generator"),
            pd.DataFrame(wrong).T.rename_axis("generator"), winners)


def print_identification(rows, participants, names=None):
    table, wrong, winners = identification_summary(rows, participants, names)
    print("groups (and participants) in which the generator wins, of n:")
    print(table.to_string())
    print("\nwhat wins instead:")
    print(wrong.to_string())
    group_level = ["ibic", "bms_laplace", "bms_bic"]
    disagree = winners[winners[group_level].nunique(axis=1) > 1]
    print(f"\ngroups where iBIC, BMS Laplace and BMS -BIC/2 disagree: {len(disagree)} of "
          f"{len(winners)}")
    if len(disagree):
        print(disagree[["generator", "group", *group_level]].to_string(index=False))
    se = rows["ibic_se"]
    print(f"\niBIC Monte-Carlo standard error per fit: median {se.median():.2f}, largest "
          f"{se.max():.2f}; the winner's lead over the runner-up: smallest "
          f"{winners['ibic_margin'].min():.1f} ({winners['ibic_margin_se'].min():.1f} standard "
          f"errors), median {winners['ibic_margin'].median():.1f}")
    plain_error = (rows["ibic_prior_samples"] - rows["ibic"])
    print(f"iBIC from plain prior samples minus importance-sampled: median "
          f"{plain_error.median():.1f}, range {plain_error.min():.1f} to {plain_error.max():.1f}")
def z_of(frame, model, names):
    """Parameters in the unbounded space z of ``model``'s bounds."""
    bounds = model._fit_settings().bounds
    low = np.array([bounds[p][0] for p in names])
    high = np.array([bounds[p][1] for p in names])
    x = (frame[names].to_numpy() - low) / (high - low)
    x = np.clip(x, 1e-6, 1 - 1e-6)  # ML estimates on a bound
    return np.log(x / (1 - x))


def report_collapse(args):
    print(f"EmpiricalBayes population scale: sd of the estimates in z / sd of the truth in z, "
          f"and Pearson r, over {args.seeds} populations (seeds 1000-{999 + args.seeds})\n")
    for name in args.models:
        for n in args.n:
            ratio, eb_r, ml_r, mean_r, converged, seconds = [], [], [], [], 0, 0.0
            for seed in range(args.seeds):
                truth, learning, transfer = population(name, n, seed=1000 + seed)
                names = list(truth.columns)
                eb = EmpiricalBayes(make_model(name), random_state=seed, n_jobs=args.jobs)
                seconds += quiet_fit(eb, learning, transfer)
                converged += bool(eb.converged_)
                model = make_model(name)
                ratio.append(pd.Series(z_of(eb.params_, model, names).std(axis=0)
                                       / z_of(truth, model, names).std(axis=0), index=names))
                eb_r.append({p: pearson(eb.params_[p], truth[p]) for p in names})
                if hasattr(eb, "posterior_mean_"):
                    mean_r.append({p: pearson(eb.posterior_mean_[p], truth[p]) for p in names})
                if not args.no_ml:
                    ml = make_model(name, random_state=seed, n_jobs=args.jobs)
                    quiet_fit(ml, learning, transfer)
                    ml_r.append({p: pearson(ml.params_[p], truth[p]) for p in names})
                print(seed, ratio[-1].round(2).to_dict(), file=sys.stderr)
            ratio, eb_r = pd.DataFrame(ratio), pd.DataFrame(eb_r)
            table = pd.DataFrame({"sd ratio mean": ratio.mean(), "sd ratio min": ratio.min(),
                                  "min seed": 1000 + ratio.idxmin(),
                                  "EB r": eb_r.mean(), "EB r min": eb_r.min()})
            if mean_r:
                # EB's posterior means (posterior_mean_) instead of its MAPs
                table["EB mean r"] = pd.DataFrame(mean_r).mean()
            if ml_r:
                ml_r = pd.DataFrame(ml_r)
                table["ML r"] = ml_r.mean()
                table["gain"] = (eb_r - ml_r).mean()
                table["worst gain"] = (eb_r - ml_r).min()
            print(f"{name}, N = {n}: EB {seconds / args.seeds:.1f} s per population, "
                  f"converged_ in {converged} of {args.seeds}")
            print(table.round(3).to_string())
            # issue 18's four learning rates: factual and counterfactual, critic and actor
            rates = [p for p in names if p.startswith(("factual", "counterfactual"))]
            line = f"mean EB r of {', '.join(rates)}: {eb_r[rates].mean(axis=1).mean():.3f}"
            if mean_r:
                line += f" (posterior means {pd.DataFrame(mean_r)[rates].mean(axis=1).mean():.3f})"
            if len(ml_r):
                line += f" (ML {ml_r[rates].mean(axis=1).mean():.3f})"
            print(line)
            print(f"populations with a ratio below 1/3: {int((ratio.min(axis=1) < 1 / 3).sum())}\n")


def covered(fit, truth):
    """Per parameter: (inside, counted) of the true values in ``fit.params_ci_``.

    Counted as ``ParameterRecovery.coverage_`` counts (rows with a finite interval).
    """
    table = coverage_table(truth, fit.params_ci_)
    return table["n_inside"], table["n"]


def covered_in_tails(truth, intervals, level=0.95):
    """Per parameter: (inside, counted) of the lowest and highest 10 % of the true values.

    Both tails together, as ``ParameterRecovery.coverage_by_position_``
    counts them; ``intervals`` laid out as ``params_ci_``.
    """
    tails = pooled_tails(coverage_by_position(truth, intervals, level))
    return tails["n_inside"], tails["n"]


def report_coverage(args):
    print(f"Coverage of the 95 % intervals (params_ci_), {args.replicates} replicates of 60\n")
    for name in args.models:
        if name.startswith("QLearning"):
            learning, transfer = load_example()
            example = make_model(name, random_state=0, n_jobs=args.jobs)
            quiet_fit(example, learning, transfer)
            base_truth = example.params_
        counts = {"EB": [], "EB calibrated": [], "ML": [], "ML profile": [],
                  "ML calibrated": []}
        tails = {method: [] for method in counts}
        levels, seconds, by_level = [], [], {}
        for replicate in range(args.first_replicate, args.first_replicate + args.replicates):
            if name.startswith("QLearning"):
                truth = base_truth.copy()
                learning, transfer = make_model(name).sample(params=truth,
                                                             random_state=5000 + replicate)
            else:
                truth, learning, transfer = population(name, 60, seed=1000 + replicate)
            eb = EmpiricalBayes(make_model(name), random_state=replicate, n_jobs=args.jobs,
                                n_importance=args.n_importance)
            quiet_fit(eb, learning, transfer)
            counts["EB"].append(covered(eb, truth))
            tails["EB"].append(covered_in_tails(truth, eb.params_ci_))
            for level in args.levels or ():
                table = coverage_table(truth, eb.credible_intervals(level), level)
                by_level.setdefault(level, []).append((table["n_inside"], table["n"]))
            if args.calibration:
                calibrated = clone(eb).set_params(interval_calibration=args.calibration)
                seconds.append(quiet_fit(calibrated, learning, transfer))
                counts["EB calibrated"].append(covered(calibrated, truth))
                tails["EB calibrated"].append(covered_in_tails(truth, calibrated.params_ci_))
                levels.append(calibrated.interval_level_)
            if not args.no_ml:
                ml = make_model(name, random_state=replicate, n_jobs=args.jobs)
                for method, intervals in (("ML", "wald"), ("ML profile", "profile"),
                                          ("ML calibrated", "calibrated-profile")):
                    quiet_fit(ml.set_params(intervals=intervals), learning, transfer)
                    counts[method].append(covered(ml, truth))
                    tails[method].append(covered_in_tails(truth, ml.params_ci_))
            print(replicate, (counts["EB"][-1][0] / counts["EB"][-1][1]).round(2).to_dict(),
                  file=sys.stderr)
        table = {}
        for method, parts in counts.items():
            if not parts:
                continue
            inside = sum(p[0] for p in parts)
            total = sum(p[1] for p in parts)
            per_replicate = pd.DataFrame([p[0] / p[1] for p in parts])
            table[f"{method} coverage"] = inside / total
            table[f"{method} min replicate"] = per_replicate.min()
            table[f"{method} n"] = total
        print(f"{name}:")
        print(pd.DataFrame(table).round(3).to_string())
        tail_table = {method: sum(p[0] for p in parts) / sum(p[1] for p in parts)
                      for method, parts in tails.items() if parts}
        print("the lowest and highest 10 % of each replicate's true values "
              "(coverage_by_position_'s tails, pooled):")
        print(pd.DataFrame(tail_table).round(3).to_string())
        if by_level:
            print("EB at other credible levels (credible_intervals(level)), share of true "
                  "values inside:")
            print(pd.DataFrame({f"{level:g}": sum(p[0] for p in parts) / sum(p[1] for p in parts)
                                for level, parts in by_level.items()}).round(3).to_string())
        if levels:
            print(f"EB calibrated (interval_calibration={args.calibration}): credible level "
                  "per parameter over the replicates (min, mean, max); wall seconds "
                  f"{min(seconds):.1f}-{max(seconds):.1f}")
            frame = pd.DataFrame(levels)
            print(pd.DataFrame({"min": frame.min(), "mean": frame.mean(),
                                "max": frame.max()}).round(4).to_string())
        print()


def report_identification(args):
    names = args.models or list(IDENTIFICATION_MODELS) + (list(OTHER_HYBRIDS) if args.hybrids
                                                          else [])
    if args.from_csv:
        rows = pd.read_csv(args.from_csv)
        print_identification(rows, pd.read_csv(_participants_path(args.from_csv)),
                             [n for n in names if n in set(rows["generator"])])
        return
    print(f"{args.groups} groups of {args.group_size} from each generator; every model fitted "
          "to every group (EB: one population per group and model)\n")
    tic = time.perf_counter()
    rows, participants = identification_groups(names, args.groups, args.group_size, args.jobs,
                                               args.out, args.resume)
    print_identification(rows, participants, names)
    print(f"\n{time.perf_counter() - tic:.0f} s in all")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", choices=("timing", "recovery", "collapse", "coverage",
                                                   "identification"),
                        default="timing")
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--n", nargs="*", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=8,
                        help="populations per model and N (seeds 1000, 1001, ...)")
    parser.add_argument("--per-population", action="store_true",
                        help="recovery: also print every population's gains")
    parser.add_argument("--replicates", type=int, default=10,
                        help="coverage: simulated replicates per model")
    parser.add_argument("--first-replicate", type=int, default=0,
                        help="coverage: the first replicate (seeds 1000 + it, 5000 + it)")
    parser.add_argument("--calibration", type=int, default=0,
                        help="coverage: also fit EB with interval_calibration=this many "
                             "simulated groups")
    parser.add_argument("--levels", nargs="*", type=float, default=None,
                        help="coverage: also count EB's intervals at these credible levels "
                             "(EmpiricalBayes.credible_intervals)")
    parser.add_argument("--n-importance", type=int, default=200,
                        help="coverage: EB's n_importance")
    parser.add_argument("--no-ml", action="store_true",
                        help="collapse, coverage: skip the maximum-likelihood fits")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--group-size", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--hybrids", action="store_true",
                        help="identification: also Hybrid2021, StandardHybrid2012 and "
                             "StandardHybrid2021 (+novel)")
    parser.add_argument("--out", default=None,
                        help="identification: write one row per generator, group and fitted "
                             "model to this CSV (and the participants' winners beside it), "
                             "after every group")
    parser.add_argument("--resume", action="store_true",
                        help="identification: keep the groups already in --out, fit the rest")
    parser.add_argument("--from-csv", default=None,
                        help="identification: print the tables of an earlier --out file "
                             "instead of fitting")
    args = parser.parse_args(argv)
    if args.report == "timing":
        args.models = args.models or ["QLearning+novel", "Hybrid2012+novel"]
        args.n = args.n or [60, 150, 500]
        report_timing(args)
    elif args.report == "recovery":
        args.models = args.models or ["QLearning+novel", "Relative+novel", "Advantage+novel",
                                      "ActorCritic+novel", "Hybrid2012+novel"]
        args.n = args.n or [60, 150]
        report_recovery(args)
    elif args.report == "collapse":
        args.models = args.models or ["Hybrid2012+novel", "QLearning+novel"]
        args.n = args.n or [60]
        report_collapse(args)
    elif args.report == "coverage":
        args.models = args.models or ["QLearning+novel", "Hybrid2012+novel"]
        report_coverage(args)
    else:
        report_identification(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
