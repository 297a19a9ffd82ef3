"""Benchmarks (DESIGN.md §3): they measure and write results; they never assert timings."""
