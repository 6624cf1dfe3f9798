"""Models on S3: a save_pretrained directory under s3:// loads as the same directory does locally.

Copies go to the machine's cache ($DANCE_CACHE_DIR), keyed by the URI and the listing, so
each test points the cache at its own folder.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from dance import storage
from dance.encoders import DualEncoder, ModelLoadError, VideoBackbone, build_tiny_videomae
from dance.workdir import path_sha256


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random VideoMAE written by save_pretrained."""
    return build_tiny_videomae(str(tmp_path_factory.mktemp("videomae")), num_labels=3)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own model cache."""
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "remote"


def upload(local_dir: str, uri: str) -> None:
    """Every file of `local_dir` to the prefix `uri`."""
    for path in sorted(Path(local_dir).rglob("*")):
        if path.is_file():
            relative = path.relative_to(local_dir).as_posix()
            storage.write_bytes(f"{uri}/{relative}", path.read_bytes())


def rewrite(local_dir: str, uri: str, scale: float, tmp_path: Path) -> str:
    """Upload `local_dir`'s model to `uri` with every weight multiplied by `scale`; its copy."""
    other = shutil.copytree(local_dir, tmp_path / f"scaled_{scale}")
    weights = load_file(other / "model.safetensors")
    save_file({name: value * scale for name, value in weights.items()}, other / "model.safetensors")
    upload(str(other), uri)
    return str(other)


def clips(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (2, 16, 40, 56, 3), dtype=np.uint8)


def test_a_backbone_on_s3_embeds_exactly_as_its_local_directory(
    s3_bucket: str, tiny_backbone: str, cache: Path
) -> None:
    upload(tiny_backbone, f"{s3_bucket}/models/backbone")
    remote = VideoBackbone.from_pretrained(f"{s3_bucket}/models/backbone")
    local = VideoBackbone.from_pretrained(tiny_backbone)
    np.testing.assert_array_equal(remote.embed(clips(0)), local.embed(clips(0)))


def test_a_dual_encoder_on_s3_loads_with_its_tokenizer(
    s3_bucket: str, tiny_encoders: dict[str, str], cache: Path
) -> None:
    upload(tiny_encoders["dual"], f"{s3_bucket}/models/dual")
    remote = DualEncoder.from_pretrained(f"{s3_bucket}/models/dual", kind="xclip")
    local = DualEncoder.from_pretrained(tiny_encoders["dual"], kind="xclip")
    texts = ["a ball", "a person on a beach"]
    np.testing.assert_array_equal(remote.embed_texts(texts), local.embed_texts(texts))


def test_an_unchanged_model_is_copied_once_per_machine(
    s3_bucket: str, tiny_backbone: str, cache: Path
) -> None:
    upload(tiny_backbone, f"{s3_bucket}/models/backbone")
    first = storage.local_copy(f"{s3_bucket}/models/backbone")
    second = storage.local_copy(f"{s3_bucket}/models/backbone")
    assert first == second and [p for p in cache.rglob("*") if p.is_dir()] == [
        Path(first).parent, Path(first)
    ]


def test_a_model_rewritten_on_s3_is_copied_anew(
    s3_bucket: str, tiny_backbone: str, tmp_path: Path, cache: Path
) -> None:
    uri = f"{s3_bucket}/models/backbone"
    upload(tiny_backbone, uri)
    before = VideoBackbone.from_pretrained(uri).embed(clips(1))
    rewritten = rewrite(tiny_backbone, uri, 1.5, tmp_path)
    after = VideoBackbone.from_pretrained(uri).embed(clips(1))
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, VideoBackbone.from_pretrained(rewritten).embed(clips(1)))


def unused_for_the_grace_period(copy: str) -> None:
    """Date a cached copy's last use back past the pruning grace period."""
    long_ago = time.time() - storage.SUPERSEDED_GRACE_S - 1
    os.utime(copy, (long_ago, long_ago))


