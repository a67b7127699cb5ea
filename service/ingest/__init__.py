"""Ingest: the durable inbox, applying canonical records to the tables, the spool, cost imports and rebuilds.
Built on ``service.figures`` and ``service.core``."""
