"""The vitpose backend's checkpoints: transformers models and their image-processor settings.

The image-processor settings are read as data from the checkpoint's
preprocessor_config.json, so the backend can preprocess in numpy/torch/cv2 without the
transformers image processors (see the vitpose backend for why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dance.encoders import local_model_path

# Defaults of the transformers image processors, used when a checkpoint ships no
# preprocessor_config.json: RT-DETR resizes to 640x640 and rescales without
# normalising; ViTPose normalises with the ImageNet statistics.
DETECTOR_DEFAULTS: dict[str, Any] = {
    "size": {"height": 640, "width": 640},
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": False,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}
POSE_DEFAULTS: dict[str, Any] = {
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}
_PREPROCESSOR_FILE = "preprocessor_config.json"


def processor_settings(name: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's image-processor settings over `defaults` (local folder or hub id)."""
    settings: dict[str, Any] = {}
    name = local_model_path(name)  # an s3:// checkpoint: its local copy
    local = Path(name)
    if local.is_dir():
        path = local / _PREPROCESSOR_FILE
        if path.is_file():
            settings = json.loads(path.read_text())
    else:
        from transformers.image_processing_utils import ImageProcessingMixin

        try:
            settings, _ = ImageProcessingMixin.get_image_processor_dict(name)
        except OSError:
            settings = {}  # the hub checkpoint has no processor file: the defaults apply
    return {**defaults, **{key: settings[key] for key in defaults if key in settings}}


def scaling(settings: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray]:
    """(rescale factor, mean, std) turning uint8 pixels into model input."""
    scale = float(settings["rescale_factor"]) if settings["do_rescale"] else 1.0
    if settings["do_normalize"]:
        mean = np.asarray(settings["image_mean"], dtype=np.float32)
        std = np.asarray(settings["image_std"], dtype=np.float32)
    else:
        mean, std = np.zeros(3, dtype=np.float32), np.ones(3, dtype=np.float32)
    return scale, mean, std


def load_checkpoint(model_class: Any, name: str, field: str, device: torch.device) -> Any:
    """from_pretrained (safetensors only) in eval mode on `device`, with a clear error."""
    source = local_model_path(name)  # an s3:// checkpoint: its local copy
    local = Path(source).expanduser()
    if (local.is_absolute() or source.startswith(".")) and not local.is_dir():
        raise FileNotFoundError(
            f"no checkpoint folder at {name!r} (config pose.{field}); give a local "
            "save_pretrained folder holding config.json and model.safetensors, or a hub id"
        )
    try:
        model = model_class.from_pretrained(source, use_safetensors=True)
    except (OSError, ValueError) as exc:
        raise OSError(
            f"could not load {model_class.__name__} from {name!r} (config pose.{field}): {exc}; "
            "give a reachable hub id or a local save_pretrained folder with model.safetensors"
        ) from exc
    return model.to(device).eval()


def person_label(id2label: dict[int, str], name: str) -> int:
    """The class index whose label is "person" in the detector's id2label."""
    for index, label in id2label.items():
        if str(label).strip().lower() == "person":
            return int(index)
    raise ValueError(
        f"detector {name!r} has no 'person' class in its id2label ({dict(id2label)}); "
        "use a COCO-trained RT-DETR checkpoint"
    )
