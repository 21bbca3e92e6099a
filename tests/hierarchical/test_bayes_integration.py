"""Full Bayes as a fit method: the protocol, the posterior tables, the command line and
Pipeline, the report folder, and the recoveries (coverage and SBC ranks)."""

import json
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from avoidrl import QLearning, cli, load_example, make_model, report  # noqa: E402
from avoidrl._core.transform import to_bounded  # noqa: E402
from avoidrl._utils.fitted import fit_methods  # noqa: E402
from avoidrl.hierarchical import EmpiricalBayes, HierarchicalBayes  # noqa: E402
from avoidrl.hierarchical._wrapped import WrappedModel  # noqa: E402
from avoidrl.pipeline import Pipeline  # noqa: E402
from avoidrl.recovery import ModelRecovery, ParameterRecovery  # noqa: E402
from avoidrl.recovery._common import SyntheticDataset  # noqa: E402

pytest.importorskip("arviz")

#: Short chains: enough to exercise every output, not to converge.
QUICK = dict(n_chains=2, n_warmup=60, n_samples=30, thin=1)


def two_groups(per_group=3):
    """The first ``per_group`` participants of the example data's first two groups."""
    learning, transfer = load_example()
    firsts = learning.drop_duplicates("participant_id")
    groups = list(pd.unique(firsts["group_code"]))[:2]
    keep = firsts[firsts["group_code"].isin(groups)].groupby("group_code", sort=False) \
        .head(per_group)["participant_id"]
    return (learning[learning["participant_id"].isin(keep)].reset_index(drop=True),
            transfer[transfer["participant_id"].isin(keep)].reset_index(drop=True))


@pytest.fixture(scope="module")
def data():
    return two_groups()


