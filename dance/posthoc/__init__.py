"""Post-hoc explanation baselines on the same VideoMAE backbone: Video Grad-CAM and HiResCAM.

Plain functions and torch modules, no Ray (docs/method.md, "Post-hoc baselines"). A map
explains one class logit, either the fine-tuned backbone's own class head or DANCE's
class logit through its concept bottleneck, at one encoder block ("encoder.layer.N",
default the last), over the (T', H', W') tubelet grid upsampled to the clip's frames:

    backbone = VideoBackbone.from_pretrained("work/backbone")
    cam = VideoCam.for_dance(backbone, DanceModel.from_pretrained("work/model"))
    result = cam.explain(frames, method="hirescam")  # (T, H, W, 3) uint8, as decoded
    gif = gif_bytes(overlay_heat(frames, result.maps))  # result.maps: (T, H, W) in [0, 1]
"""

from dance.posthoc._gradcam import (
    METHODS,
    TARGETS,
    CamResult,
    VideoCam,
    cam_grid,
    upsample_to_frames,
)
from dance.posthoc._overlay import gif_bytes, jet, npy_bytes, overlay_heat
from dance.posthoc._token_grid import TokenGrid, find_layer, grid_hooked, layer_names

__all__ = [
    "METHODS",
    "TARGETS",
    "CamResult",
    "TokenGrid",
    "VideoCam",
    "cam_grid",
    "find_layer",
    "gif_bytes",
    "grid_hooked",
    "jet",
    "layer_names",
    "npy_bytes",
    "overlay_heat",
    "upsample_to_frames",
]
