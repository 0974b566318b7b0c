"""Sources prepared ahead of time: views, the appearance map, the on-disk cache."""
