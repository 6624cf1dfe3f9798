"""Dataset roots on S3: an adapter lists the bucket once and gives the manifest the same
layout gives on disk, with s3:// uris."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dance import storage
from dance.datasets import (
    folder_manifest,
    haa500_manifest,
    kth_manifest,
    load_penn_action_keypoints,
    penn_action_manifest,
    ucf101_manifest,
)
from dance.manifest import Manifest, ManifestError


def upload(local: Path, uri: str) -> None:
    """Every file under `local` (hidden ones too) to the prefix `uri`."""
    for path in sorted(local.rglob("*")):
        if path.is_file():
            storage.write_bytes(f"{uri}/{path.relative_to(local).as_posix()}", path.read_bytes())


def rows(manifest: Manifest, root: str) -> list[tuple[str, str, str, str]]:
    """(video_id, label, split, uri relative to `root`) per row, sorted."""
    table = manifest.table.to_pydict()
    return sorted(
        (v, label, split, uri.removeprefix(root.rstrip("/") + "/"))
        for v, label, split, uri in zip(
            table["video_id"], table["label_name"], table["split"], table["uri"], strict=True
        )
    )


def touch(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


def ucf101_layout(root: Path) -> None:
    classes = ["ApplyEyeMakeup", "HandstandPushups"]
    touch(root, [f"UCF-101/{c}/v_{c}_g{g:02d}_c01.avi" for c in classes for g in (1, 8)])
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n")
    (lists / "trainlist01.txt").write_text(
        "".join(f"{c}/v_{c}_g08_c01.avi {i}\r\n" for i, c in enumerate(classes, 1))
    )
    (lists / "testlist01.txt").write_text("".join(f"{c}/v_{c}_g01_c01.avi\r\n" for c in classes))


def kth_layout(root: Path) -> None:
    touch(root, [f"{a}/person{p:02d}_{a}_d1_uncomp.avi" for a in ("boxing", "walking")
                 for p in (2, 11)])


def haa500_layout(root: Path) -> None:
    touch(root, [f"video/{c}_{i:03d}.mp4" for c in ("archery", "yoga_tree") for i in range(20)])


def folder_layout(root: Path) -> None:
    touch(root, [f"{s}/{c}/{s}{i}.mp4" for s in ("train", "test") for c in ("jump", "wave")
                 for i in range(3)] + ["train/jump/.DS_Store", ".hidden/x/1.mp4"])


def penn_action_layout(root: Path) -> None:
    """Two labelled clips: one as the release's frame folder, one as a video file."""
    import scipy.io

    (root / "labels").mkdir(parents=True)
    for video_id, action, train in (("0001", "bowl", 1), ("0002", "squat", -1)):
        joints = np.arange(26, dtype=np.float64).reshape(2, 13)
        scipy.io.savemat(root / "labels" / f"{video_id}.mat", {
            "action": action, "train": train, "x": joints, "y": joints + 100,
            "visibility": np.ones((2, 13)), "nframes": 2,
        })  # fmt: skip
    touch(root, ["frames/0001/000001.jpg", "frames/0001/000002.jpg", "videos/0002.mp4"])


ADAPTERS: dict[str, tuple[Callable[[Path], None], Callable[[str], Manifest]]] = {
    "ucf101": (ucf101_layout, ucf101_manifest),
    "kth": (kth_layout, kth_manifest),
    "haa500": (haa500_layout, haa500_manifest),
    "folder": (folder_layout, folder_manifest),
    "penn_action": (penn_action_layout, penn_action_manifest),
}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_root_on_s3_gives_the_manifest_of_the_same_layout_on_disk(
    name: str, s3_bucket: str, tmp_path: Path
) -> None:
    layout, adapter = ADAPTERS[name]
    layout(tmp_path)
    upload(tmp_path, f"{s3_bucket}/datasets/{name}")
    root = f"{s3_bucket}/datasets/{name}"
    on_s3, on_disk = adapter(root), adapter(str(tmp_path))
    assert all(uri.startswith(f"{root}/") for uri in on_s3.table["uri"].to_pylist())
    assert rows(on_s3, root) == rows(on_disk, str(tmp_path))
    assert on_s3.class_names == on_disk.class_names


def test_an_empty_s3_root_says_what_was_expected(s3_bucket: str) -> None:
    with pytest.raises(ManifestError, match=r"UCF-101: nothing under 's3://.*/nowhere'.*classInd"):
        ucf101_manifest(f"{s3_bucket}/nowhere")


def test_penn_action_keypoints_on_s3_are_those_on_disk(s3_bucket: str, tmp_path: Path) -> None:
    penn_action_layout(tmp_path)
    upload(tmp_path, f"{s3_bucket}/penn")
    np.testing.assert_array_equal(
        load_penn_action_keypoints(f"{s3_bucket}/penn", "0001"),
        load_penn_action_keypoints(str(tmp_path), "0001"),
    )


def test_a_dataset_config_with_an_s3_root_builds_its_manifest(
    s3_bucket: str, tmp_path: Path
) -> None:
    from dance.config import DatasetConfig
    from dance.datasets import build_manifest

    kth_layout(tmp_path)
    upload(tmp_path, f"{s3_bucket}/kth")
    manifest = build_manifest(DatasetConfig(name="kth", root=f"{s3_bucket}/kth", val_fraction=0))
    assert len(manifest) == 4
    assert all(uri.startswith(f"{s3_bucket}/kth/") for uri in manifest.table["uri"].to_pylist())