@pytest.fixture(scope="module")
def fitted(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return HierarchicalBayes(make_model("QLearning+novel"), prior="group", random_state=0,
                                 **QUICK).fit(*data)


# ------------------------------------------------------------------ protocol
def test_registered_with_the_protocol_and_the_shared_mixin():
    assert fit_methods()["bayes"] is HierarchicalBayes
    assert list(fit_methods()) == ["ml", "eb", "bayes"]
    assert issubclass(HierarchicalBayes, WrappedModel) and issubclass(EmpiricalBayes,
                                                                       WrappedModel)
    model = QLearning(novel=True)
    fit = HierarchicalBayes.from_model(model, random_state=3, n_jobs=1, n_warmup=7)
    assert fit.get_params()["n_warmup"] == 7 and fit.random_state == 3
    assert fit.model_name == "QLearning+novel" and fit.simulator is model
    assert fit.parameter_names == model.parameter_names
    with pytest.raises(ValueError, match="estimator must be an avoidrl model estimator"):
        HierarchicalBayes.from_model("QLearning")
    with pytest.raises(ValueError, match="n_chains must be an integer >= 1"):
        HierarchicalBayes.from_model(model, n_chains=0)


def test_nll_is_the_likelihood_at_the_posterior_means(fitted, data):
    model = make_model("QLearning+novel")
    direct = model.negative_log_likelihood(*data, params=fitted.params_)["total"]
    np.testing.assert_allclose(fitted.nll_.to_numpy(), direct.reindex(fitted.nll_.index),
                               rtol=1e-9)


def test_loo_criterion_is_minus_twice_the_elpd(fitted, data):
    values = report.criterion_values(fitted, "loo")
    np.testing.assert_allclose(values.to_numpy(), -2 * fitted.elpd_loo_.to_numpy())
    assert report.criterion_label("loo") == "-2 elpd (PSIS-LOO)"
    ml = make_model("QLearning+novel", n_starts=1, random_state=0).fit(*data)
    with pytest.raises(ValueError, match="no PSIS-LOO.*compare it by 'aic', 'bic'"):
        report.criterion_values(ml, "loo")
    with pytest.raises(ValueError, match="no BIC.*compare it by 'loo'"):
        report.criterion_values(fitted, "bic")


# ------------------------------------------------------------------ tables
def test_posterior_summary_is_the_draws_summarised(fitted):
    table = report.posterior_summary(fitted)
    assert len(table) == fitted.params_.size
    row = table[(table["participant_id"] == fitted.params_.index[1])
                & (table["parameter"] == "temperature")].iloc[0]
    draws = fitted.draws_[:, :, 1, 2].ravel()
    assert row["mean"] == pytest.approx(draws.mean())
    assert row["median"] == pytest.approx(np.median(draws))
    assert (row["lower"], row["upper"]) == pytest.approx(tuple(np.quantile(draws,
                                                                           [0.025, 0.975])))
    assert row["r_hat"] == fitted.rhat_.iloc[1, 2]


def test_group_differences_by_brute_force(fitted):
    table = report.posterior_group_differences(fitted)
    groups = fitted.groups_.to_numpy(dtype=object)
    a, b = pd.unique(groups)
    sample = table[(table["quantity"] == "sample") & (table["parameter"] == "factual_lr")]
    assert len(sample) == 1 and sample.iloc[0]["n_a"] == 3
    delta = []
    for chain in fitted.draws_:
        for draw in chain:  # draw: participants x parameters
            delta.append(draw[groups == a, 0].mean() - draw[groups == b, 0].mean())
    delta = np.array(delta)
    assert sample.iloc[0]["mean"] == pytest.approx(delta.mean())
    assert sample.iloc[0]["p_direction"] == pytest.approx(max((delta > 0).mean(),
                                                              (delta < 0).mean()))
    population = table[table["quantity"] == "population"].set_index("parameter")
    expected = fitted.group_differences_.xs((a, b), level=("group_a", "group_b"))
    np.testing.assert_allclose(population["mean"], expected["difference"].reindex(
        population.index))


def test_diagnostics_count_what_the_fit_reports(fitted):
    table = report.posterior_diagnostics(fitted)
    rows = table[table["quantity"] == "participants"].set_index("parameter")
    for parameter in fitted.params_.columns:
        rhat = fitted.rhat_[parameter]
        assert rows.loc[parameter, "n_r_hat_above"] == int((rhat > 1.05).sum())
        assert rows.loc[parameter, "max_r_hat"] == pytest.approx(rhat.max())
        assert rows.loc[parameter, "min_ess_bulk"] == pytest.approx(
            fitted.ess_bulk_[parameter].min())
    assert (table["n_pareto_k_above"] == int((fitted.pareto_k_ > 0.7).sum())).all()
    assert set(table["quantity"]) == {"participants", "mu", "sigma"}
    with pytest.raises(ValueError, match="no posterior draws"):
        report.posterior_diagnostics(QLearning(novel=True, n_starts=1).fit(*two_groups(1)))


@pytest.mark.slow
# ------------------------------------------------------- command line and folder
def test_cli_fit_method_bayes_writes_a_complete_described_folder(tmp_path, data, capsys):
    learning, transfer = tmp_path / "learning.csv", tmp_path / "transfer.csv"
    data[0].to_csv(learning, index=False)
    data[1].to_csv(transfer, index=False)
    out = tmp_path / "out"
    code = cli.main(["fit", "--method", "bayes", "--models", "QLearning+novel",
                     "Relative+novel", "--learning", str(learning), "--transfer", str(transfer),
                     "--n-chains", "2", "--n-warmup", "40", "--n-samples", "20", "--seed", "1",
                     "--n-simulations", "1", "--out", str(out), "--quiet"])
    assert code == 0
    files = report.fit_files(["QLearning+novel", "Relative+novel"],
                             pd.unique(data[0]["group_code"]), method="bayes")
    for name in ("bayes_posterior_summary.csv", "bayes_population.csv",
                 "bayes_group_differences.csv", "bayes_group_differences.png",
                 "bayes_diagnostics.csv", "bayes_trace_rank/QLearning+novel_trace_rank.png",
                 "group_LOO.csv", "LOO_model_comparisons.png", "model_comparison_criteria.csv"):
        assert name in files, name
    for name in files:
        assert (out / name).is_file(), name
    for name in ("group_BIC.csv", "information_criteria.csv", "full_fit_data_FIT.pkl",
                 "fit-by-runs.png"):
        assert not (out / name).exists(), name
    readme = (out / "README.md").read_text()
    for name in ("bayes_posterior_summary.csv", "bayes_diagnostics.csv", "group_LOO.csv",
                 "bayes_group_differences.png"):
        assert f"| {name} |" in readme, name
    assert "Fitting method: full hierarchical Bayes" in readme
    # every own CSV speaks the column vocabulary
    names = {"QLearning+novel", "Relative+novel", "control", "acute", "chronic",
             *make_model("Relative+novel").parameter_names}
    for path in out.glob("bayes_*.csv"):
        columns = pd.read_csv(path, nrows=0).columns
        assert set(columns) <= set(report.COLUMN_VOCABULARY) | names, path.name
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert summary["method"] == "bayes" and summary["evidence"] == "PSIS-LOO"
    entry = summary["per_model"]["QLearning+novel"]
    thin = HierarchicalBayes(QLearning()).thin  # not a front-end setting: the default
    assert entry["sampler"] == {"n_chains": 2, "n_warmup": 40, "n_samples": 20, "thin": thin}
    group = pd.read_csv(out / "group_LOO.csv", index_col=0)
    assert group.loc["full", "QLearning+novel"] == pytest.approx(entry["mean_loo"])
    assert "Vehtari" in (out / "methods.md").read_text()


@pytest.mark.slow
def test_cli_default_sampler_converges_on_the_example_data(tmp_path, capsys):
    """The full default run of the sampler (the class's chains, warm-up and draws)."""
    out = tmp_path / "out"
    code = cli.main(["fit", "--method", "bayes", "--models", "QLearning+novel", "--seed", "0",
                     "--jobs", "2", "--n-simulations", "1", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    diagnostics = pd.read_csv(out / "bayes_diagnostics.csv")
    # measured: largest R-hat 1.003 over the 60 participants' and the population's
    assert diagnostics["max_r_hat"].max() <= 1.05 and diagnostics["converged"].all()
    summary = pd.read_csv(out / "bayes_posterior_summary.csv")
    assert len(summary) == 60 * 4 and (summary["lower"] <= summary["mean"]).all()
    entry = json.loads((out / "summary_FIT.json").read_text())["per_model"]["QLearning+novel"]
    defaults = HierarchicalBayes(QLearning()).get_params()  # the class's, whatever they are
    assert entry["sampler"] == {k: defaults[k] for k in ("n_chains", "n_warmup", "n_samples",
                                                         "thin")}


def test_sampler_settings_are_refused_for_other_methods(capsys):
    code = cli.main(["fit", "--method", "ml", "--n-warmup", "10", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2 and "--n-warmup is a setting of --method bayes" in err
    with pytest.raises(ValueError, match="n_samples: no such setting of method 'eb'"):
        Pipeline(seed=1).run(mode="fit", models=["QLearning+novel"], method="eb",
                             n_samples=10, number_of_participants=2)


@pytest.mark.slow
def test_pipeline_method_bayes_passes_the_sampler_settings(tmp_path, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = Pipeline(seed=2).run(mode="fit", models=["QLearning+novel"], method="bayes",
                                   learning_filename=data[0], transfer_filename=data[1],
                                   n_chains=2, n_warmup=30, n_samples=15,
                                   out_dir=tmp_path / "p")
    fit = run.models["QLearning+novel"]
    assert isinstance(fit, HierarchicalBayes) and fit.draws_.shape[:2] == (2, 15)
    assert fit.n_warmup == 30 and fit.random_state == 2
    assert "by full hierarchical Bayes" in run.summary_lines()[0]


# ------------------------------------------------------------------ recoveries
def test_parameter_recovery_gives_coverage_and_sbc_ranks(tmp_path):
    fitter = HierarchicalBayes(QLearning(novel=False), **QUICK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        recovery = ParameterRecovery(fitter, n_datasets=5, random_state=0).fit()
    ranks = recovery.sbc_ranks_
    n_draws = ranks.attrs["n_draws"]
    assert n_draws == 2 * 30 and ranks.shape == (5, 3)
    assert ((ranks >= 0) & (ranks <= n_draws)).all().all()
    # coverage: the credible intervals of params_ci_, counted independently
    ci = recovery.intervals_
    inside = [(ci.loc[(d, "temperature"), "lower"] <= t <= ci.loc[(d, "temperature"), "upper"])
              for d, t in recovery.true_params_["temperature"].items()]
    assert recovery.coverage_.loc["temperature", "n_inside"] == sum(inside)
    assert recovery.coverage_.loc["temperature", "n"] == 5
    table = report.parameter_recovery_sbc({"QLearning": recovery})
    assert len(table) == 15 and set(table["n_draws"]) == {n_draws}
    out = report.write_validation_report(tmp_path / "v", parameter_recovery={
        "QLearning": recovery})
    written = pd.read_csv(out / "parameter_recovery_sbc.csv")
    assert written["rank"].tolist() == table["rank"].tolist()
    readme = (out / "README.md").read_text()
    assert "| parameter_recovery_sbc.csv |" in readme and "Full-Bayes estimators" in readme
    # another method's refit has no ranks
    recovery.set_params(estimator=QLearning(novel=False, n_starts=1)).fit()
    assert not hasattr(recovery, "sbc_ranks_")


def test_model_recovery_compares_by_loo():
    fitters = [HierarchicalBayes(make_model(name), **QUICK)
               for name in ("QLearning+novel", "Relative+novel")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        recovery = ModelRecovery(fitters, n_datasets=3, random_state=0).fit()
    assert set(recovery.criterion_name_.values()) == {"-2 elpd (PSIS-LOO)"}
    fits = recovery.fits_
    np.testing.assert_allclose(fits["criterion"], -2 * fits["evidence"])
    matrices = report.model_recovery_matrices(recovery)
    assert {"mean_loo", "normalized_loo"} <= set(matrices["matrix"])


def _prior_datasets(model, n_replicates, rng):
    """One-participant datasets whose parameters are drawn from HierarchicalBayes's prior."""
    names = model.parameter_names
    settings = model._fit_settings()
    low, high = settings.low, settings.high
    datasets = []
    for r in range(n_replicates):
        mu = rng.normal(0.0, 2.0, len(names))        # mu ~ N(0, 2)
        sigma = np.abs(rng.normal(0.0, 1.5, len(names)))  # sigma ~ HalfNormal(1.5)
        z = mu + sigma * rng.standard_normal(len(names))
        truth = pd.DataFrame([to_bounded(z, low, high)], columns=names,
                             index=pd.Index([f"d{r}"], name="participant_id"))
        learning, transfer = model.sample(params=truth, random_state=rng, trials_per_pair=4,
                                          transfer_repeats=1)
        datasets.append(SyntheticDataset(id=f"d{r}", model=model.model_name,
                                         true_params=truth.iloc[0].rename(f"d{r}"),
                                         template=None, learning=learning,
                                         transfer=transfer))
    return datasets


@pytest.mark.slow
def test_sbc_ranks_of_parameter_recovery_are_uniform():
    """Ranks over replicates drawn from the prior: a chi-square test of uniformity."""
    model = QLearning(novel=False)
    rng = np.random.RandomState(11)
    fitter = HierarchicalBayes(model, n_chains=2, n_warmup=300, n_samples=100, thin=4)
    ranks = []
    for i, dataset in enumerate(_prior_datasets(model, 60, rng)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            recovery = ParameterRecovery(fitter, random_state=i).fit(datasets=[dataset])
        ranks.append(recovery.sbc_ranks_.iloc[0].to_numpy())
        n_draws = recovery.sbc_ranks_.attrs["n_draws"]
    ranks = np.asarray(ranks)                            # (replicates, k), in 0..n_draws
    bins = 4
    for j, parameter in enumerate(model.parameter_names):
        counts = np.bincount(ranks[:, j] * bins // (n_draws + 1), minlength=bins)
        assert stats.chisquare(counts).pvalue > 0.001, (parameter, counts)
