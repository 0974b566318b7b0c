"""The real-time pipeline: threaded stages joined by rings."""

from rtswap.pipeline.pipeline import Pipeline, PipelineConfig, RunReport, StageError

__all__ = ["Pipeline", "PipelineConfig", "RunReport", "StageError"]
