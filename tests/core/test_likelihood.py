"""The likelihood kernel (avoidrl._core.likelihood) and the model declarations (avoidrl.models._builtin).

The kernel is checked three ways:

* against the reference implementation's own NLLs: on the bundled example data
  (``tests/fixtures/example_reference_nll.csv``, in every clone) and on the tutorial data
  (``shared/fixtures/reference_nll.csv``, where the shared folder exists);
* against an independent trial-by-trial loop written in this file straight from
  reference-spec.md sections 1-3 (it reads the DataFrames itself and uses no avoidrl code),
  which is first validated against the same reference NLLs;
* against closed forms (huge temperature, zero learning rates) and invariances
  (batch size, chunking, padding).

Parity, invariance and stability tests run on both kernels (``kernel_path``): the
numpy one and, when numba is installed, the compiled one generated from the same
declarations, which must also agree with the numpy kernel bit for bit.
"""

import importlib.util
import itertools
import json
import math
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avoidrl._core import compiled as _compiled
from avoidrl._core import likelihood as _likelihood
from avoidrl.models import _builtin as _models
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import negative_log_likelihood
from avoidrl.models._builtin import make_variant

LOG2 = math.log(2.0)

# ----------------------------------------------------------------------------
# The spec's tables (reference-spec.md section 2.2), written out independently.

#: base -> [(parameter, low, high, start value)] in the reference's order.
BASE_PARAMETERS = {
    "QLearning": [("factual_lr", .01, .99, .28), ("counterfactual_lr", .01, .99, .18),
                  ("temperature", .01, 1, .06)],
    "ActorCritic": [("factual_actor_lr", .01, .99, .33), ("counterfactual_actor_lr", .01, .99, .33),
                    ("critic_lr", .01, .99, .48), ("temperature", .01, 1, .06)],
    "Relative": [("factual_lr", .01, .99, .19), ("counterfactual_lr", .01, .99, .15),
                 ("contextual_lr", .01, .99, .33), ("temperature", .01, 1, .05)],
    "Advantage": [("factual_lr", .01, .99, .28), ("counterfactual_lr", .01, .99, .18),
                  ("temperature", .01, 1, .06), ("weighting_factor", 0, 1, .50)],
    "Hybrid2012": [("factual_lr", .01, .99, .49), ("counterfactual_lr", .01, .99, .49),
                   ("factual_actor_lr", .01, .99, .33), ("counterfactual_actor_lr", .01, .99, .33),
                   ("critic_lr", .01, .99, .48), ("temperature", .01, 1, .06),
                   ("mixing_factor", 0, 1, .70)],
    "Hybrid2021": [("factual_lr", .01, .99, .49), ("counterfactual_lr", .01, .99, .49),
                   ("factual_actor_lr", .01, .99, .33), ("counterfactual_actor_lr", .01, .99, .33),
                   ("critic_lr", .01, .99, .48), ("temperature", .01, 1, .06),
                   ("mixing_factor", 0, 1, .69), ("noise_factor", 0, .2, .04)],
    "StandardHybrid2012": [("factual_lr", .01, .99, .49), ("factual_actor_lr", .01, .99, .33),
                           ("critic_lr", .01, .99, .48), ("temperature", .01, 1, .06),
                           ("mixing_factor", 0, 1, .70)],
    "StandardHybrid2021": [("factual_lr", .01, .99, .49), ("factual_actor_lr", .01, .99, .33),
                           ("critic_lr", .01, .99, .48), ("temperature", .01, 1, .06),
                           ("mixing_factor", 0, 1, .69), ("noise_factor", 0, .2, .04)],
}
OPTION_PARAMETERS = {"bias": ("valence_factor", 0, 1, .33), "novel": ("novel_value", -1, 1, 0),
                     "decay": ("decay_factor", 0, .2, .08)}
BIAS_BASES = ("ActorCritic", "Hybrid2012", "Hybrid2021", "StandardHybrid2012", "StandardHybrid2021")


def _variant_names(valid):
    """Names the reference runs (it crashes on QLearning/Relative/Advantage + bias)."""
    names = []
    for base in BASE_PARAMETERS:
        for bias, novel, decay in itertools.product((False, True), repeat=3):
            if bias and base not in BIAS_BASES:
                continue
            if (decay and base == "ActorCritic") != valid:
                names.append(base + "+bias" * bias + "+novel" * novel + "+decay" * decay)
    return names


#: Every variant avoidrl accepts (48), and the ones it refuses that the reference runs (4).
VALID_MODELS = _variant_names(valid=True)
ACTOR_CRITIC_DECAY = _variant_names(valid=False)


def spec_parameters(model):
    """[(name, low, high, start)] of a model name, from the spec's tables."""
    base, *options = model.split("+")
    return BASE_PARAMETERS[base] + [OPTION_PARAMETERS[o] for o in ("bias", "novel", "decay")
                                    if o in options]


def random_parameters(model, rng, n):
    """``n`` dicts of parameters drawn uniformly within the spec's default bounds."""
    spec = spec_parameters(model)
    return [{name: rng.uniform(lo, hi) for name, lo, hi, _ in spec} for _ in range(n)]


def start_parameters(model, **overrides):
    params = {name: start for name, _, _, start in spec_parameters(model)}
    params.update(overrides)
    return params


# ----------------------------------------------------------------------------
# An independent, trial-by-trial implementation of reference-spec.md sections 1-3.

