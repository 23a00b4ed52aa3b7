from headpose.pipelines.build.pipeline import create_pipeline

__all__ = ["create_pipeline"]
