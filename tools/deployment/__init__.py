"""Deployment tools; each module runs as a script."""
