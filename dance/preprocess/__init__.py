"""The preprocess job's pure logic: decode once, key clips, pose rows, output parts, summary.

Ray-free: `actors/` host these functions in Ray Data stages and `ray_jobs/preprocess.py`
builds the graph. Every function here runs, and is tested, without a cluster.
"""

from dance.preprocess._arrays import pack, unpack
from dance.preprocess._batches import (
    embed_batch,
    features_only_batch,
    pose_batch,
    split_block,
    summary_rows,
)
from dance.preprocess._clips import NO_PERSON, VideoClips, assemble_clips, to_original_pixels
from dance.preprocess._decode import (
    DecodePlan,
    decode_video,
    downscaled_size,
    failed_row,
    resize_frames,
    shorter_side_size,
)
from dance.preprocess._failures import FAILURE_CODES, failure_code, failure_message, run_isolated
from dance.preprocess._gt_error import KeypointErrorMeter, keypoint_errors
from dance.preprocess._models import EncoderModels, model_input_side, resolve_encoder_models
from dance.preprocess._parts import (
    done_video_ids,
    dual_embeddings,
    part_id,
    part_pairs,
    read_clips,
    read_videos,
    remove_orphan_clip_parts,
    remove_stale_temp_files,
    write_part,
)
from dance.preprocess._record import preprocess_facts, preprocess_inputs, recorded_backbone
from dance.preprocess._schema import (
    CLIPS_SCHEMA,
    DECODED_SCHEMA,
    POSED_SCHEMA,
    VIDEOS_SCHEMA,
    rows_to_table,
    with_fields,
    without,
)
from dance.preprocess._spill import SpillBuffer, spill_directory, sweep_stale_spills
from dance.preprocess._summary import PreprocessSummary, summarize_outputs
from dance.preprocess._truth import GroundTruthKeypoints, annotation_reader, ground_truth_uri

__all__ = [
    "CLIPS_SCHEMA",
    "DECODED_SCHEMA",
    "FAILURE_CODES",
    "NO_PERSON",
    "POSED_SCHEMA",
    "VIDEOS_SCHEMA",
    "DecodePlan",
    "EncoderModels",
    "GroundTruthKeypoints",
    "KeypointErrorMeter",
    "PreprocessSummary",
    "SpillBuffer",
    "VideoClips",
    "annotation_reader",
    "assemble_clips",
    "decode_video",
    "done_video_ids",
    "downscaled_size",
    "dual_embeddings",
    "embed_batch",
    "failed_row",
    "failure_code",
    "failure_message",
    "features_only_batch",
    "ground_truth_uri",
    "keypoint_errors",
    "model_input_side",
    "pack",
    "part_id",
    "part_pairs",
    "pose_batch",
    "preprocess_facts",
    "preprocess_inputs",
    "read_clips",
    "read_videos",
    "recorded_backbone",
    "remove_orphan_clip_parts",
    "remove_stale_temp_files",
    "resize_frames",
    "resolve_encoder_models",
    "rows_to_table",
    "run_isolated",
    "shorter_side_size",
    "spill_directory",
    "split_block",
    "summarize_outputs",
    "summary_rows",
    "sweep_stale_spills",
    "to_original_pixels",
    "unpack",
    "with_fields",
    "without",
    "write_part",
]
