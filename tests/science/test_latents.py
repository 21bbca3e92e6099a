"""Latent values and prediction errors of every model against an independent computation.

``trial_values`` (and the learning-dynamics table built on it) must show the
values each model holds before every update and the prediction errors of the
update, as reference-spec.md sections 2-3 define them. ``spec_trace`` below
recomputes both trial by trial from the raw DataFrames, with no avoidrl code:
the loader of section 1.3, the updates of section 3, the choice rule of 2.3
(and 3.6 for the lapse models).

Prediction-error columns (``pe0``/``pe1``, ``q_pe0``/``q_pe1``) hold each
option's error against the values before the update: ``r - Q`` (QLearning),
``r - C - Q`` (Relative), ``r - w (r0 + r1) / 2 - Q`` (Advantage), the critic's
``r - V`` (ActorCritic and hybrids, with the hybrids' ``r - Q`` in q_pe), r
after the valence bias. The Standard hybrids apply only the chosen option's
errors; the unchosen option's are still reported.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from avoidrl import make_model
from avoidrl.estimators import ESTIMATORS
from avoidrl.report import learning_dynamics


def _valid_variants():
    """Every base x option combination the estimators' constructors accept (48)."""
    names = []
    for base, cls in ESTIMATORS.items():
        accepted = [o for o in ("bias", "novel", "decay") if o in cls._get_param_names()]
        for mask in range(2 ** len(accepted)):
            names.append("+".join([base] + [o for i, o in enumerate(accepted) if mask >> i & 1]))
    return names


VARIANTS = _valid_variants()

PAIRS = {"Reward1": 0, "Reward2": 1, "Punish1": 2, "Punish2": 3}
PAIR_LETTERS = ("AB", "CD", "EF", "GH")
STIMULI = {"75R1": (0, 0), "25R1": (0, 1), "75R2": (1, 0), "25R2": (1, 1),
           "25P1": (2, 0), "75P1": (2, 1), "25P2": (3, 0), "75P2": (3, 1)}
#: Default bounds (reference-spec 2.2): parameters are drawn inside them.
BOUNDS = {"temperature": (0.05, 0.6), "mixing_factor": (0, 1), "weighting_factor": (0, 1),
          "noise_factor": (0, 0.2), "valence_factor": (0, 1), "novel_value": (-1, 1),
          "decay_factor": (0, 0.2)}
LR_BOUNDS = (0.01, 0.99)


def choice_probability(values, action, temperature, noise):
    """P(action) = softmax_T(values)_action, with lapse (1 - e) p + e / 2 when noise is set."""
    logits = [v / temperature for v in values]
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    p = weights[action] / sum(weights)
    return p if noise is None else (1 - noise) * p + noise / 2


