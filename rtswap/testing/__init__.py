"""Inputs for tests and benchmarks: drawn occluders and small model replicas. Never imported by
the product."""
