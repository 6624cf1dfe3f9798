"""Loading an mmpose model safely: the config read as data, the weights without pickle.

Configs are JSON or YAML (never executed); checkpoints are safetensors or a plain state
dict loaded with `torch.load(weights_only=True)`. mmpose and mmengine are imported inside
the functions, so importing this module needs neither.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from dance.pose.skeleton import NUM_COCO17_JOINTS

CONFIG_FILES = ("mmpose_config.json", "mmpose_config.yaml", "mmpose_config.yml")
CHECKPOINT_FILES = ("model.safetensors", "model.pth")
_CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
_COCO_META_FILE = "configs/_base_/datasets/coco.py"  # inside the mmpose package


def load_model_config(source: str | Path | Mapping[str, Any]) -> Any:
    """An mmengine Config from a JSON/YAML file or a mapping; the file is never executed."""
    from mmengine.config import Config

    if isinstance(source, Config):
        return Config(source.to_dict())
    if isinstance(source, Mapping):
        return Config(dict(source))
    path = Path(source)
    if path.suffix not in _CONFIG_SUFFIXES:
        raise ValueError(
            f"mmpose config {str(path)!r} must be JSON or YAML (read as data, never executed); "
            "convert a trusted Python config once with "
            "`mmengine.Config.fromfile(PATH).dump('mmpose_config.json')`"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no mmpose config file at {str(path)!r}")
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict) or "model" not in data:
        raise ValueError(f"mmpose config {str(path)!r} must be a mapping with a 'model' section")
    return Config(data)


def load_state_dict(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file, or of a .pth/.pt plain state dict (weights only)."""
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"no mmpose checkpoint file at {str(path)!r}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    if path.suffix not in (".pth", ".pt"):
        raise ValueError(
            f"mmpose checkpoint {str(path)!r} must be .safetensors or a .pth/.pt state dict"
        )
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError subclasses and RuntimeError
        raise ValueError(
            f"mmpose checkpoint {str(path)!r} is not loadable with weights_only=True ({exc}); "
            "re-save it as a plain state dict: torch.save(ckpt['state_dict'], path)"
        ) from exc
    # OpenMMLab checkpoints nest the weights under 'state_dict' beside 'meta'.
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise ValueError(
            f"mmpose checkpoint {str(path)!r} holds no tensor state dict (name -> tensor)"
        )
    return state


def _dataset_meta(config: Any) -> dict[str, Any]:
    """Keypoint metadata of the config's train/test dataset, else COCO-17 (as init_model).

    Re-implemented because importing mmpose.apis imports its visualiser, which needs
    torchvision, and torchvision does not work on our CPU machines (docs/environment.md).
    """
    import mmpose.datasets  # noqa: F401  fills the DATASETS registry
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS

    for split in ("train_dataloader", "test_dataloader"):
        dataset = config.get(split, {}).get("dataset")
        if not dataset:
            continue
        if "metainfo" in dataset:
            return parse_pose_metainfo(dict(dataset["metainfo"]))
        dataset_class = DATASETS.get(dataset.get("type"))
        if dataset_class is not None:
            return parse_pose_metainfo(dict(dataset_class.METAINFO))
    return parse_pose_metainfo({"from_file": _COCO_META_FILE})


def build_model(config: Any, checkpoint: str | Path, device: torch.device) -> Any:
    """Build the pose estimator of `config`, load `checkpoint` strictly, in eval mode."""
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmpose.models.builder import build_pose_estimator

    import dance.pose._mmpose_vit  # noqa: F401  registers DancePlainViT for the config

    # As mmpose's init_model: no pretrained-backbone download, no training settings.
    if "init_cfg" in config.model.get("backbone", {}):
        config.model.backbone.init_cfg = None
    config.model.train_cfg = None
    init_default_scope(config.get("default_scope", "mmpose"))
    model = revert_sync_batchnorm(build_pose_estimator(config.model))
    state = load_state_dict(checkpoint)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {str(checkpoint)!r} does not fit the config's model: missing "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected "
            f"{unexpected[:5]}{'...' if len(unexpected) > 5 else ''}; use the config the "
            "checkpoint was trained with"
        )
    model.dataset_meta = _dataset_meta(config)
    if int(model.dataset_meta["num_keypoints"]) != NUM_COCO17_JOINTS:
        raise ValueError(
            f"the mmpose model predicts {model.dataset_meta['num_keypoints']} keypoints; "
            f"a COCO-17 top-down model ({NUM_COCO17_JOINTS} keypoints) is needed"
        )
    model.cfg = config
    return model.to(device).eval()


def region_pipeline(config: Any) -> tuple[Any, tuple[int, int]]:
    """The config's test pipeline with box padding 1.0, and its (width, height) input size."""
    from mmengine.dataset import Compose

    try:
        steps = [dict(step) for step in config.test_dataloader.dataset.pipeline]
    except AttributeError as exc:
        raise ValueError(
            "the mmpose config has no test_dataloader.dataset.pipeline; a top-down config "
            "(LoadImage, GetBBoxCenterScale, TopdownAffine, PackPoseInputs) is needed"
        ) from exc
    types = [step.get("type") for step in steps]
    if "GetBBoxCenterScale" not in types or "TopdownAffine" not in types:
        raise ValueError(
            f"the mmpose test pipeline {types} is not top-down: it needs GetBBoxCenterScale "
            "and TopdownAffine"
        )
    for step in steps:
        if step["type"] == "GetBBoxCenterScale":
            step["padding"] = 1.0  # dance's region is already padded and grown to the aspect
    affine = steps[types.index("TopdownAffine")]
    width, height = (int(v) for v in affine["input_size"])
    return Compose(steps), (width, height)


def find_one(folder: Path, names: Sequence[str], what: str) -> Path:
    """The first of `names` present in `folder`, or a clear error listing them."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {what} in {str(folder)!r}; expected one of {list(names)}")