_PAIR = {"Reward1": 0, "Reward2": 1, "Punish1": 2, "Punish2": 3}
_STIMULUS = {"75R1": (0, 0), "25R1": (0, 1), "75R2": (1, 0), "25R2": (1, 1),
             "25P1": (2, 0), "75P1": (2, 1), "25P2": (3, 0), "75P2": (3, 1)}  # Zero: novel


def spec_sequences(learning, transfer):
    """Per participant: learning [(pair, action, r0, r1)] and transfer [(first, second, action)].

    The loader of section 1.3, row by row in file order.
    """
    seqs = {}
    for row in learning.itertuples(index=False):
        left_better = row.symbol_L_value > row.symbol_R_value
        r0 = (row.feedback_L if left_better else row.feedback_R) / 10
        r1 = (row.feedback_R if left_better else row.feedback_L) / 10
        action = row.choice_made if left_better else 1 - row.choice_made
        seqs.setdefault(row.participant_id, ([], []))[0].append(
            (_PAIR[row.symbol_names], int(action), r0, r1))
    for row in transfer.itertuples(index=False):
        left_higher = row.symbol_L_value > row.symbol_R_value
        first, second = ((row.symbol_L_name, row.symbol_R_name) if left_higher
                         else (row.symbol_R_name, row.symbol_L_name))
        action = row.choice_made if left_higher else 1 - row.choice_made
        seqs[row.participant_id][1].append((first, second, int(action)))
    return seqs


def naive_choice_nll(v, a, T, eps):
    """-log P(a) with the reference's formula: exp(v/T) / sum exp(v/T), no max-subtraction."""
    try:
        e0, e1 = math.exp(v[0] / T), math.exp(v[1] / T)
    except OverflowError:
        return math.nan
    total = e0 + e1
    if total == 0.0 or math.isinf(total):
        return math.nan
    p = (e1 if a else e0) / total
    if eps is not None:
        p = (1 - eps) * p + eps / 2
    return -math.log(p) if p > 0 else math.inf


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def stable_choice_nll(v, a, T, eps):
    """-log P(a) computed without overflow: softplus((v_unchosen - v_chosen) / T)."""
    nll = softplus((v[1 - a] - v[a]) / T)
    if not eps:
        return nll
    return -math.log((1 - eps) * math.exp(-nll) + eps / 2)


def loop_nll(model, sequences, p, choice_nll=naive_choice_nll, restarts=None):
    """(learning NLL, transfer NLL) of one participant, straight from spec sections 2-3."""
    base, *options = model.split("+")
    T = p["temperature"]
    eps = p["noise_factor"] if base.endswith("2021") else None
    uses_q = base != "ActorCritic"
    uses_w = base not in ("QLearning", "Relative", "Advantage")
    standard = base.startswith("Standard")
    m = p.get("mixing_factor")
    Q = [[0.0, 0.0] for _ in range(4)]
    W = [[0.01, 0.01] for _ in range(4)]
    V = [0.0] * 4
    C = [0.0] * 4

    def values(q, w):
        if uses_q and uses_w:
            return [(1 - m) * w[i] + m * q[i] for i in (0, 1)]
        return list(q) if uses_q else list(w)

    learning_nll = 0.0
    for s, a, r0, r1 in sequences[0]:
        learning_nll += choice_nll(values(Q[s], W[s]), a, T, eps)
        r = [r0, r1]
        if "bias" in options:
            b = p["valence_factor"]
            r = [(1 - b) * x if x > 0 else (b * x if x < 0 else x) for x in r]
        u = 1 - a
        if uses_q:
            if standard:
                Q[s][a] = Q[s][a] + p["factual_lr"] * (r[a] - Q[s][a])
            else:
                lr = [0.0, 0.0]
                lr[a], lr[u] = p["factual_lr"], p["counterfactual_lr"]
                if base == "Relative":
                    delta = [r[i] - C[s] - Q[s][i] for i in (0, 1)]
                elif base == "Advantage":
                    delta = [r[i] - p["weighting_factor"] * (r[0] + r[1]) / 2 - Q[s][i]
                             for i in (0, 1)]
                else:
                    delta = [r[i] - Q[s][i] for i in (0, 1)]
                Q[s] = [Q[s][i] + lr[i] * delta[i] for i in (0, 1)]
                if base == "Relative":
                    C[s] = C[s] + p["contextual_lr"] * ((r[0] + r[1]) / 2 - C[s])
        if uses_w:
            new = list(W[s])
            if standard:
                new[a] = W[s][a] + p["factual_actor_lr"] * (r[a] - V[s])
            else:
                beta = [0.0, 0.0]
                beta[a], beta[u] = p["factual_actor_lr"], p["counterfactual_actor_lr"]
                new = [W[s][i] + beta[i] * (r[i] - V[s]) for i in (0, 1)]
            total = abs(new[0]) + abs(new[1])
            if total == 0:
                new, total = [0.01, 0.01], 0.02
                if restarts is not None:
                    restarts.append(s)
            W[s] = [new[0] / total, new[1] / total]
            V[s] = V[s] + p["critic_lr"] * (r[a] - V[s])

    novel = p["novel_value"] if "novel" in options else 0.0
    decay = p["decay_factor"] if "decay" in options else None

    def transfer_value(name):
        if name == "Zero":
            q = w = novel
        else:
            s, i = _STIMULUS[name]
            q, w = Q[s][i], W[s][i]
        if decay is not None:
            q = (1 - decay) * q
        if uses_q and uses_w:
            return (1 - m) * w + m * q
        return q if uses_q else w

    transfer_nll = 0.0
    for first, second, a in sequences[1]:
        transfer_nll += choice_nll([transfer_value(first), transfer_value(second)], a, T, eps)
    return learning_nll, transfer_nll


