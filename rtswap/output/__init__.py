"""Step 6, output: sinks (preview window, virtual camera, video or image file, null), how to open
one by name (:mod:`.open`), the checks before any slow work (:mod:`.checks`), stats, and the
output step."""
