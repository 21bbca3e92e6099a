"""Comparing models (avoidrl.model_selection): grid searches, cross-validation, group BMS."""
