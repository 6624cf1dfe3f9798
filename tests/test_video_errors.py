"""dance.video failures: one VideoReadError whose `reason` code and message say what is wrong."""

from __future__ import annotations

import copy
from pathlib import Path

import av
import numpy as np
import pytest

from dance.video import VIDEO_ERROR_REASONS, VideoReadError, open_video, read_video_info

NUM_FRAMES = 60


def write_video(
    path: Path,
    codec: str = "libx264",
    container_options: dict[str, str] | None = None,
    num_frames: int = NUM_FRAMES,
) -> Path:
    """Encode a 64x96, 25 fps test video with noisy frames (so every frame has real data)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "g": "12"}
        for index in range(num_frames):
            image = rng.integers(0, 64, size=(64, 96, 3), dtype=np.uint8)
            image[..., 0] = (index * 4) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def cut(path: Path, fraction: float) -> Path:
    """Keep only the first `fraction` of the file's bytes, as an interrupted download would."""
    data = path.read_bytes()
    target = path.with_name(f"cut_{path.name}")
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def read_all(uri: str, chunk_size: int = 8) -> list[int]:
    """Iterate a whole video; the chunk starts seen."""
    with open_video(uri) as reader:
        return [chunk.start for chunk in reader.iter_chunks(chunk_size)]


def assert_error(error: VideoReadError, uri: str, reason: str) -> None:
    """The error carries the reason code and names the file, a cause and a fix hint."""
    assert error.reason == reason
    assert error.uri == uri
    assert f"cannot read video '{uri}'" in str(error)
    assert error.hint and str(error).endswith(error.hint)


def test_a_missing_path_is_missing(tmp_path: Path) -> None:
    uri = str(tmp_path / "nowhere" / "clip.mp4")
    with pytest.raises(VideoReadError) as caught:
        open_video(uri)
    assert_error(caught.value, uri, "missing")
    assert "does not exist" in str(caught.value)


def test_a_zero_byte_mp4_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoReadError) as caught:
        read_video_info(str(path))
    assert_error(caught.value, str(path), "empty")
    assert "0 bytes" in str(caught.value)


def test_a_text_file_named_mp4_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("these are meeting notes, not a video\n" * 20)
    for backend in ("auto", "decord", "pyav"):
        with pytest.raises(VideoReadError) as caught:
            open_video(str(path), backend=backend)
        assert_error(caught.value, str(path), "not_a_video")
        assert "b'these are me'" in str(caught.value)


