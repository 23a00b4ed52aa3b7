"""MLflow models-from-code entry point: the served model is defined by this file, not a pickle.

``log_pyfunc_model`` logs this file as ``python_model``; MLflow runs it at load time.
"""

import mlflow

from headpose.deploy.pyfunc import HeadposeOnnxModel

mlflow.models.set_model(HeadposeOnnxModel())
