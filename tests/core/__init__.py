"""Numbers only (avoidrl._core): data contract, likelihood kernel, optimizer, compiled kernels."""
