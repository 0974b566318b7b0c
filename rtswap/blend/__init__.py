"""Composite stage: masks, colour matching, multi-band blending and paste-back (all engines)."""
