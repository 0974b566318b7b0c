"""Step 1, capture: frame sources (webcam, camera device, video or image file, generated clip),
how to open one by name (:mod:`.open`), the checks before any slow work (:mod:`.checks`), and the
capture step."""
