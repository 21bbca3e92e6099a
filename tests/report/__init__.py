"""Tables, group statistics, figures and study folders (_tables, stats, plotting, report)."""
