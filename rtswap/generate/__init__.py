"""Step 4, generate: align each face into the engine's crop, give it its source, run the engine."""
