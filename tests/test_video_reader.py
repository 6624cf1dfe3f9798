"""dance.video reading: info, chunked iteration, indexed reads, resizing, backends agreeing."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from dance import storage
from dance.video import VideoChunk, VideoInfo, VideoReadError, open_video, read_video_info

SHARED_VIDEOS = ["acrobacia.mp4", "vtest.avi", "bikes.mp4", "carphone_pristine.mp4"]
# Largest per-pixel difference measured between decord and PyAV RGB frames: 0 on the
# H.264 files, at most 2 on vtest.avi (MS-MPEG4; the bundled FFmpeg versions differ).
MAX_BACKEND_DIFF = 2
MAX_BACKEND_MEAN_DIFF = 0.01


def write_video(
    path: Path,
    num_frames: int,
    codec: str = "libx264",
    size: tuple[int, int] = (48, 64),
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
) -> Path:
    """Encode a deterministic test video: each frame's colour and bar position code its index."""
    height, width = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if options:
            stream.options = options
        for index in range(num_frames):
            image = np.zeros((height, width, 3), dtype=np.uint8)
            image[..., 0] = (index * 7) % 256
            image[:, (index * 3) % width, 1] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def all_frames(uri: str | Path, backend: str = "auto", chunk_size: int = 32) -> np.ndarray:
    """Every frame of a video, through iter_chunks."""
    with open_video(str(uri), backend=backend) as reader:
        return np.concatenate([chunk.frames for chunk in reader.iter_chunks(chunk_size)])


@pytest.mark.parametrize("name", SHARED_VIDEOS)
def test_info_reports_frame_count_rate_and_the_size_frames_decode_to(
    shared_data: Path, name: str
) -> None:
    info = read_video_info(str(shared_data / name))
    assert isinstance(info, VideoInfo)
    assert info.num_frames > 0 and info.fps > 0
    assert info.duration_s == pytest.approx(info.num_frames / info.fps)
    with open_video(str(shared_data / name)) as reader:
        assert reader.info == info
        last = reader.get_frames([info.num_frames - 1])
    assert last.shape == (1, info.height, info.width, 3)


def test_iter_chunks_yields_every_frame_once_in_order(shared_data: Path) -> None:
    path = str(shared_data / "bikes.mp4")
    with open_video(path) as reader:
        assert reader.backend == "decord"
        chunks = list(reader.iter_chunks(chunk_size=64))
        info = reader.info
    assert [chunk.start for chunk in chunks] == list(range(0, info.num_frames, 64))
    assert sum(len(chunk.frames) for chunk in chunks) == info.num_frames == 250
    for chunk in chunks:
        assert isinstance(chunk, VideoChunk)
        assert chunk.frames.dtype == np.uint8 and chunk.frames.flags.c_contiguous
        assert chunk.frames.shape[1:] == (info.height, info.width, 3)
        assert chunk.stop == chunk.start + len(chunk.frames)
    assert [len(chunk.frames) for chunk in chunks] == [64, 64, 64, 58]
    # In order: chunk k holds frames [start, stop) exactly as indexed reads return them.
    with open_video(path) as reader:
        probe = [0, 63, 64, 200, 249]
        expected = reader.get_frames(probe)
    frames = np.concatenate([chunk.frames for chunk in chunks])
    np.testing.assert_array_equal(frames[probe], expected)


def test_get_frames_returns_the_asked_frames_in_the_asked_order(shared_data: Path) -> None:
    path = shared_data / "carphone_pristine.mp4"
    reference = all_frames(path)
    indices = [17, 3, 3, 119, 0, 64]
    with open_video(str(path)) as reader:
        frames = reader.get_frames(indices)
    assert frames.shape == (len(indices), 144, 176, 3) and frames.flags.c_contiguous
    np.testing.assert_array_equal(frames, reference[indices])


def test_get_frames_of_no_indices_is_an_empty_batch(shared_data: Path) -> None:
    with open_video(str(shared_data / "carphone_pristine.mp4")) as reader:
        assert reader.get_frames([]).shape == (0, 144, 176, 3)
        assert reader.get_frames([], resize=(10, 20)).shape == (0, 10, 20, 3)


