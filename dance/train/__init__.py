"""Training and evaluating DANCE models (docs/method.md section 6): plain functions, no Ray.

    join_training_table     backbone features + concept labels, joined by video_id, checked
    fit_model               concept layers (Eq. 4, Eq. 5), cuts, standardisation, Eq. 6
    fit_proximal, fit_saga  the sparse final layer: FISTA (data-parallel) or GLM-SAGA
    DanceModel              the trained bundle: save_pretrained / from_pretrained
    split_metrics           top-1, top-5, per-class accuracy, confusion matrix

Every function takes a `Collective` for sums over data-parallel workers; the default is
one process. `ray_jobs.train` runs `fit_model` on Ray Train workers.
"""

from dance.train._assemble import TrainReport, bundle_from_progress, probe_labels
from dance.train._collective import Collective, TorchDistributedCollective, local_or_distributed
from dance.train._concept_layers import (
    LanguageData,
    LayerSettings,
    LayerState,
    MotionData,
    fit_language_layer,
    fit_motion_layer,
    new_concept_layer,
    validation_similarity,
)
from dance.train._cuts import CutResult, DroppedConcept, clip_cut, interpretability_cut
from dance.train._data import (
    TRAINING_SCHEMA,
    JoinCounts,
    TrainingArrays,
    TrainingDataError,
    check_validation_rows,
    feature_matrix,
    join_on_video_id,
    join_training_table,
    training_arrays,
    validation_split,
    worker_rows,
)
from dance.train._elastic_net import ElasticNet, SolverResult, elastic_net_penalty, kkt_residual
from dance.train._elastic_net import objective as elastic_net_objective
from dance.train._elastic_net import summarise as summarise_solution
from dance.train._fista import fit_proximal
from dance.train._fit import EmptyConceptTypeError, TrainProgress, TypeResult, fit_model
from dance.train._losses import cos3_loss, cos3_similarity, motion_loss
from dance.train._metrics import most_confused, split_metrics
from dance.train._model import PREDICTIONS_SCHEMA, DanceModel, Predictions
from dance.train._model_io import BundleError
from dance.train._saga import fit_saga
from dance.train._standardize import Standardizer
from dance.train._sweep import PathPoint, format_path, lambda_path, path_segments, pick_lambda

__all__ = [
    "PREDICTIONS_SCHEMA",
    "TRAINING_SCHEMA",
    "BundleError",
    "Collective",
    "CutResult",
    "DanceModel",
    "DroppedConcept",
    "ElasticNet",
    "EmptyConceptTypeError",
    "JoinCounts",
    "LanguageData",
    "LayerSettings",
    "LayerState",
    "MotionData",
    "PathPoint",
    "Predictions",
    "SolverResult",
    "Standardizer",
    "TorchDistributedCollective",
    "TrainProgress",
    "TrainReport",
    "TrainingArrays",
    "TrainingDataError",
    "TypeResult",
    "bundle_from_progress",
    "check_validation_rows",
    "clip_cut",
    "cos3_loss",
    "cos3_similarity",
    "elastic_net_objective",
    "elastic_net_penalty",
    "feature_matrix",
    "fit_language_layer",
    "fit_model",
    "fit_motion_layer",
    "fit_proximal",
    "fit_saga",
    "format_path",
    "interpretability_cut",
    "join_on_video_id",
    "join_training_table",
    "kkt_residual",
    "lambda_path",
    "local_or_distributed",
    "most_confused",
    "motion_loss",
    "new_concept_layer",
    "path_segments",
    "pick_lambda",
    "probe_labels",
    "split_metrics",
    "summarise_solution",
    "training_arrays",
    "validation_similarity",
    "validation_split",
    "worker_rows",
]
