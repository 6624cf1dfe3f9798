"""Recognise video containers by their bytes, spot cut-short files, classify open failures."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ._errors import BackendOpenError, VideoReadError
from ._source import VideoSource

HEAD_BYTES = 512
DECORD_ONLY_HINT = (
    "decord cannot decode it; open it with backend='auto' or backend='pyav', "
    "or re-encode it to H.264 in an mp4 container"
)

# ISO base media (mp4, mov, m4v, 3gp) files start with a box size then one of these box types.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid")
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MKV_SEGMENT = b"\x18\x53\x80\x67"
_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (_EBML_MAGIC, "Matroska/WebM"),
    (b"FLV\x01", "FLV"),
    (b"OggS", "Ogg"),
    (bytes.fromhex("3026b2758e66cf11"), "ASF/WMV"),
    (b".RMF", "RealMedia"),
    (b"DKIF", "IVF"),
    (b"YUV4MPEG2", "Y4M"),
    (bytes.fromhex("060e2b34020501010d010201"), "MXF"),
    (b"\x00\x00\x01\xba", "MPEG program stream"),
    (b"\x00\x00\x01\xb3", "MPEG video stream"),
    (b"\x00\x00\x00\x01", "H.264/H.265 elementary stream"),
)
_TS_PACKET = 188
_M2TS_PACKET = 192
_TS_SYNC = 0x47
_MAX_BOXES = 100_000  # a bound on the box walk, so a corrupt file cannot loop us for long


def container_name(head: bytes) -> str | None:
    """The video container family that `head` (a file's first bytes) starts like, else None."""
    if _is_iso(head):
        return "ISO/QuickTime (mp4, mov)"
    if _is_avi(head):
        return "AVI"
    for prefix, name in _PREFIXES:
        if head.startswith(prefix):
            return name
    # Transport streams have no magic; two sync bytes one packet apart are the usual test.
    if len(head) > _TS_PACKET and head[0] == head[_TS_PACKET] == _TS_SYNC:
        return "MPEG transport stream"
    if len(head) > _M2TS_PACKET + 4 and head[4] == head[4 + _M2TS_PACKET] == _TS_SYNC:
        return "MPEG-2 transport stream (M2TS)"
    return None


def _is_iso(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in _ISO_BOXES


def _is_avi(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX")


def truncation_evidence(source: VideoSource) -> str | None:
    """How the file's own size fields show it was cut short (mp4/mov, AVI, mkv), else None."""
    head = source.head(HEAD_BYTES)
    file_size = source.size()
    if _is_iso(head):
        return _iso_evidence(source, file_size)
    if _is_avi(head):
        return _riff_evidence(source, file_size)
    if head.startswith(_EBML_MAGIC):
        return _ebml_evidence(head, file_size)
    return None


def _iso_evidence(source: VideoSource, file_size: int) -> str | None:
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset >= file_size:
            return None
        header = source.read_at(offset, 16)
        if len(header) < 8:
            return f"the file ends inside the header of a box at byte {offset}"
        size, kind = struct.unpack(">I4s", header[:8])
        if size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return f"the file ends inside the header of a box at byte {offset}"
            (size,) = struct.unpack(">Q", header[8:16])
        elif size == 0:  # the last box, running to the end of the file
            return None
        if size < 8:
            return None  # not a box structure we understand; let the decoders judge
        if offset + size > file_size:
            name = kind.decode("latin-1")
            return (
                f"its '{name}' box at byte {offset} needs {size} bytes "
                f"but the file ends after {file_size - offset}"
            )
        offset += size
    return None


def _riff_evidence(source: VideoSource, file_size: int) -> str | None:
    # Large AVIs (OpenDML) are a chain of RIFF chunks: RIFF AVI, then RIFF AVIX ...
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset >= file_size:
            return None
        header = source.read_at(offset, 8)
        if len(header) < 8 or header[:4] != b"RIFF":
            return None
        (size,) = struct.unpack("<I", header[4:8])
        end = offset + 8 + size + (size & 1)
        if offset + 8 + size > file_size:
            return (
                f"its RIFF chunk at byte {offset} needs {size + 8} bytes "
                f"but the file ends after {file_size - offset}"
            )
        offset = end
    return None


def _read_vint(data: bytes, offset: int) -> tuple[int, int, bool] | None:
    """An EBML variable-size integer at `offset`: (value, length, all-ones i.e. unknown)."""
    if offset >= len(data) or data[offset] == 0:
        return None
    first = data[offset]
    length = 8 - first.bit_length() + 1
    if offset + length > len(data):
        return None
    value = first & ((1 << (8 - length)) - 1)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return value, length, value == (1 << (7 * length)) - 1


def _ebml_evidence(head: bytes, file_size: int) -> str | None:
    header_size = _read_vint(head, len(_EBML_MAGIC))
    if header_size is None:
        return None
    segment_at = len(_EBML_MAGIC) + header_size[1] + header_size[0]
    if head[segment_at : segment_at + 4] != _MKV_SEGMENT:
        return None
    segment_size = _read_vint(head, segment_at + 4)
    if segment_size is None or segment_size[2]:  # unknown size: a live-written stream
        return None
    payload_at = segment_at + 4 + segment_size[1]
    if payload_at + segment_size[0] > file_size:
        return (
            f"its Matroska segment needs {segment_size[0]} bytes from byte {payload_at} "
            f"but the file ends after {file_size - payload_at}"
        )
    return None


def classify_open_failure(
    source: VideoSource,
    failures: Sequence[BackendOpenError],
    decord_alone_failed: bool,
) -> VideoReadError:
    """The VideoReadError for a video no backend could open, from size fields, verdicts, magic.

    `decord_alone_failed`: only decord was tried, on a container whose header PyAV could
    read, so the container is sound and decord is what cannot decode it.
    """
    evidence = truncation_evidence(source)
    if evidence is not None:
        return VideoReadError(source.uri, "truncated", evidence)
    # A backend that got far enough to give a verdict (no video stream, no decoder, data
    # cut short) knows better than magic bytes; the last backend tried is the more thorough.
    for failure in reversed(failures):
        if failure.reason is not None:
            return VideoReadError(source.uri, failure.reason, failure.detail)
    details = "; ".join(dict.fromkeys(failure.detail for failure in failures))
    if decord_alone_failed:
        return VideoReadError(source.uri, "unreadable", details, hint=DECORD_ONLY_HINT)
    head = source.head(HEAD_BYTES)
    if not head:
        return VideoReadError(
            source.uri, "unreadable", f"its first bytes cannot be read; {details}"
        )
    name = container_name(head)
    if name is None:
        return VideoReadError(
            source.uri,
            "not_a_video",
            f"its first bytes {head[:12]!r} match no known video container",
        )
    return VideoReadError(source.uri, "truncated", f"{name} container; {details}")


def falls_short(covered_s: float, declared_s: float, fps: float) -> bool:
    """Whether frames covering `covered_s` seconds fall clearly short of a declared duration."""
    # Allow two frame intervals (rounding of the last frame's duration) or 1 % of the
    # length, whichever is larger, so only a real loss of frames counts as truncation.
    tolerance = max(2.0 / fps, 0.01 * declared_s)
    return declared_s - covered_s > tolerance
