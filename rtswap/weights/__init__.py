"""Model files as data: model cards, ONNX and state-dict readers, hashes. Names no engine."""
