"""Grad-CAM and HiResCAM over a VideoMAE backbone, for its class head or a DANCE class logit.

Both explain one class logit through one encoder block's token activations A (C channels
on the (T', H', W') tubelet grid) and the gradients G of the logit with respect to them:

    Grad-CAM   ReLU(sum_c mean_{t',h',w'}(G_c) * A_c)      captum's LayerGradCam
    HiResCAM   ReLU(sum_c G_c * A_c)                        elementwise, no averaging

The (T', H', W') map is upsampled (trilinear) to the clip's T frames and to the part of
each frame the model saw (its centre crop; see dance.encoders.view_box), zero outside it,
and scaled to [0, 1] per video.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam, LayerGradientXActivation

from dance.encoders import VideoBackbone, view_box
from dance.errors import InputError
from dance.posthoc._token_grid import TokenGrid, find_layer, grid_hooked, layer_names
from dance.train import DanceModel

METHODS = ("gradcam", "hirescam")
TARGETS = ("dance", "backbone")
Method = Literal["gradcam", "hirescam"]


@dataclass(frozen=True)
class CamResult:
    """One clip's class-activation maps and what they explain."""

    maps: np.ndarray  # (T, H, W) float32 in [0, 1]: the map on each frame
    grid: np.ndarray  # (T', H', W') float32: the map on the token grid, before upsampling
    class_index: int
    class_name: str
    predicted_index: int  # the class the model predicts for the clip
    score: float  # the explained class logit
    method: str
    layer: str


