"""Benchmarks and the synthetic corpora they (and the unit tests) use."""
