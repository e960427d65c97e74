"""Measuring answers and speed: QA sets, SQuAD, metrics, benchmarks."""
