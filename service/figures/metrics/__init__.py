"""Metrics: SQL reads into DataFrames (``service.py``) and pure DataFrame → DataFrame rules (``compute.py``)."""
