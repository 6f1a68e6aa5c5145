"""Benchmarks of ours against mmpose; each module runs as a script."""
