from headpose.pipelines.quantize.pipeline import create_pipeline

__all__ = ["create_pipeline"]
