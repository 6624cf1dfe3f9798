"""Video decoding: local or s3:// videos, read once in chunks or by index, one error type.

- Backends: decord first, PyAV where decord is missing, fails to open, or fails mid-stream
  ("auto"); either alone on request. Both return the same uint8 RGB frames (bit-equal
  on H.264; within 2 levels on MS-MPEG4, whose decoders differ between the two FFmpegs).
- Frame count: decord's `len(reader)` checked against the container's declared count,
  or PyAV's declared `stream.frames`, else its count of demuxed video packets.
- Resizing: after decoding, with cv2 INTER_AREA, identically on both backends.
- Frame folders: a folder or s3:// prefix of images (Penn Action's `frames/NNNN/*.jpg`)
  reads as a video of those images, in natural name order, whatever the backend.
- Memory: `iter_chunks` holds one chunk at a time; local files are streamed, s3://
  objects are fetched into memory through `dance.storage`, frame images one at a time.
- Errors: `VideoReadError.reason` is one of VIDEO_ERROR_REASONS (missing, empty,
  not_a_video, truncated, unreadable); a video that decodes fewer frames than it
  declares raises "truncated" rather than returning fewer frames.
"""

from ._errors import VIDEO_ERROR_REASONS, VideoErrorReason, VideoReadError
from ._reader import BackendName, VideoReader, open_video, read_video_info
from ._types import VideoChunk, VideoInfo

__all__ = [
    "VIDEO_ERROR_REASONS",
    "BackendName",
    "VideoChunk",
    "VideoErrorReason",
    "VideoInfo",
    "VideoReadError",
    "VideoReader",
    "open_video",
    "read_video_info",
]
