"""Fixtures for docker (filled in by its owner)."""
