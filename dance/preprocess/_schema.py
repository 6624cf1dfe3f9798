"""Arrow schemas of the preprocess outputs (docs/workdir.md) and of the rows between its stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

VIDEOS_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("status", pa.string()),  # ok | failed
        ("error", pa.string()),  # "code: detail" when failed
        ("num_frames", pa.int32()),
        ("fps", pa.float64()),
        ("height", pa.int32()),
        ("width", pa.int32()),
        ("keyframes", pa.list_(pa.int32())),
        ("backbone", pa.list_(pa.float32())),
        ("dual", pa.list_(pa.float32())),
    ]
)

CLIP_FIELDS = [
    ("clip_index", pa.int32()),
    ("start", pa.int32()),  # first raw frame of the window
    ("end", pa.int32()),  # one past the last raw frame of the window
    ("keyframe", pa.int32()),
    ("pose", pa.list_(pa.float32())),  # L*17*3: x, y, score in original image pixels
    ("kept", pa.bool_()),
    ("reject_reason", pa.string()),
]
CLIPS_SCHEMA = pa.schema([("video_id", pa.string()), *CLIP_FIELDS])
CLIP_STRUCT = pa.struct(CLIP_FIELDS)

def without(schema: pa.Schema, names: Sequence[str]) -> pa.Schema:
    """`schema` minus the named fields."""
    return pa.schema([field for field in schema if field.name not in set(names)])


def with_fields(schema: pa.Schema, fields: Sequence[tuple[str, pa.DataType]]) -> pa.Schema:
    """`schema` plus `fields` (replacing any of the same name)."""
    names = {name for name, _ in fields}
    return pa.schema([f for f in schema if f.name not in names] + [pa.field(n, t) for n, t in fields])


_PACKED_SHAPE = pa.list_(pa.int32())

# After decode: the video's facts plus what each later stage needs, packed as bytes.
DECODED_SCHEMA = pa.schema(
    [
        *without(VIDEOS_SCHEMA, ["backbone", "dual"]),
        ("windows", pa.list_(pa.int32())),  # (S, L) raw frame indices, row-major
        ("clip_keyframes", pa.list_(pa.int32())),  # (S,) the keyframe each window centres on
        ("pose_indices", pa.list_(pa.int32())),  # unique raw frames pose needs, ascending
        ("pose_frames", pa.binary()),  # (F, h, w, 3) uint8, possibly downscaled
        ("pose_shape", _PACKED_SHAPE),
        ("backbone_frames", pa.binary()),  # (T, h, w, 3) uint8 at the backbone's input side
        ("backbone_shape", _PACKED_SHAPE),
        ("dual_frames", pa.binary()),  # (T', h, w, 3) uint8 at the dual encoder's input side
        ("dual_shape", _PACKED_SHAPE),
    ]
)


POSED_SCHEMA = with_fields(
    without(DECODED_SCHEMA, ["pose_frames", "pose_shape", "pose_indices", "windows", "clip_keyframes"]),
    [("clips", pa.list_(CLIP_STRUCT))],
)


def rows_to_table(rows: Sequence[Mapping[str, object]], schema: pa.Schema) -> pa.Table:
    """A table of `schema` from row dicts; fields a row lacks are null."""
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema}
    return pa.table(
        {field.name: pa.array(columns[field.name], type=field.type) for field in schema},
        schema=schema,
    )
