"""Training, evaluation and prediction."""

from cnnzoo.train.checkpoint import CheckpointError, load_checkpoint
from cnnzoo.train.config import RECIPES, TrainConfig, recipe_config
from cnnzoo.train.inference import evaluate_checkpoint, load_trained_model, predict_images
from cnnzoo.train.trainer import EvalResult, NonFiniteLossError, Trainer, evaluate, train

__all__ = [
    "RECIPES",
    "CheckpointError",
    "EvalResult",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "evaluate",
    "evaluate_checkpoint",
    "load_checkpoint",
    "load_trained_model",
    "predict_images",
    "recipe_config",
    "train",
]
