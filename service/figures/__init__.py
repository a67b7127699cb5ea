"""Figures: the catalogue and the per-domain reads and rules (DORA metrics, cost, work items, friction) and the
weekly rollups that join them. Built on ``service.core``; knows nothing of ingest, effects, digests or the app."""
