"""Friction reports: the taxonomy, the categoriser, and triage."""
