from headpose.pipelines.pseudolabel.pipeline import create_pipeline

__all__ = ["create_pipeline"]