# ----------------------------------------------------------------------------
# Helpers


def kernel(model, data, param_dicts, owner):
    """Kernel NLLs of dicts of named parameters (ordered by the variant's own names)."""
    variant = make_variant(model)
    params = np.array([[p[n] for n in variant.parameter_names] for p in param_dicts], dtype=float)
    return negative_log_likelihood(variant, data, params, np.asarray(owner))


@pytest.fixture(params=["numpy", "compiled"])
def kernel_path(request, monkeypatch):
    """Run the test on the numpy kernel, then on the compiled one (needs numba)."""
    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(_compiled, "ENABLED", True)
        monkeypatch.setattr(_compiled, "COMPILE_AFTER_ROWS", 0)
    else:
        monkeypatch.setattr(_compiled, "ENABLED", False)
    return request.param


def assert_kernel_path(kernel_path, model):
    """The compiled kernel, when asked for, was built and kept (not a silent numpy fallback)."""
    if kernel_path == "compiled":
        assert _compiled._KERNELS.get(make_variant(model).base) is not None, model


def relative_error(got, expected):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)


def assert_close(got, expected, rtol, labels, what=""):
    """All entries within ``rtol`` relative; the message lists every failing row."""
    err = relative_error(got, expected)
    bad = ~(err <= rtol)
    assert not bad.any(), f"{what}: {int(bad.sum())} row(s) off by more than {rtol:g}:\n" + "\n".join(
        f"  {labels[i]}: got {np.asarray(got)[i]!r}, expected {np.asarray(expected)[i]!r} "
        f"(rel {err[i]:.2e})" for i in np.flatnonzero(bad))


@pytest.fixture(scope="module")
def reference(shared_dir):
    path = shared_dir / "fixtures" / "reference_nll.csv"
    if not path.is_file():
        pytest.skip(f"reference likelihoods not available: {path}")
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def tutorial(shared_dir):
    """(TaskData, spec sequences) of the tutorial data."""
    paths = [shared_dir / "data" / f"tutorial_{phase}_data.csv" for phase in ("learning", "transfer")]
    if not all(p.is_file() for p in paths):
        pytest.skip("tutorial data not available")
    frames = [pd.read_csv(p) for p in paths]
    return load_task_data(*frames), spec_sequences(*frames)


@pytest.fixture
def small(small_frames):
    """(TaskData, spec sequences, frames) of the synthetic task."""
    return load_task_data(*small_frames), spec_sequences(*small_frames), small_frames


# ----------------------------------------------------------------------------
# Parity with the reference implementation


def test_reference_covers_every_variant(reference):
    assert sorted(reference["model"].unique()) == sorted(VALID_MODELS + ACTOR_CRITIC_DECAY)
    assert (reference.groupby("model").size() == 15).all()


@pytest.mark.parametrize("model", VALID_MODELS)
def test_parity_with_reference(model, reference, tutorial, kernel_path):
    data, _ = tutorial
    rows = reference[reference["model"] == model]
    assert len(rows) == 15
    variant = make_variant(model)
    params = np.array([[json.loads(s)[n] for n in variant.parameter_names] for s in rows["params"]])
    assert all(set(json.loads(s)) == set(variant.parameter_names) for s in rows["params"])
    position = {pid: i for i, pid in enumerate(data.participants)}
    owner = rows["participant_id"].map(position).to_numpy()
    learning, transfer = negative_log_likelihood(variant, data, params, owner)  # one batched call

    labels = [f"({model}, {pid}, param_set {k})"
              for pid, k in zip(rows["participant_id"], rows["param_set"])]
    assert_close(learning, rows["nll_learning"], 1e-10, labels, "learning NLL")
    assert_close(transfer, rows["nll_transfer"], 1e-10, labels, "transfer NLL")
    assert_close(learning + transfer, rows["nll_total"], 1e-10, labels, "total NLL")
    assert (data.n_learning[owner] == rows["n_learning"].to_numpy()).all()
    assert (data.n_transfer[owner] == rows["n_transfer"].to_numpy()).all()
    assert (rows["n_params"] == variant.n_parameters).all()
    assert_kernel_path(kernel_path, model)


#: The reference's own NLLs on 6 participants of avoidrl's bundled example data (copied
#: from shared/fixtures/example_reference_nll.csv, which may be shipped: the data are the
#: project's and the numbers are facts about the reference), so parity runs in every clone.
EXAMPLE_REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "example_reference_nll.csv"


@pytest.fixture(scope="module")
def example_reference():
    from avoidrl import load_example

    table = pd.read_csv(EXAMPLE_REFERENCE)
    learning, transfer = load_example()
    ids = list(pd.unique(table["participant_id"]))
    frames = [f[f["participant_id"].isin(ids)] for f in (learning, transfer)]
    return table, load_task_data(*frames), spec_sequences(*frames)


def test_example_reference_covers_every_variant(example_reference):
    table, data, _ = example_reference
    assert sorted(table["model"].unique()) == sorted(VALID_MODELS + ACTOR_CRITIC_DECAY)
    assert (table.groupby("model").size() == 18).all() and len(table) == 936
    assert sorted(data.participants) == sorted(pd.unique(table["participant_id"]))


