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
    clips = read_concept_clips("work")  # dance concept-clips: .groups(), .random_sets()
"""

from dance.posthoc._cav import CAV, TorchCAVClassifier, fit_cav, relative_cavs
from dance.posthoc._concept_clip_io import CLIPS_SCHEMA as CONCEPT_CLIPS_SCHEMA
from dance.posthoc._concept_clip_io import RANDOM as RANDOM_GROUP
from dance.posthoc._concept_clip_io import STATUS_SCHEMA as CONCEPT_STATUS_SCHEMA
from dance.posthoc._concept_clip_io import ConceptClips, random_set_name, read_concept_clips
from dance.posthoc._concept_clip_io import clips_table as concept_clips_table
from dance.posthoc._concept_clip_io import write_clips_part as write_concept_clips_part
from dance.posthoc._concept_clip_io import write_status as write_concept_status
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
from dance.posthoc._concept_sets import (
    GROUPS as CONCEPT_GROUPS,
)
from dance.posthoc._concept_sets import (
    ConceptClip,
    ConceptCut,
    VideoBoxes,
    boxes_from_detections,
    clip_window,
    cut_concept_clip,
    largest_free_square,
    plan_concept_cuts,
    stable_seed,
    video_concept_clips,
)
from dance.posthoc._concept_video import (
    boxes_from_json,
    boxes_to_json,
    choose_concept_cuts,
    cut_from_json,
    cut_to_json,
    cut_video_clips,
    locate_concepts,
    random_to_json,
    video_cuts,
)
from dance.posthoc._detector import Detections, ObjectDetector
from dance.posthoc._gradcam import (
    METHODS,
    TARGETS,
    CamResult,
    VideoCam,
    cam_grid,
    upsample_to_frames,
)
from dance.posthoc._layer_tensors import POOLINGS, layer_activations, layer_gradients
from dance.posthoc._overlay import gif_bytes, jet, npy_bytes, overlay_heat
from dance.posthoc._tcav import Significance, tcav_scores, tcav_significance
from dance.posthoc._tcav_runs import RunScores, tcav_run, tcav_table
from dance.posthoc._token_grid import TokenGrid, find_layer, grid_hooked, layer_names

__all__ = [
    "CAV",
    "CONCEPT_CLIPS_SCHEMA",
    "CONCEPT_GROUPS",
    "CONCEPT_STATUS_SCHEMA",
    "METHODS",
    "POOLINGS",
    "RANDOM_GROUP",
    "TARGETS",
    "CamResult",
    "ConceptClip",
    "ConceptClips",
    "ConceptCut",
    "Detections",
    "ObjectDetector",
    "RandomClip",
    "RunScores",
    "Significance",
    "TokenGrid",
    "TorchCAVClassifier",
    "VideoBoxes",
    "VideoCam",
    "box_iou",
    "boxes_from_detections",
    "boxes_from_json",
    "boxes_to_json",
    "cam_grid",
    "choose_concept_cuts",
    "clip_window",
    "concept_clips_table",
    "cut_concept_clip",
    "cut_from_json",
    "cut_random_clip",
    "cut_to_json",
    "cut_video_clips",
    "find_layer",
    "fit_cav",
    "gif_bytes",
    "grid_hooked",
    "jet",
    "largest_free_square",
    "layer_activations",
    "layer_gradients",
    "layer_names",
    "link_track",
    "locate_concepts",
    "npy_bytes",
    "overlay_heat",
    "plan_concept_cuts",
    "plan_random_clips",
    "random_clips",
    "random_set_name",
    "random_to_json",
    "read_concept_clips",
    "relative_cavs",
    "spatial_clip",
    "spatiotemporal_clip",
    "stable_seed",
    "tcav_run",
    "tcav_scores",
    "tcav_significance",
    "tcav_table",
    "upsample_to_frames",
    "video_concept_clips",
    "video_cuts",
    "write_concept_clips_part",
    "write_concept_status",
]