def test_a_superseded_copy_is_kept_while_it_may_still_be_loading(
    s3_bucket: str, tiny_backbone: str, tmp_path: Path, cache: Path
) -> None:
    uri = f"{s3_bucket}/models/backbone"
    upload(tiny_backbone, uri)
    old = storage.local_copy(uri)
    rewrite(tiny_backbone, uri, 2.0, tmp_path)
    new = storage.local_copy(uri)
    assert new != old and os.path.isdir(old)


def test_a_superseded_copy_unused_for_the_grace_period_is_deleted(
    s3_bucket: str, tiny_backbone: str, tmp_path: Path, cache: Path
) -> None:
    uri = f"{s3_bucket}/models/backbone"
    upload(tiny_backbone, uri)
    old = storage.local_copy(uri)
    unused_for_the_grace_period(old)
    rewrite(tiny_backbone, uri, 2.0, tmp_path)
    new = storage.local_copy(uri)
    assert not os.path.exists(old) and os.listdir(Path(new).parent) == [Path(new).name]


def test_copies_of_other_uris_are_never_pruned(
    s3_bucket: str, tiny_backbone: str, tmp_path: Path, cache: Path
) -> None:
    upload(tiny_backbone, f"{s3_bucket}/models/a")
    upload(tiny_backbone, f"{s3_bucket}/models/b")
    other = storage.local_copy(f"{s3_bucket}/models/a")
    unused_for_the_grace_period(other)
    storage.local_copy(f"{s3_bucket}/models/b")
    rewrite(tiny_backbone, f"{s3_bucket}/models/b", 2.0, tmp_path)
    storage.local_copy(f"{s3_bucket}/models/b")
    assert os.path.isdir(other)


def test_pickled_weights_beside_a_model_on_s3_are_never_copied(
    s3_bucket: str, tiny_backbone: str, cache: Path
) -> None:
    uri = f"{s3_bucket}/models/backbone"
    upload(tiny_backbone, uri)
    storage.write_bytes(f"{uri}/pytorch_model.bin", b"not to be unpickled")
    VideoBackbone.from_pretrained(uri)
    copied = {p.name for p in cache.rglob("*") if p.is_file()}
    assert "model.safetensors" in copied and "pytorch_model.bin" not in copied


def test_an_s3_prefix_with_only_pickled_weights_is_refused_by_name(
    s3_bucket: str, cache: Path
) -> None:
    storage.write_bytes(f"{s3_bucket}/models/old/config.json", b"{}")
    storage.write_bytes(f"{s3_bucket}/models/old/pytorch_model.bin", b"pickle")
    with pytest.raises(ModelLoadError, match=r"s3://.*/models/old.*safetensors"):
        VideoBackbone.from_pretrained(f"{s3_bucket}/models/old")


def test_a_missing_s3_model_names_the_uri(s3_bucket: str, cache: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"s3://.*/models/nothing"):
        VideoBackbone.from_pretrained(f"{s3_bucket}/models/nothing")


def test_a_killed_copy_leaves_nothing_a_later_load_would_read(
    s3_bucket: str, tiny_backbone: str, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"{s3_bucket}/models/backbone"
    upload(tiny_backbone, uri)

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("shutil.copyfileobj", killed)
        with pytest.raises(KeyboardInterrupt):
            storage.local_copy(uri)
    assert not [p for p in cache.rglob("*") if p.is_file()]
    VideoBackbone.from_pretrained(uri)


def test_an_object_name_that_would_leave_the_copy_is_refused(
    s3_bucket: str, s3_endpoint: str, cache: Path
) -> None:
    import boto3

    bucket = s3_bucket.removeprefix("s3://")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_object(Bucket=bucket, Key="models/evil/config.json", Body=b"{}")
    client.put_object(Bucket=bucket, Key="models/evil/a/../../escape.json", Body=b"{}")
    with pytest.raises(storage.StorageError, match="escape.json"):
        storage.local_copy(f"{s3_bucket}/models/evil")


def test_a_model_on_s3_hashes_as_its_local_directory(
    s3_bucket: str, tiny_backbone: str, cache: Path
) -> None:
    upload(tiny_backbone, f"{s3_bucket}/models/backbone")
    assert path_sha256(f"{s3_bucket}/models/backbone") == path_sha256(tiny_backbone)