@pytest.mark.parametrize("model", VALID_MODELS)
def test_parity_with_reference_on_the_bundled_data(model, example_reference, kernel_path):
    """Runs in every clone: no shared folder needed."""
    table, data, _ = example_reference
    rows = table[table["model"] == model]
    variant = make_variant(model)
    params = np.array([[json.loads(s)[n] for n in variant.parameter_names] for s in rows["params"]])
    assert all(set(json.loads(s)) == set(variant.parameter_names) for s in rows["params"])
    position = {pid: i for i, pid in enumerate(data.participants)}
    owner = rows["participant_id"].map(position).to_numpy()
    learning, transfer = negative_log_likelihood(variant, data, params, owner)
    labels = [f"({model}, {pid}, param_set {k})"
              for pid, k in zip(rows["participant_id"], rows["param_set"])]
    assert_close(learning, rows["nll_learning"], 1e-10, labels, "learning NLL")
    assert_close(transfer, rows["nll_transfer"], 1e-10, labels, "transfer NLL")
    assert_close(learning + transfer, rows["nll_total"], 1e-10, labels, "total NLL")
    assert_close(learning + transfer, rows["objective"], 1e-10, labels, "objective")
    assert (data.n_learning[owner] == rows["n_learning"].to_numpy()).all()
    assert (data.n_transfer[owner] == rows["n_transfer"].to_numpy()).all()
    assert_kernel_path(kernel_path, model)


def test_loop_implementation_reproduces_reference_on_the_bundled_data(example_reference):
    """The independent loop matches the reference on the bundled data too (every clone)."""
    table, _, sequences = example_reference
    rows = table[table["param_set"] == 0]
    got = np.array([loop_nll(r.model, sequences[r.participant_id], json.loads(r.params))
                    for r in rows.itertuples()])
    labels = [f"({r.model}, {r.participant_id}, param_set {r.param_set})" for r in rows.itertuples()]
    assert_close(got[:, 0], rows["nll_learning"], 1e-12, labels, "loop learning NLL")
    assert_close(got[:, 1], rows["nll_transfer"], 1e-12, labels, "loop transfer NLL")


@pytest.mark.parametrize("model", ACTOR_CRITIC_DECAY)
def test_reference_actor_critic_decay_is_refused(model, reference):
    assert (reference["model"] == model).sum() == 15
    with pytest.raises(ValueError, match="decay"):
        make_variant(model)


def test_loop_implementation_reproduces_reference(reference, tutorial):
    """The independent loop (the oracle of the tests below) matches the reference's numbers.

    This includes ActorCritic+decay, where decay has no effect (spec Q4).
    """
    _, sequences = tutorial
    rows = reference[reference["param_set"] == 0]
    got = np.array([loop_nll(r.model, sequences[r.participant_id], json.loads(r.params))
                    for r in rows.itertuples()])
    labels = [f"({r.model}, {r.participant_id}, param_set {r.param_set})" for r in rows.itertuples()]
    assert_close(got[:, 0], rows["nll_learning"], 1e-12, labels, "loop learning NLL")
    assert_close(got[:, 1], rows["nll_transfer"], 1e-12, labels, "loop transfer NLL")


# ----------------------------------------------------------------------------
# Independent loop implementation on the synthetic data


@pytest.mark.parametrize("model", VALID_MODELS)
def test_kernel_matches_loop_implementation(model, small):
    data, sequences, _ = small
    rng = np.random.default_rng(zlib.crc32(model.encode()))
    params = random_parameters(model, rng, 6) + [start_parameters(model)]
    owner = np.arange(len(params)) % data.n_participants
    learning, transfer = kernel(model, data, params, owner)
    expected = np.array([loop_nll(model, sequences[data.participants[o]], p)
                         for p, o in zip(params, owner)])
    labels = [f"({model}, {data.participants[o]}, {p})" for p, o in zip(params, owner)]
    assert_close(learning, expected[:, 0], 1e-12, labels, "learning NLL")
    assert_close(transfer, expected[:, 1], 1e-12, labels, "transfer NLL")


@pytest.mark.parametrize("model", ["ActorCritic", "ActorCritic+bias+novel", "Hybrid2012+novel+decay",
                                   "Hybrid2021"])
def test_cancelled_actor_weights_restart(model, small):
    """|W'0| + |W'1| == 0 restarts the weights at 0.01 (spec 3.2); p1 has such a trial."""
    data, sequences, _ = small
    params = start_parameters(model, factual_actor_lr=0.01, counterfactual_actor_lr=0.01)
    if "bias" in model:
        params["valence_factor"] = 1.0  # losses unscaled, so the weights still cancel
    restarts = []
    expected = loop_nll(model, sequences["p1"], params, restarts=restarts)
    assert restarts == [2]  # the first Punish1 trial: both outcomes -1
    learning, transfer = kernel(model, data, [params] * 3, [0, 1, 0])
    assert np.isfinite(learning).all() and np.isfinite(transfer).all()
    assert_close([learning[0], transfer[0]], expected, 1e-12, ["learning", "transfer"], model)
    assert learning[0] == learning[2] and transfer[0] == transfer[2]


# ----------------------------------------------------------------------------
# Batch invariance


@pytest.mark.parametrize("model", ["QLearning+novel+decay", "Relative+novel", "Advantage+decay",
                                   "ActorCritic+bias+novel", "Hybrid2021+bias+novel+decay",
                                   "StandardHybrid2012+novel"])
