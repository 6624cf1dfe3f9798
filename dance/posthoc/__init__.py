"""Post-hoc explanation baselines on the same VideoMAE backbone: Video Grad-CAM, HiResCAM, TCAV.

Plain functions and torch modules, no Ray (docs/method.md, "Post-hoc baselines"). A map
explains one class logit, either the fine-tuned backbone's own class head or DANCE's
class logit through its concept bottleneck, at one encoder block ("encoder.layer.N",
default the last), over the (T', H', W') tubelet grid upsampled to the clip's frames:

    backbone = VideoBackbone.from_pretrained("work/backbone")
    cam = VideoCam.for_dance(backbone, DanceModel.from_pretrained("work/model"))
    result = cam.explain(frames, method="hirescam")  # (T, H, W, 3) uint8, as decoded
    gif = gif_bytes(overlay_heat(frames, result.maps))  # result.maps: (T, H, W) in [0, 1]
    cavs = relative_cavs({"ball": acts_ball, "person": acts_person}, seed=0)  # (N, F) each
    sign_count, magnitude = tcav_scores(gradients, cavs["ball"].vector)  # gradients (N, F)
    clip = spatiotemporal_clip(frames, link_track(detections), size=224, length=16)
"""

from dance.posthoc._cav import CAV, TorchCAVClassifier, fit_cav, relative_cavs
from dance.posthoc._concept_clips import (
    RandomClip,
    box_iou,
    cut_random_clip,
    link_track,
    plan_random_clips,
    random_clips,
    spatial_clip,
    spatiotemporal_clip,
)
from dance.posthoc._gradcam import (
    METHODS,
    TARGETS,
    CamResult,
    VideoCam,
    cam_grid,
    upsample_to_frames,
)
from dance.posthoc._overlay import gif_bytes, jet, npy_bytes, overlay_heat
from dance.posthoc._tcav import Significance, tcav_scores, tcav_significance
from dance.posthoc._token_grid import TokenGrid, find_layer, grid_hooked, layer_names

__all__ = [
    "CAV",
    "METHODS",
    "TARGETS",
    "CamResult",
    "RandomClip",
    "Significance",
    "TokenGrid",
    "TorchCAVClassifier",
    "VideoCam",
    "box_iou",
    "cam_grid",
    "cut_random_clip",
    "find_layer",
    "fit_cav",
    "gif_bytes",
    "grid_hooked",
    "jet",
    "layer_names",
    "link_track",
    "npy_bytes",
    "overlay_heat",
    "plan_random_clips",
    "random_clips",
    "relative_cavs",
    "spatial_clip",
    "spatiotemporal_clip",
    "tcav_scores",
    "tcav_significance",
    "upsample_to_frames",
]
