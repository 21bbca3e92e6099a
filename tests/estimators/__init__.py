"""Maximum-likelihood estimators (avoidrl.estimators): fitted attributes, starts, checks."""
