"""Independent computations: results checked against code that shares nothing with avoidrl."""
