"""Step 3, track: the face tracker, landmark smoothing, and the track step."""
