"""Checkpoint converters; each module runs as a script."""
