from headpose.pipelines.profile.pipeline import create_pipeline

__all__ = ["create_pipeline"]
