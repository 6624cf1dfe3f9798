"""Frame folders as videos: a folder (or s3:// prefix) of images, one frame per image.

Penn Action ships its clips this way (``frames/0001/000001.jpg`` ...), and many datasets
are distributed as extracted frames. The images directly inside the folder (IMAGE_SUFFIXES,
any case; other files and subfolders are ignored) are the frames, in natural name order:
runs of digits compare as numbers, so ``2.jpg`` comes before ``10.jpg`` whether or not
the names are zero-padded. A folder records no frame rate, so FRAME_FOLDER_FPS is assumed.

Each frame is decoded on demand with OpenCV (``cv2.imdecode``, colour, then RGB), so memory
holds one chunk, as for a video file. Every frame must have the first frame's size; an
image that does not decode, or differs in size, fails the video with a VideoReadError
naming that image.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import cv2
import numpy as np

from ._errors import VideoReadError
from ._types import VideoInfo

NAME = "frames"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
# A frame folder records no frame rate (Penn Action's does not); the pipeline counts frames,
# so the rate only fills VideoInfo.fps and durations.
FRAME_FOLDER_FPS = 30.0
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading digit runs as numbers: '2.jpg' < '10.jpg' < 'b1.jpg'."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _DIGITS.split(name)
        if part
    )


def _frame_names(names: list[str]) -> list[str]:
    """The image names among `names`, in natural order."""
    images = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES) and not n.startswith(".")]
    return sorted(images, key=natural_key)


def local_frame_files(folder: str) -> list[str]:
    """Paths of the frame images directly inside a local folder, in natural order."""
    with os.scandir(folder) as entries:
        names = [entry.name for entry in entries if entry.is_file()]
    return [os.path.join(folder, name) for name in _frame_names(names)]


def s3_frame_files(prefix: str, listed: list[str]) -> list[str]:
    """URIs of the frame images directly under an s3:// prefix, from its listing `listed`
    (storage.list_files of the prefix), in natural order."""
    base = prefix.rstrip("/") + "/"
    names = [uri[len(base) :] for uri in listed if uri.startswith(base)]
    return [base + name for name in _frame_names([n for n in names if "/" not in n])]


def _read_bytes(location: str) -> bytes:
    """One frame image's bytes, local or s3:// (storage errors raised as OSError)."""
    if not location.startswith("s3://"):
        with open(location, "rb") as handle:
            return handle.read()
    from dance import storage

    try:
        return storage.read_bytes(location)
    except storage.StorageUnreachableError:
        raise  # the endpoint, not the frame, is at fault: let the caller retry
    except storage.StorageError as exc:
        raise OSError(str(exc)) from exc


class FrameFolderBackend:
    """A frame folder read like a decoded video: the same batches and indexed reads."""

    name = NAME

    def __init__(self, uri: str, frames: tuple[str, ...]) -> None:
        """Open the folder `uri` whose frame images are `frames` (at least one, in order)."""
        self._uri = uri
        self._frames = frames
        first = self._decode(0, expected=None)
        height, width = first.shape[:2]
        self.info = VideoInfo(len(frames), FRAME_FOLDER_FPS, int(height), int(width))

    def _decode(self, index: int, expected: tuple[int, int] | None) -> np.ndarray:
        """Frame `index` as (H, W, 3) uint8 RGB; a VideoReadError naming a bad image."""
        location = self._frames[index]
        shown = location.rsplit("/", 1)[-1] if "/" in location else os.path.basename(location)
        try:
            data = _read_bytes(location)
        except OSError as exc:
            raise VideoReadError(
                self._uri, "unreadable", f"frame image {shown!r} cannot be read: {exc}",
                hint="check the folder's permissions, or the bucket and credentials",
            ) from exc
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoReadError(
                self._uri, "unreadable", f"frame image {shown!r} does not decode",
                hint="replace that image with a valid one, or delete it",
            )
        if expected is not None and image.shape[:2] != expected:
            raise VideoReadError(
                self._uri, "unreadable",
                f"frame image {shown!r} is {image.shape[0]}x{image.shape[1]} pixels, the "
                f"first frame {expected[0]}x{expected[1]}",
                hint="give every frame of a clip the same size",
            )
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def _stack(self, indices: list[int]) -> np.ndarray:
        size = (self.info.height, self.info.width)
        return np.stack([self._decode(i, expected=size) for i in indices])

    def iter_batches(self, start: int, size: int) -> Iterator[np.ndarray]:
        """Frames from `start` to the end, `size` at a time."""
        for first in range(start, self.info.num_frames, size):
            yield self._stack(list(range(first, min(first + size, self.info.num_frames))))

    def read_indices(self, indices: list[int]) -> np.ndarray:
        """The frames at `indices` (sorted, unique)."""
        return self._stack(indices)

    def close(self) -> None:
        """Nothing is held open between reads."""