def test_resize_scales_chunks_and_indexed_frames_with_inter_area(shared_data: Path) -> None:
    path = str(shared_data / "carphone_pristine.mp4")
    native = all_frames(path)
    with open_video(path) as reader:
        chunks = list(reader.iter_chunks(chunk_size=50, resize=(72, 96)))
        picked = reader.get_frames([5, 1], resize=(72, 96))
    resized = np.concatenate([chunk.frames for chunk in chunks])
    assert resized.shape == (120, 72, 96, 3)
    expected = cv2.resize(native[5], (96, 72), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(resized[5], expected)
    np.testing.assert_array_equal(picked, resized[[5, 1]])


def test_decord_and_pyav_decode_the_same_frames_of_h264_videos(shared_data: Path) -> None:
    path = shared_data / "carphone_pristine.mp4"
    np.testing.assert_array_equal(
        all_frames(path, backend="decord"), all_frames(path, backend="pyav")
    )
    indices = [0, 37, 100, 149]
    with open_video(str(shared_data / "bikes.mp4"), backend="decord") as reader:
        decord_frames = reader.get_frames(indices)
    with open_video(str(shared_data / "bikes.mp4"), backend="pyav") as reader:
        pyav_frames = reader.get_frames(indices)
    np.testing.assert_array_equal(decord_frames, pyav_frames)


def test_decord_and_pyav_agree_within_two_levels_on_an_msmpeg4_avi(shared_data: Path) -> None:
    path = str(shared_data / "vtest.avi")
    indices = [0, 1, 50, 99, 150, 151, 199]
    with open_video(path, backend="decord") as reader:
        decord_frames = reader.get_frames(indices)
    with open_video(path, backend="pyav") as reader:
        pyav_frames = reader.get_frames(indices)
    diff = np.abs(decord_frames.astype(np.int16) - pyav_frames.astype(np.int16))
    assert diff.max() <= MAX_BACKEND_DIFF
    assert diff.mean() <= MAX_BACKEND_MEAN_DIFF


def test_pyav_backend_alone_reads_info_chunks_and_indices(shared_data: Path) -> None:
    path = str(shared_data / "carphone_pristine.mp4")
    with open_video(path, backend="pyav") as reader:
        assert reader.backend == "pyav"
        assert reader.info == read_video_info(path)
        chunks = list(reader.iter_chunks(chunk_size=40))
        picked = reader.get_frames([100, 7])
    assert [chunk.start for chunk in chunks] == [0, 40, 80]
    frames = np.concatenate([chunk.frames for chunk in chunks])
    assert frames.shape == (120, 144, 176, 3)
    np.testing.assert_array_equal(picked, frames[[100, 7]])


def test_reading_twice_gives_identical_frames(shared_data: Path) -> None:
    path = shared_data / "carphone_pristine.mp4"
    with open_video(str(path)) as reader:
        first = np.concatenate([chunk.frames for chunk in reader.iter_chunks(30)])
        second = np.concatenate([chunk.frames for chunk in reader.iter_chunks(30)])
    np.testing.assert_array_equal(first, second)


def test_chunks_are_independent_arrays_that_are_freed_as_iteration_goes_on(
    tmp_path: Path,
) -> None:
    path = write_video(tmp_path / "long.mp4", num_frames=400, size=(32, 32))
    for backend in ("decord", "pyav"):
        alive: list[weakref.ref[np.ndarray]] = []
        previous: np.ndarray | None = None
        with open_video(str(path), backend=backend) as reader:
            for chunk in reader.iter_chunks(chunk_size=16):
                assert chunk.frames.shape[0] == 16
                assert chunk.frames.base is None or chunk.frames.flags.owndata
                if previous is not None:
                    assert not np.shares_memory(previous, chunk.frames)
                previous = chunk.frames
                alive.append(weakref.ref(chunk.frames))
                del chunk
        del previous
        gc.collect()
        # Nothing but this loop held the frames: none of the 25 chunks outlives it.
        assert len(alive) == 25
        assert all(ref() is None for ref in alive), backend


def test_auto_falls_back_to_pyav_when_decord_cannot_open_the_codec(tmp_path: Path) -> None:
    # decord's bundled FFmpeg has no AV1 decoder; PyAV's has.
    path = write_video(tmp_path / "av1.mp4", 10, codec="libsvtav1", size=(64, 64))
    with open_video(str(path)) as reader:
        assert reader.backend == "pyav"
        assert reader.info.num_frames == 10
        frames = np.concatenate([chunk.frames for chunk in reader.iter_chunks(4)])
    assert frames.shape == (10, 64, 64, 3)


def test_auto_switches_to_pyav_when_decord_fails_mid_stream(tmp_path: Path) -> None:
    # decord opens an RGB PNG-in-MOV video 96 px wide but fails to copy out its frames
    # ("DECORDArrayCopyFromTo: The size must exactly match"); PyAV decodes it.
    path = write_video(tmp_path / "png.mov", 12, codec="png", pix_fmt="rgb24", size=(64, 96))
    expected = all_frames(path, backend="pyav")
    with open_video(str(path)) as reader:
        assert reader.backend == "decord"
        chunks = list(reader.iter_chunks(chunk_size=5))
        assert reader.backend == "pyav"
    assert [chunk.start for chunk in chunks] == [0, 5, 10]
    np.testing.assert_array_equal(np.concatenate([c.frames for c in chunks]), expected)
    with open_video(str(path)) as reader:
        np.testing.assert_array_equal(reader.get_frames([11, 2]), expected[[11, 2]])
        assert reader.backend == "pyav"


def test_a_video_stream_that_follows_an_audio_stream_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audio_first.mkv"
    with av.open(str(path), mode="w") as container:
        audio = container.add_stream("aac", rate=16000)
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for index in range(15):
            samples = np.zeros((1, 1024), dtype=np.float32)
            sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 16000, index * 1024
            container.mux(audio.encode(sound))
            image = np.full((48, 64, 3), index * 10, dtype=np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(audio.encode())
        container.mux(video.encode())
    for backend in ("decord", "pyav"):
        with open_video(str(path), backend=backend) as reader:
            assert reader.info.num_frames == 15
            assert reader.get_frames([14]).shape == (1, 48, 64, 3)


def test_get_frames_rejects_an_out_of_range_index_naming_it(shared_data: Path) -> None:
    with open_video(str(shared_data / "carphone_pristine.mp4")) as reader:
        with pytest.raises(IndexError, match=r"frame index 120 .*num_frames=120"):
            reader.get_frames([0, 120])
        with pytest.raises(IndexError, match=r"frame index -1 "):
            reader.get_frames([-1])
        with pytest.raises(TypeError, match=r"must be ints.*1.5"):
            reader.get_frames([1.5])  # type: ignore[list-item]


def test_bad_arguments_are_rejected_naming_the_argument(shared_data: Path) -> None:
    path = str(shared_data / "carphone_pristine.mp4")
    with pytest.raises(ValueError, match="backend must be one of"):
        open_video(path, backend="ffmpeg")  # type: ignore[arg-type]
    with open_video(path) as reader:
        with pytest.raises(ValueError, match="chunk_size must be a positive int"):
            reader.iter_chunks(chunk_size=0)
        with pytest.raises(ValueError, match=r"resize must be None or \(height, width\)"):
            reader.iter_chunks(resize=(0, 10))
        with pytest.raises(TypeError, match=r"resize must be None or \(height, width\)"):
            reader.get_frames([0], resize=(10,))  # type: ignore[arg-type]


def test_a_closed_reader_refuses_to_read(shared_data: Path) -> None:
    path = str(shared_data / "carphone_pristine.mp4")
    reader = open_video(path)
    chunks = reader.iter_chunks(chunk_size=10)
    next(chunks)
    reader.close()
    reader.close()
    with pytest.raises(ValueError, match="is closed"):
        next(chunks)
    with pytest.raises(ValueError, match="is closed"):
        reader.get_frames([0])


def test_file_uris_are_read_like_local_paths(shared_data: Path) -> None:
    path = shared_data / "carphone_pristine.mp4"
    assert read_video_info(path.as_uri()) == read_video_info(str(path))


@pytest.mark.s3
def test_s3_videos_decode_like_the_same_local_file(s3_bucket: str, tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", 20)
    uri = f"{s3_bucket}/videos/clip.mp4"
    storage.write_bytes(uri, path.read_bytes())
    for backend in ("decord", "pyav"):
        with open_video(uri, backend=backend) as reader:
            assert reader.uri == uri
            assert reader.info == read_video_info(str(path))
            frames = np.concatenate([chunk.frames for chunk in reader.iter_chunks(8)])
        np.testing.assert_array_equal(frames, all_frames(path))


@pytest.mark.s3
def test_a_missing_s3_object_is_reported_missing(s3_bucket: str) -> None:
    uri = f"{s3_bucket}/videos/absent.mp4"
    with pytest.raises(VideoReadError) as caught:
        open_video(uri)
    assert caught.value.reason == "missing"
    assert uri in str(caught.value)
