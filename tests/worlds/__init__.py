"""Synthetic worlds with known effects, for the estimator's tests and benchmarks (not part of the product)."""
