from headpose.pipelines.distill_baseline.pipeline import create_pipeline

__all__ = ["create_pipeline"]
