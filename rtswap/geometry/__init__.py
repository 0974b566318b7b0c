"""Geometry of faces in frames and crops: templates and alignment, crops and paste-back, the
mesh's topology, rasterisation, head pose and shape."""