@pytest.mark.parametrize("padded", [False, True])
def test_batch_invariance(model, padded, small_frames, kernel_path):
    learning, transfer = small_frames
    if padded:
        learning = learning.drop(index=learning.index[learning["participant_id"] == "p2"][-5:])
    data = load_task_data(learning, transfer)
    assert data.padded == padded
    n = 600
    assert n > _likelihood.CHUNK_SIZE
    rng = np.random.default_rng(7)
    params = random_parameters(model, rng, n)
    if "ActorCritic" in model or "Hybrid" in model:  # a few rows whose actor weights cancel
        for k in range(0, n, 97):
            params[k].update(factual_actor_lr=0.01, counterfactual_actor_lr=0.01, valence_factor=1.0)
    owner = np.arange(n) % data.n_participants
    big = np.array(kernel(model, data, params, owner))
    small_batch = np.array(kernel(model, data, params[:150], owner[:150]))
    singles = np.array([kernel(model, data, [p], [o]) for p, o in zip(params, owner)])[:, :, 0].T
    labels = [f"({model}, row {k}, owner {o})" for k, o in enumerate(owner)]
    for phase in (0, 1):
        assert np.isfinite(big[phase]).all()
        assert_close(big[phase], singles[phase], 1e-12, labels, "batch of 600 vs one at a time")
        assert_close(small_batch[phase], singles[phase][:150], 1e-12, labels, "batch of 150")
    assert_kernel_path(kernel_path, model)


# ----------------------------------------------------------------------------
# Numerical stability

STABILITY_CASES = [
    ("QLearning+novel+decay", dict(factual_lr=.99, counterfactual_lr=.99, temperature=1e-4,
                                   novel_value=1.0, decay_factor=.2), False),
    ("QLearning+novel+decay", dict(factual_lr=.99, counterfactual_lr=.99, temperature=1e-8,
                                   novel_value=-1.0, decay_factor=0.0), False),
    ("QLearning+novel", dict(factual_lr=.99, counterfactual_lr=.01, temperature=1e-8,
                             novel_value=1.0), False),
    ("Relative+novel", dict(factual_lr=.99, counterfactual_lr=.99, contextual_lr=.99,
                            temperature=1e-4, novel_value=-1.0), False),
    ("Advantage+novel+decay", dict(factual_lr=.99, temperature=1e-8, novel_value=1.0), False),
    ("ActorCritic+bias+novel", dict(factual_actor_lr=.99, temperature=1e-4, novel_value=-1.0), False),
    ("Hybrid2012+bias+novel+decay", dict(factual_lr=.99, temperature=1e-8, novel_value=1.0), False),
    ("Hybrid2021+novel", dict(factual_lr=.99, temperature=1e-4, novel_value=1.0, noise_factor=0.0), False),
    ("Hybrid2021+novel", dict(factual_lr=.99, temperature=1e-8, novel_value=-1.0, noise_factor=0.0), False),
    ("Hybrid2021+novel", dict(factual_lr=.99, temperature=1e-4, novel_value=1.0, noise_factor=0.2), False),
    ("Hybrid2021+novel", dict(factual_lr=.99, temperature=1e-8, novel_value=-1.0, noise_factor=0.2), False),
    ("StandardHybrid2021+bias+novel+decay", dict(temperature=1e-8, noise_factor=0.0,
                                                 novel_value=1.0), False),
    # Temperatures at which the reference's naive softmax is still finite:
    ("QLearning+novel+decay", dict(factual_lr=.99, counterfactual_lr=.99, temperature=.01,
                                   novel_value=1.0, decay_factor=.2), True),
    ("Relative+novel", dict(factual_lr=.99, counterfactual_lr=.99, contextual_lr=.99,
                            temperature=.004, novel_value=-1.0), True),
    ("Hybrid2021+novel", dict(factual_lr=.99, temperature=.01, novel_value=1.0, noise_factor=0.0), True),
    ("Hybrid2021+novel", dict(factual_lr=.99, temperature=.005, novel_value=-1.0, noise_factor=0.2), True),
]


@pytest.mark.parametrize("model, overrides, naive_finite", STABILITY_CASES,
                         ids=[f"{m}-T{o['temperature']:g}-eps{o.get('noise_factor', '')}"
                              for m, o, _ in STABILITY_CASES])
def test_numerical_stability(model, overrides, naive_finite, small, kernel_path):
    data, sequences, _ = small
    params = start_parameters(model, **overrides)
    owner = np.arange(data.n_participants)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        learning, transfer = kernel(model, data, [params] * len(owner), owner)
    assert np.isfinite(learning).all() and np.isfinite(transfer).all(), (learning, transfer)
    labels = [f"({model}, {pid})" for pid in data.participants]
    stable = np.array([loop_nll(model, sequences[pid], params, stable_choice_nll)
                       for pid in data.participants])
    assert_close(learning, stable[:, 0], 1e-10, labels, "learning vs stable loop")
    assert_close(transfer, stable[:, 1], 1e-10, labels, "transfer vs stable loop")
    naive = np.array([loop_nll(model, sequences[pid], params) for pid in data.participants])
    finite = np.isfinite(naive)
    if naive_finite:
        assert finite.all()
    for phase, got in ((0, learning), (1, transfer)):
        where = finite[:, phase]
        assert_close(got[where], naive[where, phase], 1e-10,
                     [lab for lab, w in zip(labels, where) if w], "vs naive softmax")


def test_kernel_emits_no_warnings(small):
    """A plain call within the default bounds raises no warning of any kind."""
    data, _, _ = small
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for model in ("QLearning+novel", "Hybrid2021+bias+novel+decay"):
            kernel(model, data, [start_parameters(model)] * 3, [0, 1, 2])


