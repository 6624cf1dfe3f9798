"""The mmpose backend: person boxes from a given detector, then mmpose top-down inference.

Pipeline per frame (REFERENCE.md 2, as in the vitpose backend): candidate person boxes
with score > threshold, the LARGEST one only, padded by `box_padding` px (clipped to
the image) and grown to `box_aspect` (w:h) with dance's box maths (`_boxes.py`); that
region goes through the model config's own mmpose test pipeline and `test_step`
(mmpose's `inference_topdown`, batched across frames), with `GetBBoxCenterScale`
padding set to 1.0 because the region is already padded. Regions are handed to mmpose
in its pixel-index convention (pixel centres at integers) and keypoints come back
shifted into dance's continuous one, so a UDP config (ViTPose) crops exactly the
pixels `_boxes.crop_and_resize` would.

Person boxes: mmpose's environment cannot hold transformers 5 (ENVIRONMENT.md), so the
RT-DETR detector of the vitpose backend is not available here. The detector is a
callable, frames -> per-frame (boxes, scores); `whole_frame_detector` (the default,
also `pose.detector: whole_frame` in a config) treats each frame as one person box,
which suits pre-cropped, single-person footage. Boxes from any other detector (e.g.
precomputed RT-DETR or YOLO boxes) plug in through the same callable.

Configs are read as data (JSON or YAML), never executed; checkpoints are safetensors
or a plain state dict loaded with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import yaml

from dance._closing import ClosesOnExit
from dance.pose._boxes import box_areas, clip_boxes, crop_boxes, select_largest
from dance.pose.estimator import PoseResult, check_frames, estimate_top_down
from dance.pose.skeleton import NUM_COCO17_JOINTS

if TYPE_CHECKING:
    from dance.config._sections import PoseConfig

PersonBoxes = tuple[np.ndarray, np.ndarray]
"""One frame's candidate persons: (N, 4) x1, y1, x2, y2 image pixels and (N,) scores."""
PersonDetector = Callable[[np.ndarray], Sequence[PersonBoxes]]
"""(T, H, W, 3) uint8 RGB frames -> T PersonBoxes, one per frame, in frame order."""

WHOLE_FRAME = "whole_frame"
CONFIG_FILES = ("mmpose_config.json", "mmpose_config.yaml", "mmpose_config.yml")
CHECKPOINT_FILES = ("model.safetensors", "model.pth")
_CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
_COCO_META_FILE = "configs/_base_/datasets/coco.py"  # inside the mmpose package


def whole_frame_detector(frames: np.ndarray) -> list[PersonBoxes]:
    """One person box covering each whole frame, with score 1.0."""
    frames = check_frames(frames)
    height, width = frames.shape[1:3]
    box = np.array([[0.0, 0.0, float(width), float(height)]])
    return [(box.copy(), np.ones(1)) for _ in range(frames.shape[0])]


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
    torchvision, and torchvision does not work on our CPU machines (ENVIRONMENT.md).
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


def _build_model(config: Any, checkpoint: str | Path, device: torch.device) -> Any:
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


def _region_pipeline(config: Any) -> tuple[Any, tuple[int, int]]:
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


def _resolve_device(device: str) -> torch.device:
    """A torch device, or a clear error when CUDA is asked for but absent."""
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available; use 'cpu'")
    return resolved


