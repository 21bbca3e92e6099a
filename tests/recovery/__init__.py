"""Parameter and model recovery (avoidrl.recovery)."""
