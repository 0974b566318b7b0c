"""Step 2, detect: face detector and face-mesh backends (mediapipe's CPU graphs, their PyTorch
ports), the hand finder, and the detect step."""
