"""The simulator draws choices with the likelihood's own choice probabilities, for every model.

``estimator.sample`` and ``estimator.trial_values`` compute choice
probabilities by separate code paths (the simulator draws a choice and feeds it
into the next update; the likelihood reads the choice from data). If both
implement the same model, then on data simulated at parameters theta the
chosen option's frequency equals the mean likelihood probability at theta:
``choice_t - P_t(option 1)`` has mean zero given the history, whatever the
history, so ``z = sum(choice - P) / sqrt(sum P (1 - P))`` is approximately
standard normal (martingale central limit theorem), per phase and within bins
of P. A simulator that draws with a different probability (another lapse
term, temperature, value, ...) shifts every trial's choice and gives a large |z|.
"""

import numpy as np
import pandas as pd
import pytest

from avoidrl import make_model
from avoidrl.estimators import ESTIMATORS

OPTIONS = ("bias", "novel", "decay")


def valid_variants():
    """Every base x option combination the estimators accept (their constructors say which)."""
    names = []
    for base, cls in ESTIMATORS.items():
        accepted = [o for o in OPTIONS if o in cls._get_param_names()]
        for mask in range(2 ** len(accepted)):
            on = [o for i, o in enumerate(accepted) if mask >> i & 1]
            names.append("+".join([base, *on]))
    return names


VARIANTS = valid_variants()

#: Mid-range parameters: probabilities stay away from 0 and 1, every term matters,
#: and the lapse rate is large enough that a wrong lapse term (e.g. noise instead of
#: noise / 2: P(option 1) off by 0.075 on every trial) is many standard errors away.
PARAMETERS = {
    "factual_lr": 0.45, "counterfactual_lr": 0.3, "factual_actor_lr": 0.4,
    "counterfactual_actor_lr": 0.3, "critic_lr": 0.35, "contextual_lr": 0.3,
    "temperature": 0.25, "mixing_factor": 0.5, "weighting_factor": 0.5, "noise_factor": 0.15,
    "valence_factor": 0.3, "novel_value": 0.3, "decay_factor": 0.15,
}
#: Normalised actor weights differ by up to 2 (Q values by about 1): a higher
#: temperature keeps those models' probabilities inside (0, 1) too.
ACTOR_TEMPERATURE = 0.6
N_PARTICIPANTS = 30
#: |z| bound; with about 48 x 12 statistics, a correct simulator exceeds it with
#: probability well under 1 % (and the seeds are fixed).
Z_MAX = 4.5
N_BINS = 5


def test_variants_are_the_48_valid_ones():
    assert len(VARIANTS) == 48
    for refused in ("QLearning+bias", "Relative+bias", "Advantage+bias", "ActorCritic+decay"):
        with pytest.raises(ValueError, match="does not take"):
            make_model(refused)


def z_score(chose1, p1):
    """Standardised sum of (choice - P(option 1)); NaN-free for non-degenerate P."""
    variance = np.sum(p1 * (1.0 - p1))
    return float(np.sum(chose1 - p1) / np.sqrt(variance))


def simulate_and_replay(model, seed):
    """Simulate participants at PARAMETERS; the likelihood's P(option 1) on their choices."""
    estimator = make_model(model)
    values = dict(PARAMETERS)
    if "factual_actor_lr" in estimator.parameter_names:
        values["temperature"] = ACTOR_TEMPERATURE
    params = pd.DataFrame(
        [{name: values[name] for name in estimator.parameter_names}] * N_PARTICIPANTS,
        index=pd.Index([f"sim{i}" for i in range(N_PARTICIPANTS)], name="participant_id"))
    learning, transfer = estimator.sample(params=params, random_state=seed)
    rows = estimator.trial_values(learning, transfer, params=params)
    chose1 = rows["choice"].to_numpy(float)
    p_choice = rows["p_choice"].to_numpy(float)
    rows = rows.assign(chose1=chose1, p1=np.where(chose1 == 1, p_choice, 1.0 - p_choice))
    return learning, transfer, rows


