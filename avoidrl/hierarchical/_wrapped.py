"""What a hierarchical fit says of the model it wraps: one mixin for both methods.

:class:`~avoidrl.hierarchical.EmpiricalBayes` and
:class:`~avoidrl.hierarchical.HierarchicalBayes` both fit an avoidrl model
estimator (``self.estimator``) to a population. Code that generates data from a
model or reads its declaration (recoveries, reports, the front ends) treats
such a fit like the model it wraps, through the members here.
"""

from __future__ import annotations

from ..estimators._base import RLModelBase


class WrappedModel:
    """Members of a meta-estimator whose ``estimator`` is an avoidrl model estimator."""

    @classmethod
    def from_model(cls, estimator, random_state=None, n_jobs=None, **settings):
        """The method's fit of a model estimator (``settings``: the method's own), checked."""
        fitter = cls(estimator, random_state=random_state, n_jobs=n_jobs, **settings)
        fitter._settings()
        return fitter

    @property
    def model_name(self) -> str:
        """The fitted model's reference-style name (e.g. ``Hybrid2012+novel``)."""
        return self.estimator.model_name

    @property
    def parameter_names(self) -> list[str]:
        """Free parameter names of the fitted model, in the reference's order."""
        return self.estimator.parameter_names

    @property
    def bounds_(self) -> dict:
        """The bounds of the fit, ``{parameter: (low, high)}`` (the wrapped model's)."""
        if not hasattr(self, "params_"):
            raise AttributeError("bounds_ exists once the model is fitted")
        return self.estimator._fit_settings().bounds

    @property
    def simulator(self) -> RLModelBase:
        """The estimator that simulates and replays this fit: the wrapped model."""
        return self.estimator

    def sample_model(self) -> RLModelBase:
        """The wrapped model estimator (what simulates data)."""
        return self.estimator

    def _variant(self):
        return self.estimator._variant()

    def _fit_settings(self):
        return self.estimator._fit_settings()

    def _check_estimator(self):
        """The wrapped model's settings, after checking that it is an avoidrl model."""
        if not isinstance(self.estimator, RLModelBase):
            raise ValueError("estimator must be an avoidrl model estimator such as "
                             f"QLearning(novel=True), got {self.estimator!r}")
        return self.estimator._fit_settings()
