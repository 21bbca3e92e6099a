"""The report says when the group-level criteria disagree and which one the README recommends."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from avoidrl import report

IDS = pd.Index([f"p{i}" for i in range(6)], name="participant_id")


class Fitted:
    """A fitted model with only the protocol attributes the comparison reads."""

    def __init__(self, name, laplace, ibic=None, ibic_se=None):
        self.model_name = name
        self.params_ = pd.DataFrame({"a": np.zeros(len(IDS))}, index=IDS)
        self.groups_ = pd.Series("ctl", index=IDS)
        laplace = pd.Series(laplace, index=IDS, dtype=float)
        if ibic is None:  # maximum likelihood: BIC and AIC, evidence -BIC/2
            self.fit_method, self.fit_method_name = "ml", "maximum-likelihood"
            self.comparison_criteria = {"AIC": "aic", "BIC": "bic"}
            self.group_criteria, self.evidence_label = {}, "-BIC/2"
            self.bic_, self.aic_ = laplace, laplace - 2.0
            self.evidence_ = -laplace / 2
        else:  # empirical Bayes: Laplace evidence and iBIC
            self.fit_method, self.fit_method_name = "eb", "empirical-Bayes"
            self.comparison_criteria = {"Laplace": "laplace"}
            self.group_criteria, self.evidence_label = {"iBIC": "ibic_"}, "Laplace"
            self.log_evidence_ = self.evidence_ = -laplace / 2
            self.ibic_, self.ibic_se_ = ibic, ibic_se


def eb(per_participant, ibic):
    """{model: Fitted} with each model's -2 log evidences (one value a participant) and iBIC."""
    return {name: Fitted(name, np.full(len(IDS), float(value)) + np.arange(len(IDS)) * 0.1,
                         ibic=ibic[name], ibic_se=1.5)
            for name, value in per_participant.items()}


def test_eb_criteria_agree():
    models = eb({"Q": 100.0, "H": 110.0}, {"Q": 500.0, "H": 540.0})
    table = report.model_comparison_criteria(models)
    assert table.columns.tolist() == ["criterion", "winner", "statistic", "lead", "lead_in_se",
                                      "recommended"]
    assert table["criterion"].tolist() == ["ibic", "mean_laplace", "bms"]
    assert (table["winner"] == "Q").all() and table.attrs["agree"]
    ibic = table.set_index("criterion").loc["ibic"]
    assert ibic["statistic"] == 500.0 and ibic["lead"] == 40.0
    # the lead's standard error is that of a difference of two independent estimates
    assert ibic["lead_in_se"] == pytest.approx(40.0 / np.hypot(1.5, 1.5))
    assert table["recommended"].tolist() == [True, False, False]
    assert table.attrs["recommended"] == "ibic" and table.attrs["evidence"] == "Laplace"
    bms = table.set_index("criterion").loc["bms"]
    assert 0.5 < bms["statistic"] <= 1 and np.isnan(bms["lead_in_se"])
    assert 0 <= table.attrs["bor"] <= 1


def test_eb_criteria_disagree_on_a_nested_model():
    # the nesting model H wins per participant, the iBIC's penalty picks the simpler Q
    models = eb({"Q": 110.0, "H": 100.0}, {"Q": 500.0, "H": 501.0})
    table = report.model_comparison_criteria(models).set_index("criterion")
    assert table.loc["ibic", "winner"] == "Q"
    assert table.loc["mean_laplace", "winner"] == "H" and table.loc["bms", "winner"] == "H"
    assert not table.attrs["agree"]
    # a lead of 1 against a standard error of 2.1: the data do not separate the models
    assert table.loc["ibic", "lead_in_se"] < report.SEPARATION_SE
    assert table.loc["ibic", "recommended"]


def test_ml_recommends_the_mean_bic():
    values = {"A": np.arange(6) + 100.0, "B": np.arange(6) * 3 + 99.0}
    models = {name: Fitted(name, v) for name, v in values.items()}
    table = report.model_comparison_criteria(models).set_index("criterion")
    assert table.index.tolist() == ["mean_aic", "mean_bic", "bms"]
    assert table.attrs["recommended"] == "mean_bic" and table.loc["mean_bic", "recommended"]
    # mean BIC: A 102.5, B 106.5; paired differences 3k - 1, sd / sqrt(6)
    difference = np.arange(6) * 2 - 1.0
    assert table.loc["mean_bic", "lead"] == pytest.approx(4.0)
    assert table.loc["mean_bic", "lead_in_se"] == pytest.approx(
        4.0 / (difference.std(ddof=1) / np.sqrt(6)))


def test_the_table_refuses_one_model_and_mixed_methods():
    with pytest.raises(ValueError, match="at least 2 models"):
        report.model_comparison_criteria({"Q": Fitted("Q", np.zeros(6))})
    mixed = {"Q": Fitted("Q", np.zeros(6)),
             "H": Fitted("H", np.zeros(6), ibic=1.0, ibic_se=1.0)}
    with pytest.raises(ValueError, match="fit every model of a report the same way"):
        report.model_comparison_criteria(mixed)