@pytest.mark.parametrize("model", VARIANTS)
def test_simulated_choices_follow_the_likelihood(model):
    seed = VARIANTS.index(model)
    learning, transfer, rows = simulate_and_replay(model, seed)
    assert len(rows) == N_PARTICIPANTS * (96 + 384)
    # the replay reads the simulated choices: choice 1 = the worse / lower-valued option
    chose_worse = np.where(learning["symbol_L_value"] > learning["symbol_R_value"],
                           learning["choice_made"], 1 - learning["choice_made"])
    assert chose_worse.sum() == rows.loc[rows["phase"] == "learning", "chose1"].sum()
    failures = []
    for phase in ("learning", "transfer"):
        part = rows[rows["phase"] == phase]
        p1 = part["p1"].to_numpy()
        chose1 = part["chose1"].to_numpy()
        # informative: many trials with probabilities well inside (0, 1)
        assert np.mean((p1 > 0.1) & (p1 < 0.9)) > 0.3, (phase, np.quantile(p1, [.1, .5, .9]))
        z = z_score(chose1, p1)
        if abs(z) > Z_MAX:
            failures.append(f"{phase}: z = {z:.2f} (choice rate {chose1.mean():.3f}, "
                            f"mean P {p1.mean():.3f})")
        # Bins by P rounded: P(option 1) is computed as p_choice or 1 - p_choice
        # depending on the choice, so unrounded ties would split by choice.
        key = np.round(p1, 9)
        edges = np.unique(np.quantile(key, np.linspace(0, 1, N_BINS + 1)))
        bins = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, len(edges) - 2)
        for b in range(len(edges) - 1):
            inside = bins == b
            if inside.sum() < 50 or np.all(p1[inside] * (1 - p1[inside]) == 0):
                continue
            z = z_score(chose1[inside], p1[inside])
            if abs(z) > Z_MAX:
                failures.append(f"{phase}, P in [{edges[b]:.3f}, {edges[b + 1]:.3f}]: "
                                f"z = {z:.2f} (choice rate {chose1[inside].mean():.3f}, "
                                f"mean P {p1[inside].mean():.3f}, n = {inside.sum()})")
    assert not failures, f"{model}: simulated choices disagree with the likelihood:\n" + \
        "\n".join(failures)


@pytest.mark.parametrize("model", ["Hybrid2021+novel", "StandardHybrid2021+novel"])
def test_lapse_floor_is_half_the_noise(model):
    """With a near-zero temperature the softmax is 0 or 1; the lapse alone leaves ε / 2.

    Checks the simulator's lapse term directly: on trials where the values make the
    softmax certain, the option the softmax rejects is still chosen at rate ε / 2
    (reference-spec 3.6: P = (1 - ε) softmax + ε / 2).
    """
    estimator = make_model(model)
    values = {**PARAMETERS, "temperature": 0.01, "noise_factor": 0.2}
    params = pd.DataFrame([{n: values[n] for n in estimator.parameter_names}] * 30,
                          index=pd.Index([f"s{i}" for i in range(30)], name="participant_id"))
    learning, transfer = estimator.sample(params=params, random_state=11)
    rows = estimator.trial_values(learning, transfer, params=params)
    transfer_rows = rows[rows["phase"] == "transfer"]
    gap = (transfer_rows["value0"] - transfer_rows["value1"]).abs().to_numpy()
    certain = gap > 0.2  # softmax at T = 0.01: 1 - 1e-9 or closer
    assert certain.sum() > 3000
    p_choice = transfer_rows["p_choice"].to_numpy()[certain]
    # the likelihood's probability of a lapse choice is exactly ε / 2
    lapse = p_choice < 0.5
    np.testing.assert_allclose(p_choice[lapse], 0.1, atol=1e-6)
    n = certain.sum()
    rate = lapse.mean()
    assert abs(rate - 0.1) < 4.5 * np.sqrt(0.1 * 0.9 / n), (rate, n)