def spec_trace(model, learning, transfer, p):
    """Per learning trial and per transfer trial of one participant: latents and P(choice)."""
    base, *options = model.split("+")
    uses_q = base != "ActorCritic"
    uses_w = base not in ("QLearning", "Relative", "Advantage")
    standard = base.startswith("Standard")
    noise = p["noise_factor"] if base.endswith("2021") else None
    T, m = p["temperature"], p.get("mixing_factor")
    Q = [[0.0, 0.0] for _ in range(4)]
    W = [[0.01, 0.01] for _ in range(4)]
    V = [0.0] * 4
    C = [0.0] * 4

    def choice_values(q, w):
        if uses_q and uses_w:
            return [(1 - m) * w[i] + m * q[i] for i in (0, 1)]
        return list(q) if uses_q else list(w)

    rows = []
    for trial, row in enumerate(learning.itertuples(index=False)):
        better_left = row.symbol_L_value > row.symbol_R_value
        s = PAIRS[row.symbol_names]
        a = int(row.choice_made if better_left else 1 - row.choice_made)
        r = [(row.feedback_L if better_left else row.feedback_R) / 10,
             (row.feedback_R if better_left else row.feedback_L) / 10]
        if "bias" in options:
            b = p["valence_factor"]
            r = [(1 - b) * x if x > 0 else b * x if x < 0 else x for x in r]
        record = {"trial": trial, "pair": PAIR_LETTERS[s], "choice": a,
                  "p_choice": choice_probability(choice_values(Q[s], W[s]), a, T, noise)}
        u = 1 - a
        if uses_q:
            record.update(q0=Q[s][0], q1=Q[s][1])
            if base == "Relative":
                record["context"] = C[s]
                errors = [r[i] - C[s] - Q[s][i] for i in (0, 1)]
            elif base == "Advantage":
                errors = [r[i] - p["weighting_factor"] * (r[0] + r[1]) / 2 - Q[s][i]
                          for i in (0, 1)]
            else:
                errors = [r[i] - Q[s][i] for i in (0, 1)]
            lr = [0.0, 0.0]
            lr[a] = p["factual_lr"]
            lr[u] = 0.0 if standard else p["counterfactual_lr"]
            Q[s] = [Q[s][i] + lr[i] * errors[i] for i in (0, 1)]
            if base == "Relative":
                C[s] += p["contextual_lr"] * ((r[0] + r[1]) / 2 - C[s])
            prefix = "q_pe" if uses_w else "pe"
            record.update({f"{prefix}0": errors[0], f"{prefix}1": errors[1]})
        if uses_w:
            record.update(w0=W[s][0], w1=W[s][1], v=V[s])
            errors = [r[i] - V[s] for i in (0, 1)]
            beta = [0.0, 0.0]
            beta[a] = p["factual_actor_lr"]
            beta[u] = 0.0 if standard else p["counterfactual_actor_lr"]
            new = [W[s][i] + beta[i] * errors[i] for i in (0, 1)]
            total = abs(new[0]) + abs(new[1])
            if total == 0:
                new, total = [0.01, 0.01], 0.02
            W[s] = [new[0] / total, new[1] / total]
            V[s] += p["critic_lr"] * (r[a] - V[s])
            record.update(pe0=errors[0], pe1=errors[1])
        rows.append(record)

    novel = p["novel_value"] if "novel" in options else 0.0
    decay = p["decay_factor"] if "decay" in options else 0.0

    def transfer_value(name):
        if name == "Zero":
            q = w = novel
        else:
            s, i = STIMULI[name]
            q, w = Q[s][i], W[s][i]
        q = (1 - decay) * q
        if uses_q and uses_w:
            return (1 - m) * w + m * q
        return q if uses_q else w

    letter = {"Zero": "N", **{k: "ABCDEFGH"[2 * s + i] for k, (s, i) in STIMULI.items()}}
    transfer_rows = []
    for trial, row in enumerate(transfer.itertuples(index=False)):
        left_higher = row.symbol_L_value > row.symbol_R_value
        first, second = ((row.symbol_L_name, row.symbol_R_name) if left_higher
                         else (row.symbol_R_name, row.symbol_L_name))
        a = int(row.choice_made if left_higher else 1 - row.choice_made)
        values = [transfer_value(first), transfer_value(second)]
        transfer_rows.append({"trial": trial, "pair": letter[first] + letter[second],
                              "choice": a, "value0": values[0], "value1": values[1],
                              "p_choice": choice_probability(values, a, T, noise)})
    return pd.DataFrame(rows), pd.DataFrame(transfer_rows)


def draw_parameters(estimator, participants, seed):
    rng = np.random.default_rng(seed)
    table = {}
    for name in estimator.parameter_names:
        low, high = BOUNDS.get(name, LR_BOUNDS)
        table[name] = rng.uniform(low, high, len(participants))
    return pd.DataFrame(table, index=pd.Index(participants, name="participant_id"))


@pytest.fixture(scope="module")
def design():
    """Three participants on the default task design (24 trials per pair)."""
    return make_model("QLearning").sample(n_participants=3, random_state=5)


@pytest.fixture
def datasets(small_frames, design):
    """The tiny synthetic task (cancelling actor weights included) and the default design."""
    return {"small": small_frames, "design": design}


LATENTS = {
    "QLearning": {"q0", "q1", "pe0", "pe1"}, "Advantage": {"q0", "q1", "pe0", "pe1"},
    "Relative": {"q0", "q1", "context", "pe0", "pe1"},
    "ActorCritic": {"w0", "w1", "v", "pe0", "pe1"},
}