# ----------------------------------------------------------------------------
# Closed forms


@pytest.mark.parametrize("temperature, rtol", [(1e300, 1e-12), (np.finfo(float).max, 1e-12),
                                               (1e6, 1e-5)])
def test_huge_temperature_gives_log2_per_choice(temperature, rtol, small):
    data, _, _ = small
    rng = np.random.default_rng(3)
    owner = np.arange(data.n_participants)
    for model in VALID_MODELS:
        params = [dict(p, temperature=temperature)
                  for p in random_parameters(model, rng, len(owner))]
        learning, transfer = kernel(model, data, params, owner)
        labels = [f"({model}, {pid})" for pid in data.participants]
        assert_close(learning, data.n_learning * LOG2, rtol, labels, "learning")
        assert_close(transfer, data.n_transfer * LOG2, rtol, labels, "transfer")


def test_huge_temperature_on_tutorial(tutorial):
    data, _ = tutorial
    params = [start_parameters("Hybrid2021+bias+novel+decay", temperature=1e300)] * 15
    learning, transfer = kernel("Hybrid2021+bias+novel+decay", data, params, np.arange(15))
    assert_close(learning + transfer, (96 + 384) * LOG2 * np.ones(15), 1e-12,
                 list(data.participants), "total")


def novel_trials(transfer, pid):
    """(chosen, not chosen) counts of Zero, and the number of trials without it."""
    rows = transfer[transfer["participant_id"] == pid]
    left, right = rows["symbol_L_name"] == "Zero", rows["symbol_R_name"] == "Zero"
    chosen = (left & (rows["choice_made"] == 0)) | (right & (rows["choice_made"] == 1))
    return int(chosen.sum()), int((left | right).sum() - chosen.sum()), int((~(left | right)).sum())


@pytest.mark.parametrize("model, overrides, other, novel", [
    # Q stays at 0; N is worth (1 - d) ν in transfer.
    ("QLearning+novel", dict(factual_lr=0.0, counterfactual_lr=0.0, temperature=.2, novel_value=.7),
     0.0, .7),
    ("QLearning+novel+decay", dict(factual_lr=0.0, counterfactual_lr=0.0, temperature=.05,
                                   novel_value=-.6, decay_factor=.15), 0.0, (1 - .15) * -.6),
    # W keeps its start [0.01, 0.01] (p = .5 in learning), which the first update's
    # L1 normalisation turns into [0.5, 0.5]; N is worth ν.
    ("ActorCritic+novel", dict(factual_actor_lr=0.0, counterfactual_actor_lr=0.0, temperature=.03,
                               novel_value=.4), 0.5, .4),
    # Hybrid: (1 - m) W + m Q with W = 0.5, Q = 0; N: (1 - m) ν + m (1 - d) ν.
    ("Hybrid2012+novel+decay", dict(factual_lr=0.0, counterfactual_lr=0.0, factual_actor_lr=0.0,
                                    counterfactual_actor_lr=0.0, temperature=.1, mixing_factor=.3,
                                    novel_value=.5, decay_factor=.1),
     .7 * .5, .7 * .5 + .3 * .9 * .5),
])
def test_zero_learning_rates_closed_form(model, overrides, other, novel, small):
    data, _, (_, transfer) = small
    params = start_parameters(model, **overrides)
    T = params["temperature"]
    learning, transfer_nll = kernel(model, data, [params] * 3, [0, 1, 2])
    expected = []
    for pid in data.participants:
        n_chosen, n_declined, n_other = novel_trials(transfer, pid)
        assert n_chosen > 0 and n_declined > 0
        expected.append(n_other * LOG2 + n_chosen * softplus((other - novel) / T)
                        + n_declined * softplus((novel - other) / T))
    labels = list(data.participants)
    assert_close(learning, data.n_learning * LOG2, 1e-12, labels, "learning")
    assert_close(transfer_nll, expected, 1e-12, labels, "transfer")
    # Tiny (not zero) learning rates: the same closed form, up to O(rate) terms.
    tiny = {k: (1e-12 if k.endswith("_lr") else v) for k, v in params.items()}
    learning, transfer_nll = kernel(model, data, [tiny] * 3, [0, 1, 2])
    assert_close(learning, data.n_learning * LOG2, 1e-9, labels, "learning, tiny rates")
    assert_close(transfer_nll, expected, 1e-9, labels, "transfer, tiny rates")


# ----------------------------------------------------------------------------
# Padding (unequal trial counts)


@pytest.mark.parametrize("model", ["QLearning+novel+decay", "Relative", "ActorCritic+bias+novel",
                                   "Hybrid2021+bias+novel+decay", "StandardHybrid2012+novel"])
def test_padding_equals_participant_alone(model, small_frames, kernel_path):
    learning, transfer = small_frames
    p2 = learning.index[learning["participant_id"] == "p2"]
    p3_punish2 = learning.index[(learning["participant_id"] == "p3")
                                & (learning["symbol_names"] == "Punish2")]
    learning = learning.drop(index=list(p2[[2, 9, 17, 22, 23]]) + list(p3_punish2))  # p3 never saw GH
    data = load_task_data(learning, transfer)
    assert data.padded and data.n_learning.tolist() == [24, 19, 18]
    rng = np.random.default_rng(11)
    params = random_parameters(model, rng, 3)
    together = np.array(kernel(model, data, params, [0, 1, 2]))
    sequences = spec_sequences(learning, transfer)
    for k, pid in enumerate(("p1", "p2", "p3")):
        alone_data = load_task_data(learning[learning["participant_id"] == pid],
                                    transfer[transfer["participant_id"] == pid])
        alone = np.array(kernel(model, alone_data, [params[k]], [0]))[:, 0]
        subset = np.array(kernel(model, data.subset([k]), [params[k]], [0]))[:, 0]
        expected = loop_nll(model, sequences[pid], params[k])
        labels = ["learning", "transfer"]
        assert_close(together[:, k], alone, 1e-12, labels, f"{pid} padded vs alone")
        assert_close(subset, alone, 1e-12, labels, f"{pid} subset vs alone")
        assert_close(alone, expected, 1e-12, labels, f"{pid} alone vs loop")


