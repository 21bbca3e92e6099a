"""methods.md's paragraph from a summary dict, for both fitting methods (issue 20, point 4)."""

from avoidrl.report._methods import methods_text

BOUNDS = {"factual_lr": [0.01, 0.99], "temperature": [0.01, 0.5]}


def summary(method="ml", models=("QLearning+novel", "Hybrid2021"), seed=7, bms=True,
            intervals=None, **eb_settings):
    inner = {"bounds": BOUNDS, "start": "normal", "n_starts": 4, "max_starts": 12,
             "optimizer_options": {}}
    if intervals is not None:  # summaries written before the setting existed lack it
        inner["intervals"] = intervals
    if method == "ml":
        estimators = {m: inner for m in models}
    else:
        estimators = {m: {"estimator": {"model": m, **inner}, "prior": "group",
                          "covariance": "full", "max_iter": 50, "tol": 0.01, **eb_settings}
                      for m in models}
    return {"method": method, "models": list(models), "n_participants": 9,
            "groups": {"a": 4, "b": 5}, "evidence": "-BIC/2" if method == "ml" else "Laplace",
            "avoidrl_version": "9.9", "bms": {"winner": models[0]} if bms else None,
            "per_model": {m: {"k": 2} for m in models},
            "settings": {"random_state": seed, "reference_group": "a", "n_simulations": 5,
                         "estimators": estimators}}


def test_ml_methods():
    text = methods_text(summary())
    assert "9 participants in 2 group(s): a (n = 4), b (n = 5)" in text
    assert "QLearning+novel (Palminteri et al., 2015; k = 2: factual_lr [0.01, 0.99], " \
        "temperature [0.01, 0.5])" in text
    assert "Hybrid2021 (Geana et al., 2021" in text
    assert "maximum likelihood" in text and "4 per participant and up to 12" in text
    assert "Seed: 7." in text and "avoidrl 9.9" in text
    assert "AIC and BIC" in text and "Stephan et al., 2009" in text
    references = text.split("## References")[1]
    assert "Geana, A." in references and "Palminteri, S." in references
    assert "Huys" not in references  # no empirical Bayes here
    assert "95 % intervals were Wald intervals" in text and "Davison" not in text


def test_ml_methods_say_how_the_intervals_were_computed():
    assert methods_text(summary(intervals="wald")) == methods_text(summary())
    profile = methods_text(summary(intervals="profile"))
    assert "profile-likelihood intervals" in profile and "1.92." in profile
    assert "bootstrap" not in profile and "Davison" not in profile
    calibrated = methods_text(summary(intervals="calibrated-profile"))
    assert "cut was calibrated by a parametric bootstrap of the group" in calibrated
    assert "95 % prediction bound" in calibrated and "(Davison & Hinkley, 1997)" in calibrated
    assert "Davison, A. C., & Hinkley, D. V. (1997)" in calibrated.split("## References")[1]


def test_eb_methods_and_one_model_unseeded():
    text = methods_text(summary("eb", models=("Relative+novel",), seed="None: unseeded",
                                bms=False))
    assert "empirical Bayes (Huys et al., 2011)" in text and "group Gaussian prior" in text
    assert "integrated BIC" in text and "AIC" not in text
    assert "Bayesian model selection" not in text and "Stephan" not in text
    assert "not seeded" in text
    assert "Huys, Q. J. M." in text.split("## References")[1]
    assert "calibrated" not in text and "Carlin" not in text


def test_eb_methods_say_when_the_intervals_levels_were_calibrated():
    text = methods_text(summary("eb", models=("Relative+novel",), interval_calibration=10))
    assert ("credible level was calibrated on 10 groups simulated from the fit" in text
            and "(Carlin & Gelfand, 1990)" in text)
    assert "Carlin, B. P., & Gelfand, A. E. (1990)" in text.split("## References")[1]


def test_user_models_have_no_invented_reference():
    text = methods_text(summary(models=("MyModel",)))
    assert "MyModel (a user-declared model; k = 2" in text
