"""Report views of a pose sequence and a trained model: plain functions, no Ray.

    gif_path = cached_pose_animation("/tmp/poses", pose)  # pose: (L, 17, 3) x, y, score
    strip_png = png_bytes(keyframe_strip(centroid.reshape(-1, 17, 2), count=4))
    neighbour = most_confused_neighbour(confusion, model.class_names.index("jump"))
    figure = concept_class_sankey(model, ["jump", model.class_names[neighbour]], top_n=8)
    page = sankey_html(figure)  # self-contained HTML, plotly.js inlined
    summary = write_report_site(ReportInputs(model, ids, splits, labels, x, metrics), "out/")
    overlay = dance_cam_overlay(VideoCam.for_dance(backbone, model), frames, shown, c)
    page = tcav_page(storage.read_json("work/posthoc/tcav/tcav.json"))
"""

from dance.report._cam_panel import (
    CAM_SIDE,
    CamOverlay,
    cam_file,
    cam_panel,
    dance_cam_overlay,
    shown_size,
)
from dance.report._html import STYLE, class_file, esc, page, percent, video_file
from dance.report._pose_animation import (
    SKELETON_EDGES,
    cached_pose_animation,
    keyframe_strip,
    png_bytes,
    pose_animation_gif,
    render_pose_frames,
)
from dance.report._sankey import (
    concept_class_sankey,
    most_confused_neighbour,
    sankey_html,
    sankey_png,
)
from dance.report._site import ReportInputs, ReportSummary, sample_videos, write_report_site
from dance.report._tcav_page import tcav_page
from dance.report._video_pages import Flip, prediction_flips, video_page

__all__ = [
    "CAM_SIDE",
    "SKELETON_EDGES",
    "STYLE",
    "CamOverlay",
    "Flip",
    "ReportInputs",
    "ReportSummary",
    "cached_pose_animation",
    "cam_file",
    "cam_panel",
    "class_file",
    "concept_class_sankey",
    "dance_cam_overlay",
    "esc",
    "keyframe_strip",
    "most_confused_neighbour",
    "page",
    "percent",
    "png_bytes",
    "pose_animation_gif",
    "prediction_flips",
    "render_pose_frames",
    "sample_videos",
    "sankey_html",
    "sankey_png",
    "shown_size",
    "tcav_page",
    "video_file",
    "video_page",
    "write_report_site",
]
