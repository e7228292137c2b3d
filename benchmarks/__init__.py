"""Benchmarks: figures for docs/performance.md, never pass/fail tests."""
