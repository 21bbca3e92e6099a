"""Empirical-Bayes fitting (avoidrl.hierarchical) and the intervals of maximum-likelihood fits."""
