"""Frame folders read as videos: one image per frame, natural name order, local or s3://."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dance import storage
from dance.config import BackboneConfig, ClipConfig, DualEncoderConfig, KeyframeConfig
from dance.preprocess import DecodePlan, decode_video
from dance.video import VideoReadError, open_video


def frame(index: int, height: int = 24, width: int = 32) -> np.ndarray:
    """An RGB frame whose colour and moving square say its index."""
    out = np.zeros((height, width, 3), dtype=np.uint8)
    out[..., 0], out[..., 1], out[..., 2] = index * 5 % 256, 255 - index * 5 % 256, 7
    left = index % (width - 8)
    out[4:12, left : left + 8] = 255
    return out


def write_folder(folder: Path, count: int, name: str = "{:06d}.png") -> list[np.ndarray]:
    """`count` lossless PNG frames named by `name`; the frames written, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = [frame(i) for i in range(count)]
    for i, image in enumerate(frames):
        cv2.imwrite(str(folder / name.format(i + 1)), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return frames


def test_a_folder_of_images_reads_as_a_video_of_its_frames(tmp_path: Path) -> None:
    written = write_folder(tmp_path / "0001", 9)
    with open_video(tmp_path / "0001") as reader:
        assert (reader.info.num_frames, reader.info.height, reader.info.width) == (9, 24, 32)
        chunks = np.concatenate([chunk.frames for chunk in reader.iter_chunks(4)])
        np.testing.assert_array_equal(chunks, np.stack(written))
        np.testing.assert_array_equal(reader.get_frames([8, 0]), np.stack([written[8], written[0]]))


def test_frame_names_sort_as_numbers_without_zero_padding(tmp_path: Path) -> None:
    written = write_folder(tmp_path / "clip", 12, name="frame_{}.png")
    with open_video(tmp_path / "clip") as reader:
        np.testing.assert_array_equal(reader.get_frames(range(12)), np.stack(written))


def test_other_files_and_subfolders_in_a_frame_folder_are_ignored(tmp_path: Path) -> None:
    written = write_folder(tmp_path / "clip", 3)
    (tmp_path / "clip" / "notes.txt").write_text("not a frame")
    (tmp_path / "clip" / ".DS_Store").write_bytes(b"\0")
    write_folder(tmp_path / "clip" / "thumbnails", 2)
    with open_video(tmp_path / "clip") as reader:
        np.testing.assert_array_equal(reader.get_frames(range(3)), np.stack(written))


def test_a_frame_that_does_not_decode_fails_the_video_naming_the_image(tmp_path: Path) -> None:
    write_folder(tmp_path / "clip", 4)
    (tmp_path / "clip" / "000003.png").write_bytes(b"not an image")
    with open_video(tmp_path / "clip") as reader, pytest.raises(VideoReadError) as caught:
        list(reader.iter_chunks(2))
    assert caught.value.reason == "unreadable" and "000003.png" in str(caught.value)


def test_a_frame_of_another_size_fails_the_video_naming_the_image(tmp_path: Path) -> None:
    write_folder(tmp_path / "clip", 3)
    cv2.imwrite(str(tmp_path / "clip" / "000002.png"), frame(1, height=20))
    with open_video(tmp_path / "clip") as reader, pytest.raises(VideoReadError) as caught:
        reader.get_frames([1])
    assert "000002.png" in str(caught.value) and "20x32" in str(caught.value)


def test_a_frame_folder_on_s3_reads_as_the_local_one(tmp_path: Path, s3_bucket: str) -> None:
    written = write_folder(tmp_path / "0001", 5)
    for path in sorted((tmp_path / "0001").iterdir()):
        storage.write_bytes(f"{s3_bucket}/frames/0001/{path.name}", path.read_bytes())
    with open_video(f"{s3_bucket}/frames/0001") as reader:
        np.testing.assert_array_equal(reader.get_frames(range(5)), np.stack(written))


def test_a_missing_s3_frame_folder_is_missing(s3_bucket: str) -> None:
    with pytest.raises(VideoReadError) as caught:
        open_video(f"{s3_bucket}/frames/none")
    assert caught.value.reason == "missing"


def test_preprocess_decodes_a_penn_action_frame_folder(tmp_path: Path) -> None:
    write_folder(tmp_path / "frames" / "0001", 40, name="{:06d}.jpg")
    plan = DecodePlan(
        KeyframeConfig(), ClipConfig(), BackboneConfig(), DualEncoderConfig(),
        spill_dir=str(tmp_path / "spill"),
    )
    row = decode_video("0001", str(tmp_path / "frames" / "0001"), plan)
    assert row["status"] == "ok", row.get("error")
    assert row["num_frames"] == 40 and (row["height"], row["width"]) == (24, 32)
    assert row["keyframes"], "key clips need keyframes"
