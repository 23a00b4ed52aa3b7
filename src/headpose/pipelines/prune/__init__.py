from headpose.pipelines.prune.pipeline import create_pipeline

__all__ = ["create_pipeline"]
