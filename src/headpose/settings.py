"""Kedro project settings. kedro-mlflow's hooks register themselves through their entry point."""

import os

from kedro.config import OmegaConfigLoader


def _env(name: str, default: str | None = None) -> str | None:
    """``${env:NAME,default}`` in any config file: lets MLFLOW_TRACKING_URI etc. override defaults."""
    return os.environ.get(name, default)


CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"env": _env},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**"]},
    # conf/<env> overrides single keys (e.g. train.epochs) instead of replacing whole sections
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}

from headpose.hooks import KilledRunCleanup, TypedParamsContext  # noqa: E402

CONTEXT_CLASS = TypedParamsContext  # parameters come out typed, each block parsed once (headpose.parameters)
HOOKS = (KilledRunCleanup(),)
