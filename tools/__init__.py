"""Scripts of the repository: training, testing, benchmarks, converters."""