class VideoCam:
    """Class-activation maps of one scoring head (pixels -> logits) over a VideoMAE backbone."""

    def __init__(
        self,
        backbone: VideoBackbone,
        scores: Callable[[torch.Tensor], torch.Tensor],
        class_names: list[str],
    ) -> None:
        """Wrap `scores` ((B, T, 3, S, S) pixels -> (B, C) logits); prefer the for_* builders."""
        self.backbone = backbone
        self._scores = scores
        self.class_names = list(class_names)
        self._grid = TokenGrid.for_config(backbone.encoder.config)

    @classmethod
    def for_backbone_head(cls, backbone: VideoBackbone) -> VideoCam:
        """Explain the backbone's own class head (a VideoMAEForVideoClassification)."""
        classifier = backbone.classifier
        if classifier is None:
            raise InputError(
                f"the backbone {backbone.name_or_path} has no classification head (a bare "
                "VideoMAEModel); --target backbone needs a VideoMAEForVideoClassification such "
                "as `dance finetune-backbone` writes; use --target dance for the DANCE model"
            )
        config = classifier.config
        names = [str(config.id2label.get(i, f"class_{i}")) for i in range(config.num_labels)]

        def scores(pixels: torch.Tensor) -> torch.Tensor:
            return classifier(pixel_values=pixels).logits

        return cls(backbone, scores, names)

    @classmethod
    def for_dance(cls, backbone: VideoBackbone, model: DanceModel) -> VideoCam:
        """Explain a DANCE class logit: backbone features (as embed) -> concepts -> classes."""
        if backbone.feature_dim != model.feature_dim:
            raise InputError(
                f"the backbone {backbone.name_or_path} gives {backbone.feature_dim} features but "
                f"the model expects {model.feature_dim}; pass the backbone it was trained on"
            )
        model = model.to(backbone.device)

        def scores(pixels: torch.Tensor) -> torch.Tensor:
            return model.logits(backbone.features(pixels).to(model.final.weight.dtype))

        return cls(backbone, scores, model.class_names)

    @property
    def scores(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The scoring head: (B, T, 3, S, S) preprocessed pixels -> (B, C) class logits."""
        return self._scores

    @property
    def grid(self) -> TokenGrid:
        """The backbone's token grid (T', H', W'), for hooking a block with grid_hooked."""
        return self._grid

    @property
    def layer_names(self) -> list[str]:
        """The encoder blocks that can be explained ("encoder.layer.N"), shallow to deep."""
        return layer_names(self.backbone.encoder)

    def check_layer(self, layer: str | None) -> str:
        """The block name `layer` stands for (None: the last); InputError lists valid names."""
        return find_layer(self.backbone.encoder, layer)[0]

    def class_index(self, class_name: str) -> int:
        """The index of a class by name; InputError lists the valid names."""
        if class_name not in self.class_names:
            raise InputError(
                f"--class {class_name!r} is not a class of this model; pass one of: "
                + ", ".join(self.class_names)
            )
        return self.class_names.index(class_name)

    def explain(
        self,
        frames: np.ndarray,
        method: Method = "gradcam",
        layer: str | None = None,
        class_index: int | None = None,
        size: tuple[int, int] | None = None,
    ) -> CamResult:
        """Maps of one clip, (T, H, W) uint8 RGB frames as the backbone takes them.

        `class_index` None explains the predicted class. The maps cover the clip's T frames
        at `size` (H, W) (default: the frames' own), which may differ from the frames' size
        as long as the aspect ratio is the same, e.g. the original video's resolution.
        """
        if method not in METHODS:
            raise InputError(f"--method {method!r} is unknown; pass one of: {', '.join(METHODS)}")
        name, module = find_layer(self.backbone.encoder, layer)
        # a copy: decoded rows are read-only views, which torch.from_numpy warns about
        pixels = self.backbone.preprocess(np.array(frames)[None])
        with torch.no_grad():
            logits = self._scores(pixels)[0]
        predicted = int(logits.argmax())
        target = predicted if class_index is None else int(class_index)
        if not 0 <= target < len(self.class_names):
            raise ValueError(f"class_index must lie in [0, {len(self.class_names)}), got {target}")
        with grid_hooked(module, self._grid) as grid:
            cam = cam_grid(self._scores, grid, pixels, target, method)[0]
        height, width = size or (frames.shape[1], frames.shape[2])
        box = view_box(frames.shape[1], frames.shape[2], self.backbone.pixel_spec)
        maps = upsample_to_frames(cam, frames.shape[0], (height, width), box)
        return CamResult(
            maps=maps, grid=cam.detach().float().cpu().numpy(), class_index=target,
            class_name=self.class_names[target], predicted_index=predicted,
            score=float(logits[target]), method=method, layer=name,
        )


def cam_grid(
    scores: Callable[[torch.Tensor], torch.Tensor],
    grid: torch.nn.Module,
    inputs: torch.Tensor,
    target: int,
    method: Method,
) -> torch.Tensor:
    """(B, T', H', W') map of class `target` at the layer `grid` (captum hooks its output)."""
    with torch.enable_grad():
        if method == "gradcam":
            cam = LayerGradCam(scores, grid).attribute(
                inputs, target=target, relu_attributions=True
            )
            return cam[:, 0]
        # captum has no HiResCAM: its gradient x activation keeps the elementwise product
        # (Grad-CAM first averages the gradient per channel); summed over channels and
        # ReLU'd it is exactly HiResCAM (Draelos & Carin, 2020).
        product = LayerGradientXActivation(scores, grid).attribute(inputs, target=target)
        return torch.relu(product.sum(dim=1))


def upsample_to_frames(
    cam: torch.Tensor,
    num_frames: int,
    size: tuple[int, int],
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
) -> np.ndarray:
    """(T', H', W') map -> (T, H, W) float32 in [0, 1]: trilinear into `box`, zero outside.

    `box` is the (top, left, bottom, right) fraction of the frame the model saw; the map is
    divided by its maximum (an all-zero map stays zero: no evidence anywhere).
    """
    height, width = size
    top, left = round(box[0] * height), round(box[1] * width)
    bottom, right = round(box[2] * height), round(box[3] * width)
    grid = cam.detach().float().cpu()[None, None]
    inside = LayerAttribution.interpolate(
        grid, (num_frames, bottom - top, right - left), interpolate_mode="trilinear"
    )[0, 0].clamp_(min=0)
    maps = torch.zeros((num_frames, height, width), dtype=torch.float32)
    maps[:, top:bottom, left:right] = inside
    peak = float(maps.max())
    if peak > 0:
        maps /= peak
    return maps.numpy()
