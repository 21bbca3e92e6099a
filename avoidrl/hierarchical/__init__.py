"""Hierarchical (empirical-Bayes) fitting: population priors, intervals and evidence."""

from ._empirical_bayes import EmpiricalBayes

__all__ = ["EmpiricalBayes"]
