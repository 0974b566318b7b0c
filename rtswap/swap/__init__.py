"""Swap engines: per-face work in an aligned crop."""