def _find_one(folder: Path, names: Sequence[str], what: str) -> Path:
    """The first of `names` present in `folder`, or a clear error listing them."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {what} in {str(folder)!r}; expected one of {list(names)}")


class MMPoseEstimator(ClosesOnExit):
    """Top-down 2D pose with an mmpose model (config + checkpoint) and a person detector.

    For one stack of frames use `estimate`; its parts are `detect` -> `regions` ->
    `estimate_regions`.
    """

    def __init__(
        self,
        model_config: str | Path | Mapping[str, Any],
        checkpoint: str | Path,
        person_detector: PersonDetector = whole_frame_detector,
        *,
        detector_threshold: float = 0.25,
        box_padding: float = 10,
        box_aspect: tuple[int, int] = (3, 4),
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        """Build the model from a JSON/YAML config (or mapping) and load the checkpoint."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0.0 <= detector_threshold <= 1.0:
            raise ValueError(f"detector_threshold must be in [0, 1], got {detector_threshold}")
        if box_padding < 0:
            raise ValueError(f"box_padding must be >= 0 pixels, got {box_padding}")
        if not callable(person_detector):
            raise TypeError(
                "person_detector must be a callable frames -> [(boxes (N, 4), scores (N,)), ...]; "
                "use whole_frame_detector for pre-cropped single-person footage"
            )
        self.person_detector = person_detector
        self.detector_threshold = float(detector_threshold)
        self.box_padding = float(box_padding)
        self.box_aspect = (int(box_aspect[0]), int(box_aspect[1]))
        self.batch_size = int(batch_size)
        self.device = _resolve_device(device)
        config = load_model_config(model_config)
        self._model: Any = _build_model(config, checkpoint, self.device)
        self._pipeline, self._input_size = _region_pipeline(config)

    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        person_detector: PersonDetector = whole_frame_detector,
        **kwargs: Any,
    ) -> MMPoseEstimator:
        """Load `folder`/mmpose_config.{json,yaml} and `folder`/model.{safetensors,pth}."""
        path = Path(folder)
        if not path.is_dir():
            raise FileNotFoundError(
                f"no mmpose model folder at {str(path)!r}; it must hold one of {list(CONFIG_FILES)} "
                f"and one of {list(CHECKPOINT_FILES)}"
            )
        config = _find_one(path, CONFIG_FILES, "mmpose config")
        checkpoint = _find_one(path, CHECKPOINT_FILES, "mmpose checkpoint")
        return cls(config, checkpoint, person_detector, **kwargs)

    @classmethod
    def from_config(cls, config: PoseConfig, device: str = "cpu") -> MMPoseEstimator:
        """Build from a PoseConfig: pose.model is a model folder, pose.detector 'whole_frame'."""
        if config.detector != WHOLE_FRAME:
            raise ValueError(
                f"pose backend 'mmpose' cannot run detector {config.detector!r}: its environment "
                "has no transformers 5 for RT-DETR. Set pose.detector=whole_frame (each frame is "
                "one person box), or build MMPoseEstimator with a person_detector callable"
            )
        return cls.from_folder(
            config.model,
            whole_frame_detector,
            detector_threshold=config.detector_threshold,
            box_padding=config.box_padding,
            box_aspect=config.box_aspect,
            batch_size=config.resources.batch_size,
            device=device,
        )

    @property
    def input_size(self) -> tuple[int, int]:
        """Model input (width, height), e.g. (192, 256)."""
        return self._input_size

    def _require_open(self) -> None:
        """Raise if close() was called."""
        if self._model is None:
            raise RuntimeError("MMPoseEstimator is closed; build a new one")

    def detect(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Largest person box per frame: (T, 4) float32 x1, y1, x2, y2 (NaN if none), (T,) found."""
        frames = check_frames(frames)
        num_frames, height, width = frames.shape[:3]
        candidates = list(self.person_detector(frames))
        if len(candidates) != num_frames:
            raise ValueError(
                f"person_detector returned {len(candidates)} entries for {num_frames} frames; "
                "it must return one (boxes, scores) pair per frame"
            )
        boxes = np.full((num_frames, 4), np.nan, dtype=np.float32)
        for index, entry in enumerate(candidates):
            try:
                frame_boxes, scores = entry
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"person_detector entry {index} must be a (boxes (N, 4), scores (N,)) pair"
                ) from exc
            frame_boxes = clip_boxes(
                np.asarray(frame_boxes, dtype=np.float64).reshape(-1, 4), width, height
            )
            chosen = select_largest(frame_boxes, np.asarray(scores), self.detector_threshold)
            # A zero-area box (e.g. wholly outside the frame once clipped) holds no person.
            if chosen >= 0 and box_areas(frame_boxes[chosen : chosen + 1])[0] > 0:
                boxes[index] = frame_boxes[chosen]
        found = np.isfinite(boxes).all(axis=1)
        return boxes, found

    def regions(self, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """The (N, 4) crop regions of finite person boxes: padded, clipped, grown to the aspect."""
        box_array = np.asarray(boxes, dtype=np.float64)
        if box_array.ndim != 2 or box_array.shape[1] != 4 or not np.isfinite(box_array).all():
            raise ValueError(
                f"boxes must be a finite (N, 4) array, got shape {box_array.shape}; keep only the "
                "frames where detect() found a person"
            )
        return crop_boxes(box_array, self.box_padding, self.box_aspect, width, height)

    def _check_regions(self, frames: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """Frames as (N, H, W, 3) uint8 and regions as a finite (N, 4) array, or raise."""
        region_array = np.asarray(regions, dtype=np.float64)
        if region_array.shape != (frames.shape[0], 4) or not np.isfinite(region_array).all():
            raise ValueError(
                f"regions must be a finite ({frames.shape[0]}, 4) array, one per frame, got "
                f"shape {region_array.shape}; make them with regions()"
            )
        return region_array

    def _pipeline_inputs(self, frames: np.ndarray, regions: np.ndarray) -> list[dict[str, Any]]:
        """The config's test pipeline run on each frame with its region (mmpose's data dicts)."""
        # dance's pixel (i, j) spans [i, i+1); mmpose puts pixel centres on integers.
        mm_regions = (regions - 0.5).astype(np.float32)
        meta = self._model.dataset_meta
        return [
            self._pipeline(
                {
                    "img": np.ascontiguousarray(frame[..., ::-1]),  # mmcv pipelines take BGR
                    "bbox": region[None],
                    "bbox_score": np.ones(1, dtype=np.float32),
                    **meta,
                }
            )
            for frame, region in zip(frames, mm_regions)
        ]

    def crops(self, frames: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """The (N, H_in, W_in, 3) uint8 RGB model inputs mmpose's pipeline cuts at `regions`."""
        self._require_open()
        frames = check_frames(frames)
        region_array = self._check_regions(frames, regions)
        out_w, out_h = self._input_size
        crops = np.zeros((frames.shape[0], out_h, out_w, 3), dtype=np.uint8)
        for index, data in enumerate(self._pipeline_inputs(frames, region_array)):
            crops[index] = data["inputs"].permute(1, 2, 0).numpy()[..., ::-1]
        return crops

    def estimate_regions(self, frames: np.ndarray, regions: np.ndarray) -> np.ndarray:
        """(N, 17, 3) x, y, score in image pixels (clipped to it); frame n is cut at regions[n]."""
        self._require_open()
        from mmengine.dataset import pseudo_collate

        frames = check_frames(frames)
        region_array = self._check_regions(frames, regions)
        height, width = frames.shape[1:3]
        out = np.zeros((frames.shape[0], NUM_COCO17_JOINTS, 3), dtype=np.float32)
        for start in range(0, frames.shape[0], self.batch_size):
            stop = start + self.batch_size
            batch = self._pipeline_inputs(frames[start:stop], region_array[start:stop])
            with torch.inference_mode():
                samples = self._model.test_step(pseudo_collate(batch))
            for offset, sample in enumerate(samples):
                # Back from mmpose's pixel-index convention to dance's continuous one.
                out[start + offset, :, :2] = np.asarray(sample.pred_instances.keypoints)[0] + 0.5
                out[start + offset, :, 2] = np.asarray(sample.pred_instances.keypoint_scores)[0]
        # A joint predicted in the black padding beyond the frame is kept on its border.
        out[..., 0] = np.clip(out[..., 0], 0.0, width)
        out[..., 1] = np.clip(out[..., 1], 0.0, height)
        return out

    def estimate(self, frames: np.ndarray) -> PoseResult:
        """Pose of the largest person in each of (T, H, W, 3) uint8 RGB frames."""
        return estimate_top_down(frames, self.detect, self._pose_persons)

    def _pose_persons(self, frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, 17, 3) image keypoints of the person in each box of its frame."""
        height, width = frames.shape[1:3]
        return self.estimate_regions(frames, self.regions(boxes, width, height))

    def close(self) -> None:
        """Drop the model; further calls raise."""
        self._model = None