def test_an_audio_only_mp4_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "speech.m4a"
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for index in range(8):
            samples = np.zeros((1, 1024), dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(VideoReadError) as caught:
        open_video(str(path))
    assert_error(caught.value, str(path), "not_a_video")
    assert "no video stream" in str(caught.value)


def test_an_mp4_cut_to_40_percent_is_truncated(tmp_path: Path) -> None:
    # moov (the index) is written last, so the cut file has frame data but no index.
    path = cut(write_video(tmp_path / "clip.mp4"), 0.4)
    with pytest.raises(VideoReadError) as caught:
        open_video(str(path))
    assert_error(caught.value, str(path), "truncated")
    assert "'mdat' box" in str(caught.value)


def test_a_faststart_mp4_cut_short_raises_truncated_while_iterating(tmp_path: Path) -> None:
    # faststart puts the index first: the file opens and declares all 60 frames.
    video = write_video(tmp_path / "fast.mp4", container_options={"movflags": "faststart"})
    path = cut(video, 0.4)
    with open_video(str(path)) as reader:
        assert reader.info.num_frames == NUM_FRAMES
        starts: list[int] = []
        with pytest.raises(VideoReadError) as caught:
            for chunk in reader.iter_chunks(chunk_size=8):
                starts.append(chunk.start)
    assert_error(caught.value, str(path), "truncated")
    assert f"of {NUM_FRAMES}" in str(caught.value)
    assert 0 < len(starts) * 8 < NUM_FRAMES


def test_indexed_reads_past_the_cut_raise_truncated(tmp_path: Path) -> None:
    video = write_video(tmp_path / "fast.mp4", container_options={"movflags": "faststart"})
    path = cut(video, 0.4)
    with open_video(str(path)) as reader:
        assert reader.get_frames([0, 3]).shape == (2, 64, 96, 3)
        with pytest.raises(VideoReadError) as caught:
            reader.get_frames([2, NUM_FRAMES - 1])
    assert_error(caught.value, str(path), "truncated")


def test_an_avi_cut_short_raises_truncated_while_iterating(tmp_path: Path) -> None:
    # The AVI header (declaring 60 frames) survives; decord would silently index fewer.
    path = cut(write_video(tmp_path / "clip.avi", codec="mpeg4"), 0.7)
    with pytest.raises(VideoReadError) as caught:
        read_all(str(path))
    assert_error(caught.value, str(path), "truncated")
    assert f"of {NUM_FRAMES}" in str(caught.value)
    # The message adds what the file's own size field says about the cut.
    assert "RIFF chunk at byte 0 needs" in str(caught.value)


def test_a_matroska_file_cut_short_is_truncated(tmp_path: Path) -> None:
    # Matroska records no frame count; its duration and segment size show the cut.
    path = cut(write_video(tmp_path / "clip.mkv"), 0.7)
    for backend in ("auto", "pyav"):
        with pytest.raises(VideoReadError) as caught:
            open_video(str(path), backend=backend)
        assert_error(caught.value, str(path), "truncated")


def test_a_broken_frame_mid_stream_raises_truncated_after_the_good_frames(
    tmp_path: Path,
) -> None:
    video = write_video(tmp_path / "fast.mp4", container_options={"movflags": "faststart"})
    with av.open(str(video)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(video.read_bytes())
    # An impossible NAL length in frame 20's packet: both decoders reject it.
    position = packets[20].pos
    data[position : position + 4] = b"\xff\xff\xff\xff"
    path = tmp_path / "broken.mp4"
    path.write_bytes(bytes(data))
    good = []
    with open_video(str(path)) as reader:
        assert reader.backend == "decord"
        with pytest.raises(VideoReadError) as caught:
            for chunk in reader.iter_chunks(chunk_size=8):
                good.append(chunk.frames)
    assert_error(caught.value, str(path), "truncated")
    assert "frame 20 of 60" in str(caught.value)
    with open_video(str(video)) as reader:
        np.testing.assert_array_equal(np.concatenate(good), reader.get_frames(range(16)))


def test_decord_alone_on_a_video_it_cannot_decode_is_unreadable(tmp_path: Path) -> None:
    path = write_video(tmp_path / "av1.mp4", codec="libsvtav1", num_frames=5)
    with pytest.raises(VideoReadError) as caught:
        open_video(str(path), backend="decord")
    assert_error(caught.value, str(path), "unreadable")
    assert "backend='pyav'" in str(caught.value)


def test_a_directory_without_frame_images_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(VideoReadError) as caught:
        open_video(str(tmp_path))
    assert_error(caught.value, str(tmp_path), "not_a_video")
    assert "folder with no frame images" in str(caught.value)


def test_an_unsupported_uri_scheme_is_unreadable() -> None:
    uri = "gs://bucket/clip.mp4"
    with pytest.raises(VideoReadError) as caught:
        open_video(uri)
    assert_error(caught.value, uri, "unreadable")
    assert "s3://" in caught.value.hint


def test_the_error_message_follows_the_documented_form() -> None:
    error = VideoReadError("/data/x.mp4", "truncated")
    assert str(error) == (
        "cannot read video '/data/x.mp4': file is truncated (container header or frame "
        "data cut short); re-download or re-encode it"
    )
    assert isinstance(error, RuntimeError)
    assert set(VIDEO_ERROR_REASONS) == {
        "missing",
        "empty",
        "not_a_video",
        "truncated",
        "unreadable",
    }


def test_the_error_survives_a_copy_with_its_fields() -> None:
    # Ray rebuilds exceptions from __reduce__ when it ships them between processes.
    error = VideoReadError("s3://b/x.mp4", "missing", "no such key", hint="fix the manifest")
    clone = copy.copy(error)
    assert (clone.uri, clone.reason, clone.detail, clone.hint) == (
        "s3://b/x.mp4",
        "missing",
        "no such key",
        "fix the manifest",
    )
    assert str(clone) == str(error)


def test_an_unknown_reason_code_is_refused() -> None:
    with pytest.raises(ValueError, match="reason must be one of"):
        VideoReadError("/data/x.mp4", "corrupt")
