"""Hierarchical fitting: empirical Bayes (population priors, intervals and evidence) and full
hierarchical Bayes (posterior draws by Metropolis-within-Gibbs)."""

# empirical Bayes first: the fit-method registry keeps the order of registration
from ._empirical_bayes import EmpiricalBayes  # isort: skip
from ._bayes import HierarchicalBayes  # isort: skip

__all__ = ["EmpiricalBayes", "HierarchicalBayes"]
