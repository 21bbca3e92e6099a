"""Hierarchical fitting: empirical Bayes (population priors, intervals and evidence) and full
hierarchical Bayes (posterior draws by Metropolis-within-Gibbs)."""

from ._bayes import HierarchicalBayes
from ._empirical_bayes import EmpiricalBayes

__all__ = ["EmpiricalBayes", "HierarchicalBayes"]