# --------------------------------------------------- summary block and README line
def test_summary_block_says_whether_the_criteria_agree():
    from avoidrl.report._summary import comparison_summary

    assert comparison_summary(None) is None  # one model: nothing to compare
    block = comparison_summary(report.model_comparison_criteria(
        eb({"Q": 110.0, "H": 100.0}, {"Q": 500.0, "H": 501.0})))
    assert block["winners"] == {"ibic": "Q", "mean_laplace": "H", "bms": "H"}
    assert block["agree"] is False
    assert block["recommended"] == "ibic" and block["recommended_winner"] == "Q"
    assert block["recommended_lead"] == 1.0 and block["lead_within_2_se"] is True
    assert 0 <= block["bms_bor"] <= 1 and block["evidence"] == "Laplace"
    json.dumps(block)  # plain JSON values
    clear = comparison_summary(report.model_comparison_criteria(
        eb({"Q": 100.0, "H": 110.0}, {"Q": 500.0, "H": 540.0})))
    assert clear["agree"] is True and clear["lead_within_2_se"] is False
    # an iBIC without its standard error (a fit saved before it existed): no telling
    models = eb({"Q": 100.0, "H": 110.0}, {"Q": 500.0, "H": 540.0})
    for model in models.values():
        model.ibic_se_ = np.nan
    old = comparison_summary(report.model_comparison_criteria(models))
    assert old["recommended_lead_in_se"] is None and old["lead_within_2_se"] is None


def test_readme_line_names_the_recommended_criterion_and_the_disagreement():
    from avoidrl.report._readme import recommendation_text

    assert recommendation_text(None) == ""
    line = recommendation_text(report.model_comparison_criteria(
        eb({"Q": 110.0, "H": 100.0}, {"Q": 500.0, "H": 501.0})))
    assert line.strip().count("\n") == 0  # one line
    assert "recommended criterion is the integrated BIC" in line and "nested" in line
    assert "Which criterion for group-level comparison" in line
    assert "the criteria disagree (ibic: Q; mean_laplace, bms: H)" in line
    assert "do not separate" in line
    values = {"A": np.arange(6) + 100.0, "B": np.arange(6) * 3 + 99.0}
    line = recommendation_text(report.model_comparison_criteria(
        {name: Fitted(name, v) for name, v in values.items()}))
    assert "recommended criterion is the mean BIC" in line and "`--method eb`" in line
    assert "ActorCritic on 9 of 10 Hybrid2012 groups" in line
    assert "all criteria pick A" in line and "do not separate" not in line


# ------------------------------------------------------------------ the folders
@pytest.mark.slow
def test_fit_folders_write_the_table_the_block_and_the_line(tmp_path):
    import avoidrl
    from avoidrl.hierarchical import EmpiricalBayes

    model = avoidrl.make_model("QLearning+novel")
    learning, transfer = model.sample(n_participants=6, random_state=3)
    names = ("QLearning+novel", "Relative+novel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {
            "eb": {n: EmpiricalBayes(avoidrl.make_model(n), random_state=0, max_iter=5)
                   .fit(learning, transfer) for n in names},
            "ml": {n: avoidrl.make_model(n, n_starts=1, random_state=0).fit(learning, transfer)
                   for n in names},
        }
    for method, models in fits.items():
        out = tmp_path / method
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.write_fit_report(out, models, learning, transfer, random_state=0,
                                    n_simulations=1)
        assert "model_comparison_criteria.csv" in report.fit_files(names, ["0"], method=method)
        table = pd.read_csv(out / "model_comparison_criteria.csv")
        expected = report.model_comparison_criteria(models)
        assert table["criterion"].tolist() == expected["criterion"].tolist()
        assert table["winner"].tolist() == expected["winner"].tolist()
        summary = json.loads((out / "summary_FIT.json").read_text())["model_comparison"]
        recommended = "ibic" if method == "eb" else "mean_bic"
        assert summary["recommended"] == recommended
        assert summary["winners"] == dict(zip(expected["criterion"], expected["winner"]))
        readme = (out / "README.md").read_text()
        assert readme.count("Model comparison: the recommended criterion is") == 1
        assert "| model_comparison_criteria.csv |" in readme
    # one model: no table, no block, no line
    one = {names[0]: fits["ml"][names[0]]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.write_fit_report(tmp_path / "one", one, learning, transfer, random_state=0,
                                n_simulations=1)
    assert not (tmp_path / "one" / "model_comparison_criteria.csv").exists()
    summary = json.loads((tmp_path / "one" / "summary_FIT.json").read_text())
    assert summary["model_comparison"] is None
    assert "Model comparison:" not in (tmp_path / "one" / "README.md").read_text()
