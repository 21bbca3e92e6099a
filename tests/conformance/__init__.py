"""Promises to users: sklearn conventions, public API, saved work, docs, README, examples."""
