"""Random-effects Bayesian model selection: closed forms, a published example, validation."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats
from sklearn.exceptions import ConvergenceWarning

from avoidrl import QLearning, Relative, load_example
from avoidrl._bms import exceedance_probabilities
from avoidrl.model_selection import log_evidence_table, random_effects_bms


def evidence_frame(values, models=None, participants=None):
    values = np.asarray(values, dtype=float)
    models = models or [f"M{k + 1}" for k in range(values.shape[1])]
    participants = participants or [f"p{n + 1}" for n in range(values.shape[0])]
    return pd.DataFrame(values, index=pd.Index(participants, name="participant_id"),
                        columns=models)


def log_multivariate_beta(alpha):
    return special.gammaln(alpha).sum() - special.gammaln(np.sum(alpha))


# ------------------------------------------------------------- closed forms
def test_result_layout():
    rng = np.random.default_rng(0)
    L = evidence_frame(rng.normal(-50, 3, size=(5, 3)), models=["QL", "AC", "REL"])
    result = random_effects_bms(L)
    assert result.index.name == "model"
    assert result.index.tolist() == ["QL", "AC", "REL"]
    assert result.columns.tolist() == ["alpha", "expected_frequency", "exceedance_probability",
                                       "protected_exceedance_probability"]
    g = result.attrs["posterior_assignment"]
    assert g.index.equals(L.index) and g.columns.tolist() == ["QL", "AC", "REL"]
    np.testing.assert_allclose(g.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(result["alpha"], 1 + g.sum(axis=0).to_numpy(), atol=1e-9)
    np.testing.assert_allclose(result["expected_frequency"],
                               result["alpha"] / result["alpha"].sum())
    assert result.attrs["converged"] and result.attrs["n_iter"] >= 1
    assert 0 <= result.attrs["bor"] <= 1
    for column in result.columns[1:]:
        assert result[column].sum() == pytest.approx(1, abs=1e-8)


def test_two_models_exceedance_is_the_beta_tail():
    rng = np.random.default_rng(1)
    L = evidence_frame(rng.normal(-40, 2, size=(9, 2)))
    result = random_effects_bms(L)
    a1, a2 = result["alpha"]
    # r_1 ~ Beta(alpha_1, alpha_2) under the posterior
    assert result["exceedance_probability"].iloc[0] == pytest.approx(
        stats.beta.sf(0.5, a1, a2), abs=1e-6)
    assert result["exceedance_probability"].iloc[1] == pytest.approx(
        stats.beta.cdf(0.5, a1, a2), abs=1e-6)
    bor = result.attrs["bor"]
    np.testing.assert_allclose(result["protected_exceedance_probability"],
                               result["exceedance_probability"] * (1 - bor) + bor / 2)


@pytest.mark.parametrize("n_models", [2, 3])
def test_symmetric_evidence_gives_equal_alphas_and_the_analytic_bor(n_models):
    # Every model has the same evidence within each participant (shifts differ
    # between participants). Then g = 1/K, alpha_k = 1 + N/K, and the free
    # energies reduce to F1 - F0 = N log K + log B(alpha) - log B(alpha0),
    # so BOR = 1 / (1 + K^N B(alpha) / B(alpha0)).
    n = 8
    shifts = np.random.default_rng(2).normal(-30, 5, size=n)
    L = evidence_frame(np.repeat(shifts[:, None], n_models, axis=1))
    result = random_effects_bms(L)
    a = 1 + n / n_models
    np.testing.assert_allclose(result["alpha"], a, rtol=1e-12)
    np.testing.assert_allclose(result["exceedance_probability"], 1 / n_models, atol=1e-9)
    np.testing.assert_allclose(result.attrs["posterior_assignment"], 1 / n_models)
    log_ratio = n * np.log(n_models) + log_multivariate_beta(np.full(n_models, a)) \
        - log_multivariate_beta(np.ones(n_models))
    assert result.attrs["bor"] == pytest.approx(1 / (1 + np.exp(log_ratio)), rel=1e-10)
    assert result.attrs["null_free_energy"] == pytest.approx(shifts.sum(), rel=1e-12)
    np.testing.assert_allclose(result["protected_exceedance_probability"], 1 / n_models,
                               atol=1e-9)


@pytest.mark.parametrize("alpha0", [1.0, 0.5, [2.0, 1.0, 0.25]])
def test_one_overwhelming_participant_counts_once(alpha0):
    L = evidence_frame([[0.0, -1000.0, -800.0]])
    result = random_effects_bms(L, alpha0=alpha0)
    np.testing.assert_allclose(result.attrs["posterior_assignment"].to_numpy(), [[1, 0, 0]],
                               atol=1e-300)
    np.testing.assert_allclose(result["alpha"], np.broadcast_to(alpha0, 3) + [1, 0, 0])


def test_free_energy_bounds_the_exact_log_evidence():
    # For few participants the RFX evidence is a finite sum over all K^N
    # assignments c: p(y) = sum_c exp(sum_n L[n, c_n]) B(alpha0 + counts(c)) / B(alpha0).
    # The variational free energy must not exceed it, and is close to it.
    rng = np.random.default_rng(3)
    values = rng.normal(-20, 1.5, size=(4, 3))
    alpha0 = np.array([1.0, 2.0, 0.5])
    terms = []
    for assignment in itertools.product(range(3), repeat=4):
        counts = np.bincount(assignment, minlength=3)
        terms.append(values[np.arange(4), assignment].sum()
                     + log_multivariate_beta(alpha0 + counts) - log_multivariate_beta(alpha0))
    exact = special.logsumexp(terms)
    result = random_effects_bms(evidence_frame(values), alpha0=alpha0)
    assert result.attrs["free_energy"] <= exact + 1e-10
    assert result.attrs["free_energy"] > exact - 0.5
    # the null model's evidence is exact: each participant's mean evidence over models
    null = special.logsumexp(values, axis=1).sum() - 4 * np.log(3)
    assert result.attrs["null_free_energy"] == pytest.approx(null, rel=1e-12)


@pytest.mark.parametrize("n_models", [2, 3])
def test_everyone_favouring_one_model(n_models):
    n = 20
    values = np.zeros((n, n_models))
    values[:, 0] = 10.0
    result = random_effects_bms(evidence_frame(values))
    assert result["expected_frequency"].iloc[0] == pytest.approx((n + 1) / (n + n_models),
                                                                 abs=1e-4)
    assert result["exceedance_probability"].iloc[0] == pytest.approx(1, abs=1e-6)
    # With g one-hot (up to ~1e-6), F1 = 10 N + log B(alpha) / B(alpha0) and
    # F0 = N log((e^10 + K - 1) / K): BOR is about 2e-5 for K = 2, 7e-8 for K = 3.
    alpha = np.ones(n_models)
    alpha[0] += n
    f1_minus_f0 = 10 * n + log_multivariate_beta(alpha) - log_multivariate_beta(
        np.ones(n_models)) - n * np.log((np.exp(10) + n_models - 1) / n_models)
    bor = result.attrs["bor"]
    assert bor == pytest.approx(1 / (1 + np.exp(f1_minus_f0)), rel=1e-3)
    assert bor < 1e-4
    xp = result["exceedance_probability"].iloc[0]
    pxp = result["protected_exceedance_probability"].iloc[0]
    assert pxp == pytest.approx(xp * (1 - bor) + bor / n_models, abs=1e-12)
    assert pxp == pytest.approx(1, abs=1e-4)


# ----------------------------------------------------- exceedance probabilities
@pytest.mark.parametrize("alpha", [(3.2, 4.1, 5.7), (1.5, 12.0, 11.0), (0.6, 0.9, 2.4)])
def test_three_model_exceedance_agrees_with_monte_carlo(alpha):
    alpha = np.array(alpha)
    xp, error = exceedance_probabilities(alpha)
    assert xp.sum() == pytest.approx(1, abs=1e-8)
    assert np.all(error < 1e-8)
    n = 2_000_000
    draws = np.random.default_rng(20240601).dirichlet(alpha, size=n)
    mc = np.bincount(draws.argmax(axis=1), minlength=3) / n
    se = np.sqrt(mc * (1 - mc) / n)
    assert np.all(np.abs(xp - mc) <= 4 * se), (xp, mc, se)


def test_exceedance_integral_is_accurate_for_small_and_large_alphas():
    # a small-alpha model whose xp lies in its far upper tail (~1e-7)
    rng = np.random.default_rng(4)
    for alpha in ([12.5, 11.6, 13.7, 8.6, 4.7, 0.34, 12.1, 4.5, 0.15, 7.5],
                  [1000.0, 1010.0, 990.0, 1005.0], [0.05, 0.1, 0.2], rng.uniform(0.1, 300, 12)):
        xp, error = exceedance_probabilities(alpha)
        assert xp.sum() == pytest.approx(1, abs=1e-8)
        assert np.all((xp >= 0) & (xp <= 1 + 1e-12))


def test_sampled_exceedance_reports_its_standard_error():
    L = evidence_frame(np.random.default_rng(5).normal(-30, 2, size=(10, 3)))
    exact = random_effects_bms(L)
    sampled = random_effects_bms(L, n_samples=200_000, random_state=0)
    se = sampled.attrs["exceedance_error"]
    xp = sampled["exceedance_probability"]
    np.testing.assert_allclose(se, np.sqrt(xp * (1 - xp) / 200_000))
    assert np.all(np.abs(xp - exact["exceedance_probability"]) <= 4 * se + 1e-12)
    again = random_effects_bms(L, n_samples=200_000, random_state=0)
    pd.testing.assert_frame_equal(sampled, again)


# ----------------------------------------------------------- worked example
#: Akaike weights of 12 participants x 6 models (each row sums to 1), from the
#: README of the R package bmsR (github.com/mattelisi/bmsR, commit a438786,
#: "Here is an example"), given there column by column as an R matrix.
BMSR_WEIGHTS = np.array([
    2.50809867187394e-22, 0.000146611855314775, 4.58668624689671e-25, 4.10535400464176e-07,
    0.0686634208305935, 0.0367833971579169, 0.000110346493359948, 1.68129802885811e-08,
    0.108275519613786, 3.9578164134093e-11, 0.0367837099909541, 1.08999881504e-07,
    0.0343412062159018, 0.00446326510403562, 0.00172330666747482, 0.000990826155243488,
    0.158393579220946, 0.0295386936257688, 0.00012552265085804, 0.0272190104668559,
    0.0530936016907313, 2.07255371227757e-10, 0.0214823528123676, 4.73437495302293e-05,
    0.677938621542126, 5.20954432898137e-08, 0.000627393517771912, 0.000388486329012404,
    3.17565869877651e-18, 0.191176500286399, 3.83899865682068e-07, 0.0619217494201652,
    0.559188952807853, 5.06676447796227e-09, 0.0418921682773635, 0.702014475355336,
    0.249399681241455, 0.862817395918837, 0.864775715064725, 0.865617369930796,
    0.147322698727657, 0.643610120435765, 0.866608545004982, 0.789544918511435,
    0.207285291019464, 0.866813333179825, 0.779961587662899, 0.258256692887969,
    0.0337525764999333, 0.116769634805204, 0.117034665657295, 0.11714857188609,
    0.497854787795748, 0.0871031579431148, 0.117282712780637, 0.106853285174707,
    0.0635553531488496, 0.117310426702891, 0.105556322380037, 0.0349512426797482,
    0.00456791450058339, 0.0158030402211649, 0.0158389190927326, 0.0158543351634575,
    0.127765513425055, 0.0117881305510349, 0.0158724891702976, 0.0144610196138568,
    0.00860128171931599, 0.0158762348036855, 0.0143238588763795, 0.00473013632753477,
]).reshape(6, 12).T
BMSR_ALPHA = [1.043623, 1.064976, 1.720754, 11.835847, 1.290641, 1.044160]
BMSR_R = [0.05797903, 0.05916533, 0.09559743, 0.65754706, 0.07170226, 0.05800889]
BMSR_XP = [0.000279, 0.000319, 0.001173, 0.997441, 0.000514, 0.000274]
BMSR_BOR = 0.002890379
BMSR_PXP = [0.0007599235, 0.0007998079, 0.0016513395, 0.9950397470, 0.0009942442,
            0.0007549379]


def test_published_worked_example_of_bmsr():
    """The worked example in the README of bmsR (github.com/mattelisi/bmsR, commit a438786).

    Inputs: the 12 x 6 Akaike weights printed there, logged (``m <- log(m)``);
    outputs: ``VB_bms(m)``'s printed alpha, r, xp, bor and pxp. bmsR (a
    translation of SPM12's spm_BMS) stops when the norm of the change of
    alpha falls below 1e-3, so its alphas are checked to 1e-3; it samples
    exceedance probabilities from 1e6 Dirichlet draws, so xp and pxp are
    checked within 4 Monte Carlo standard errors; the BOR it prints (7
    significant digits) is matched to them.
    """
    assert np.allclose(BMSR_WEIGHTS.sum(axis=1), 1)
    result = random_effects_bms(evidence_frame(np.log(BMSR_WEIGHTS)))
    np.testing.assert_allclose(result["alpha"], BMSR_ALPHA, atol=1e-3)
    np.testing.assert_allclose(result["expected_frequency"], BMSR_R, atol=1e-4)
    assert result.attrs["bor"] == pytest.approx(BMSR_BOR, rel=1e-6)
    n = 1_000_000
    # at bmsR's own alphas, so only its sampling error separates the two
    xp, _ = exceedance_probabilities(BMSR_ALPHA)
    se = np.sqrt(xp * (1 - xp) / n)
    assert np.all(np.abs(xp - BMSR_XP) <= 4 * se), (xp, BMSR_XP)
    pxp = xp * (1 - BMSR_BOR) + BMSR_BOR / 6
    assert np.all(np.abs(pxp - BMSR_PXP) <= 4 * se * (1 - BMSR_BOR)), (pxp, BMSR_PXP)
    assert np.all(np.abs(result["exceedance_probability"] - BMSR_XP) <= 4 * se)


# ---------------------------------------------------------------- validation
def test_non_finite_evidence_names_the_participant_and_model():
    L = evidence_frame([[-1.0, -2.0], [-3.0, np.nan], [-1.0, -1.0]], models=["QL", "REL"])
    with pytest.raises(ValueError, match=r"participant 'p2' / model 'REL' = nan"):
        random_effects_bms(L)
    L.iloc[1, 1] = -np.inf
    with pytest.raises(ValueError, match=r"'p2' / model 'REL' = -inf"):
        random_effects_bms(L)


def test_shape_and_type_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least 2 models"):
        random_effects_bms(evidence_frame([[-1.0], [-2.0]]))
    with pytest.raises(ValueError, match="no participants"):
        random_effects_bms(pd.DataFrame(columns=["A", "B"], dtype=float))
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        random_effects_bms(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"duplicate model names.*'A'"):
        random_effects_bms(evidence_frame(np.zeros((3, 3)), models=["A", "B", "A"]))
    with pytest.raises(ValueError, match=r"duplicate participants.*'p1'"):
        random_effects_bms(evidence_frame(np.zeros((2, 2)), participants=["p1", "p1"]))
    with pytest.raises(ValueError, match="must hold numbers"):
        random_effects_bms(pd.DataFrame({"A": ["x", "y"], "B": [1.0, 2.0]}))
    L = evidence_frame(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="alpha0"):
        random_effects_bms(L, alpha0=[1.0, 0.0])
    with pytest.raises(ValueError, match="alpha0"):
        random_effects_bms(L, alpha0=[1.0, 1.0, 1.0])
    for kwargs in ({"tol": 0}, {"max_iter": 0}, {"max_iter": 2.5}, {"n_samples": -1}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            random_effects_bms(L, **kwargs)


def test_too_few_iterations_warn():
    L = evidence_frame(np.random.default_rng(6).normal(-20, 3, size=(6, 2)))
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        result = random_effects_bms(L, max_iter=1)
    assert not result.attrs["converged"] and result.attrs["n_iter"] == 1
    # By hand, one update from alpha0 = 1: psi(alpha_k) - psi(sum alpha) is the
    # same for every model, so g is the softmax of the evidence alone.
    g = np.exp(L.to_numpy() - special.logsumexp(L.to_numpy(), axis=1, keepdims=True))
    np.testing.assert_allclose(result["alpha"], 1 + g.sum(axis=0), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert random_effects_bms(L).attrs["converged"]


# --------------------------------------------------------- log_evidence_table
@pytest.fixture(scope="module")
def fitted():
    learning, transfer = load_example()
    keep = pd.unique(learning["participant_id"])[:4]
    learning = learning[learning["participant_id"].isin(keep)]
    transfer = transfer[transfer["participant_id"].isin(keep)]
    return (QLearning(n_starts=2, random_state=0).fit(learning, transfer),
            Relative(n_starts=2, random_state=0).fit(learning, transfer))


class _WithEvidence:
    """Stands in for a fitted hierarchical estimator: params_ and log_evidence_ only."""

    model_name = "Hierarchical"

    def __init__(self, evidence):
        self.log_evidence_ = evidence
        self.params_ = pd.DataFrame(index=evidence.index)


def test_log_evidence_table_is_minus_half_the_criterion(fitted):
    q, r = fitted
    table = log_evidence_table([q, r])
    assert table.index.name == "participant_id" and table.columns.name == "model"
    assert table.columns.tolist() == [q.model_name, r.model_name]
    assert table.index.tolist() == q.bic_.index.tolist()
    for name, estimator in zip(table.columns, (q, r)):
        for pid in table.index:
            assert table.loc[pid, name] == -estimator.bic_[pid] / 2
    aic = log_evidence_table({"q": q, "r": r}, criterion="AIC")
    pd.testing.assert_series_equal(aic["r"], -r.aic_ / 2, check_names=False)
    result = random_effects_bms(table)
    assert result.index.tolist() == [q.model_name, r.model_name]


def test_log_evidence_table_matches_participants_by_id(fitted):
    q, _ = fitted
    ids = q.bic_.index
    # the other model lists the same participants in reverse order
    other = _WithEvidence(pd.Series(np.arange(len(ids), dtype=float), index=ids[::-1]))
    table = log_evidence_table([q, other])
    assert table.index.tolist() == ids.tolist()
    for pid in ids:
        assert table.loc[pid, "Hierarchical"] == other.log_evidence_[pid]
        assert table.loc[pid, q.model_name] == -q.bic_[pid] / 2


def test_log_evidence_table_names_missing_participants(fitted):
    q, r = fitted
    ids = q.bic_.index
    fewer = _WithEvidence(pd.Series([-1.0, -2.0], index=ids[:2]))
    with pytest.raises(ValueError, match=rf"'Hierarchical' lacks \['{ids[2]}', '{ids[3]}'\]"):
        log_evidence_table([q, fewer])
    extra = _WithEvidence(pd.Series(-1.0, index=list(ids) + ["sub-999"]))
    with pytest.raises(ValueError, match=rf"{q.model_name!r} lacks \['sub-999'\]"):
        log_evidence_table({q.model_name: q, "H": extra})


def test_log_evidence_table_refuses_duplicates_and_bad_criteria(fitted):
    q, r = fitted
    with pytest.raises(ValueError, match="given twice"):
        log_evidence_table([q, q])
    with pytest.raises(ValueError, match="criterion"):
        log_evidence_table([q, r], criterion="waic")
    with pytest.raises(ValueError, match="not fitted"):
        log_evidence_table([q, QLearning(novel=True)])
