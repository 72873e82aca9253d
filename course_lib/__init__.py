"""Helpers that the course notebooks import."""
