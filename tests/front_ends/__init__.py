"""The front ends: the avoidrl command, Pipeline, progress bars and listeners."""