@pytest.mark.parametrize("dataset", ["small", "design"])
@pytest.mark.parametrize("model", VARIANTS)
def test_trial_values_match_the_spec(model, dataset, datasets):
    learning, transfer = datasets[dataset]
    estimator = make_model(model)
    participants = list(pd.unique(learning["participant_id"]))
    params = draw_parameters(estimator, participants, VARIANTS.index(model))
    got = estimator.trial_values(learning, transfer, params=params)
    base = model.split("+")[0]
    latents = LATENTS.get(base, {"q0", "q1", "w0", "w1", "v", "pe0", "pe1", "q_pe0", "q_pe1"})
    learning_rows = got[got["phase"] == "learning"]
    assert set(learning_rows.dropna(axis=1, how="all").columns) == \
        {"participant_id", "phase", "trial", "pair", "choice", "p_choice"} | latents
    for pid in participants:
        own = params.loc[pid].to_dict()
        expected_l, expected_t = spec_trace(
            model, learning[learning["participant_id"] == pid],
            transfer[transfer["participant_id"] == pid], own)
        rows = got[got["participant_id"] == pid]
        for phase, expected, columns in (
                ("learning", expected_l, sorted(latents) + ["p_choice"]),
                ("transfer", expected_t, ["value0", "value1", "p_choice"])):
            part = rows[rows["phase"] == phase].sort_values("trial").reset_index(drop=True)
            assert part["trial"].tolist() == expected["trial"].tolist()
            assert part["pair"].tolist() == expected["pair"].tolist()
            assert part["choice"].tolist() == expected["choice"].tolist()
            for column in columns:
                np.testing.assert_allclose(
                    part[column].to_numpy(float), expected[column].to_numpy(float),
                    rtol=1e-9, atol=1e-12, err_msg=f"{model}, {pid}, {phase}: {column}")


BASES = ["QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012", "Hybrid2021",
         "StandardHybrid2012", "StandardHybrid2021"]


@pytest.mark.parametrize("base", BASES)
def test_learning_dynamics_match_the_spec(base, datasets):
    """The learning-dynamics table is the spec's per-trial errors and values, averaged."""
    learning, transfer = datasets["design"]
    model = f"{base}+novel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence does not matter here
        estimator = make_model(model, n_starts=1, random_state=0,
                               optimizer_options={"maxiter": 15}).fit(learning, transfer)
    table = learning_dynamics({model: estimator}, learning, transfer)
    uses_q, uses_w = base not in ("ActorCritic",), base not in ("QLearning", "Relative",
                                                               "Advantage")
    expected = []
    for pid, p in estimator.params_.iterrows():
        trace, _ = spec_trace(model, learning[learning["participant_id"] == pid],
                              transfer[transfer["participant_id"] == pid], p.to_dict())
        m = p.get("mixing_factor")
        for option in (0, 1):
            q = trace.get(f"q{option}")
            w = trace.get(f"w{option}")
            trace[f"value{option}"] = ((1 - m) * w + m * q) if uses_q and uses_w \
                else (q if uses_q else w)
        trace["pe"] = (trace["pe0"] + trace["pe1"]) / 2
        trace["context"] = trace["pair"].map({"AB": "Reward", "CD": "Reward",
                                              "EF": "Loss Avoid", "GH": "Loss Avoid"})
        trace["trial"] = trace.groupby("pair").cumcount() + 1
        means = trace.groupby(["context", "trial"])[["pe", "value0", "value1"]].mean()
        expected.append(means.assign(participant=pid).reset_index())
    expected = pd.concat(expected).set_index(["participant", "context", "trial"])
    got = table.set_index(["participant", "context", "trial"])
    assert len(got) == len(expected) == 3 * 2 * 24
    got = got.loc[expected.index]
    for column in ("pe", "value0", "value1"):
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=f"{model}: {column}")
    assert set(table["model"]) == {model}
    assert set(table["pe_formula"]) == {"r - V" if uses_w else {
        "QLearning": "r - Q", "Relative": "r - C - Q",
        "Advantage": "r - weighting_factor * (r0 + r1) / 2 - Q"}[base]}
