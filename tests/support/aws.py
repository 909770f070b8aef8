"""Fixtures for aws (filled in by its owner)."""
