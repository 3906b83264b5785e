"""Training, evaluation and prediction."""

from cnnzoo.errors import NonFiniteLossError
from cnnzoo.train.checkpoint import CheckpointError, load_checkpoint
from cnnzoo.train.config import TrainConfig
from cnnzoo.train.evaluation import EvalResult, evaluate
from cnnzoo.train.inference import evaluate_checkpoint, load_trained_model, predict_images
from cnnzoo.train.recipes import RECIPES, explain_recipe, network_traits, recipe_config
from cnnzoo.train.trainer import Trainer, train

__all__ = [
    "RECIPES",
    "CheckpointError",
    "EvalResult",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "evaluate",
    "evaluate_checkpoint",
    "explain_recipe",
    "load_checkpoint",
    "load_trained_model",
    "network_traits",
    "predict_images",
    "recipe_config",
    "train",
]