# ----------------------------------------------------------------------------
# Model names, options, parameters


@pytest.mark.parametrize("model", ["QLearning+bias", "Relative+bias+novel", "Advantage+decay+bias"])
def test_bias_refused_without_reward_transform(model):
    base = model.split("+")[0]
    with pytest.raises(ValueError, match=rf"{base}.*'bias'.*(ActorCritic|hybrid)"):
        make_variant(model)


@pytest.mark.parametrize("model", ["ActorCritic+decay", "ActorCritic+novel+decay",
                                   "ActorCritic+decay+bias"])
def test_actor_critic_decay_refused(model):
    with pytest.raises(ValueError, match=r"ActorCritic.*'decay'") as info:
        make_variant(model)
    message = str(info.value)
    assert "Q value" in message and ("no effect" in message or "unidentifiable" in message)


def test_unknown_base_lists_valid_bases():
    with pytest.raises(ValueError, match=r"QLeaming") as info:
        make_variant("QLeaming+novel")
    for base in BASE_PARAMETERS:
        assert base in str(info.value)


@pytest.mark.parametrize("model", ["QLearning+nvel", "Hybrid2012+bias+Novel", "Relative+"])
def test_unknown_option_lists_valid_options(model):
    with pytest.raises(ValueError, match=r"option") as info:
        make_variant(model)
    for option in ("bias", "novel", "decay"):
        assert option in str(info.value)


@pytest.mark.parametrize("base", ["Hybrid2012", "StandardHybrid2021", "QLearning"])
def test_option_order_does_not_matter(base):
    options = ["novel", "decay"] + (["bias"] if base in BIAS_BASES else [])
    variants = [make_variant("+".join([base, *perm])) for perm in itertools.permutations(options)]
    assert all(v == variants[0] for v in variants)
    assert len({v.name for v in variants}) == 1
    assert len({v.parameter_names for v in variants}) == 1


@pytest.mark.parametrize("base", list(BASE_PARAMETERS))
def test_parameters_bounds_and_start_values(base):
    all_options = ["bias", "novel", "decay"]
    if base not in BIAS_BASES:
        all_options.remove("bias")
    if base == "ActorCritic":
        all_options.remove("decay")
    for n in range(len(all_options) + 1):
        for options in itertools.combinations(all_options, n):
            model = "+".join([base, *reversed(options)])  # order in the name must not matter
            variant = make_variant(model)
            expected = BASE_PARAMETERS[base] + [OPTION_PARAMETERS[o] for o in all_options
                                                if o in options]
            got = [(p.name, p.low, p.high, p.init) for p in variant.parameters]
            assert got == expected, model
            assert variant.parameter_names == tuple(e[0] for e in expected)
            assert variant.n_parameters == len(expected)


def test_wrong_parameter_count_is_refused(small):
    data, _, _ = small
    variant = make_variant("QLearning+novel")
    with pytest.raises(ValueError, match=r"QLearning\+novel.*4 parameters.*novel_value"):
        negative_log_likelihood(variant, data, np.zeros((2, 3)), [0, 1])


# ----------------------------------------------------------------------------
# The compiled kernel: generated from the declarations, bit-identical to numpy


def both_kernels(monkeypatch, variant, data, params, owner):
    """(numpy, compiled) NLLs of the same rows; the compiled kernel is built at once."""
    monkeypatch.setattr(_compiled, "COMPILE_AFTER_ROWS", 0)
    monkeypatch.setattr(_compiled, "ENABLED", False)
    numpy_nll = np.array(negative_log_likelihood(variant, data, params, owner))
    monkeypatch.setattr(_compiled, "ENABLED", True)
    compiled_nll = np.array(negative_log_likelihood(variant, data, params, owner))
    return numpy_nll, compiled_nll


@pytest.mark.parametrize("model", VALID_MODELS)
def test_compiled_kernel_is_bit_identical(model, small_frames, monkeypatch):
    """Every built-in variant compiles, and gives the numpy kernel's NLLs bit for bit.

    On padded data, with rows whose actor weights cancel (restarted by the compiled
    kernel itself: the guarded numpy kernel redoes only NaN rows), and at extreme
    temperatures.
    """
    pytest.importorskip("numba")
    learning, transfer = small_frames
    learning = learning.drop(index=learning.index[learning["participant_id"] == "p2"][-5:])
    data = load_task_data(learning, transfer)
    variant = make_variant(model)
    rng = np.random.default_rng(zlib.crc32(model.encode()))
    dicts = random_parameters(model, rng, 40)
    for k, temperature in ((0, 1e-8), (1, 1e4)):
        dicts[k]["temperature"] = temperature
    if "ActorCritic" in model or "Hybrid" in model:
        dicts[2].update(factual_actor_lr=0.01, counterfactual_actor_lr=0.01, valence_factor=1.0)
    params = np.array([[p[n] for n in variant.parameter_names] for p in dicts])
    owner = np.arange(len(params)) % data.n_participants
    numpy_nll, compiled_nll = both_kernels(monkeypatch, variant, data, params, owner)
    assert _compiled._KERNELS[variant.base] is not None
    assert np.isfinite(numpy_nll).all()
    assert np.array_equal(compiled_nll, numpy_nll)
    if "ActorCritic" in model or "Hybrid" in model:
        # the cancelled row comes out of the compiled kernel finite, not from a redo
        monkeypatch.setattr(_likelihood, "_numpy_phases", None)
        alone = negative_log_likelihood(variant, data, params[2:3], owner[2:3])
        assert np.array_equal(np.array(alone)[:, 0], numpy_nll[:, 2])


