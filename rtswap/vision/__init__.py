"""Face geometry: detection, landmarks, alignment, head pose."""
