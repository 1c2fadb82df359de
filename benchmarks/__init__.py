"""Benchmarks: `.venv/bin/python -m benchmarks.run` measures the pipeline against its limits (docs/benchmarks.md)."""