class PairCoupledQ(_models.QLearning):
    """Breaks the declaration contract (pairs interact): traceable, but wrong when compiled."""

    name = "PairCoupledQ"

    def update(self, state, step, t, theta, scratch, guard=True):
        errors = super().update(state, step, t, theta, scratch, guard)
        state["q"] += 0.1 * state["q"].mean(axis=-1, keepdims=True)
        return errors


class SignedRateQ(_models.QLearning):
    """Picks its rate by the sign of the error (np.where on values): not traceable."""

    name = "SignedRateQ"

    def update(self, state, step, t, theta, scratch, guard=True):
        return {"pe": _models.delta_rule(state["q"], step["target"][t], step["lr"][t], scratch,
                                         negative_rates=0.5 * step["lr"][t])}


def perseveration_example():
    """The user-model example examples/custom_perseveration.py (state set by np.copyto)."""
    path = Path(__file__).resolve().parents[2] / "examples" / "custom_perseveration.py"
    spec = importlib.util.spec_from_file_location("custom_perseveration_for_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PerseverationQ


@pytest.mark.parametrize("model, compiled", [(PairCoupledQ, False), (SignedRateQ, False),
                                             (perseveration_example, True)])
def test_user_models_compile_or_keep_numpy(model, compiled, small, monkeypatch):
    """A user model compiles when it can; one that cannot be traced, or whose kernel
    disagrees with numpy, runs on numpy. Either way the NLLs are numpy's, bit for bit."""
    pytest.importorskip("numba")
    data, _, _ = small
    base = model() if isinstance(model, type) else model()()
    variant = _models.ModelVariant(base, novel=True)
    params = np.array([[0.3, 0.2, 0.1, 0.4, 0.1], [0.6, 0.1, 0.05, -0.2, -0.3]])
    params = params[:, :variant.n_parameters]
    numpy_nll, other_nll = both_kernels(monkeypatch, variant, data, params, [0, 2])
    assert (_compiled._KERNELS[variant.base] is not None) == compiled
    assert np.array_equal(other_nll, numpy_nll)


def start_parameters_array(model):
    variant = make_variant(model)
    start = start_parameters(model)
    return np.array([start[n] for n in variant.parameter_names])


def test_compiled_only_after_enough_rows(small, monkeypatch):
    """A small job never waits for the compiler; a large one is compiled once."""
    pytest.importorskip("numba")
    data, _, _ = small
    variant = make_variant("Relative+novel")
    monkeypatch.setattr(_compiled, "ENABLED", True)
    monkeypatch.setattr(_compiled, "COMPILE_AFTER_ROWS", 100)
    monkeypatch.setattr(_compiled, "_KERNELS", {})
    monkeypatch.setattr(_compiled, "_ROWS", _compiled.Counter())
    params = np.tile(start_parameters_array("Relative+novel"), (60, 1))
    owner = np.arange(60) % data.n_participants
    first = negative_log_likelihood(variant, data, params, owner)
    assert variant.base not in _compiled._KERNELS
    second = negative_log_likelihood(variant, data, params, owner)
    assert _compiled._KERNELS[variant.base] is not None
    assert np.array_equal(first, second)


def test_without_numba_the_numpy_kernel_runs(monkeypatch):
    """numba is optional: with it unimportable avoidrl imports and gives the same NLLs."""
    script = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from avoidrl import load_example\n"
        "from avoidrl._core import compiled as _compiled\n"
        "from avoidrl._core.data import load_task_data\n"
        "from avoidrl._core.likelihood import negative_log_likelihood\n"
        "from avoidrl.models._builtin import make_variant\n"
        "assert not _compiled.AVAILABLE and not _compiled.ENABLED\n"
        "_compiled.COMPILE_AFTER_ROWS = 0\n"
        "data = load_task_data(*load_example())\n"
        "nll = negative_log_likelihood(make_variant('Hybrid2012+novel'), data,\n"
        "                              np.tile([.4, .3, .2, .1, .5, .1, .6, 0.], (4, 1)), [0, 1, 2, 3])\n"
        "assert not _compiled._KERNELS and sys.modules['numba'] is None\n"
        "print(np.asarray(nll).tobytes().hex())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from avoidrl import load_example

    monkeypatch.setattr(_compiled, "ENABLED", _compiled.AVAILABLE)
    monkeypatch.setattr(_compiled, "COMPILE_AFTER_ROWS", 0)
    here = negative_log_likelihood(make_variant("Hybrid2012+novel"),
                                   load_task_data(*load_example()),
                                   np.tile([.4, .3, .2, .1, .5, .1, .6, 0.], (4, 1)), [0, 1, 2, 3])
    assert result.stdout.strip() == np.asarray(here).tobytes().hex()
