from headpose.pipelines.distill.pipeline import create_pipeline

__all__ = ["create_pipeline"]
