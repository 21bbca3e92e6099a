"""Model declarations (avoidrl.models): built-in and user-declared models."""
