"""Cost, utilisation and cold starts: FOCUS bills, OpenCost, Prometheus and the generic form (issue 14)."""
