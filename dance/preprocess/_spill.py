"""A per-video spill file of decoded frames: appended once in order, read back by index.

Frames go to a local temp file with ``ndarray.tofile`` and come back with ``os.pread``
(no memmap), so a video's frames never count in the decoding process's resident memory.
Each file name carries the writer's pid; `sweep_stale_spills` removes files whose writer
died (a SIGKILLed worker cannot run its cleanup).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from dance._closing import ClosesOnExit

SPILL_PREFIX = "dance-spill-"
SPILL_SUFFIX = ".frames"
_NAME = re.compile(rf"^{re.escape(SPILL_PREFIX)}(\d+)-.*{re.escape(SPILL_SUFFIX)}$")


def spill_directory(spill_dir: str | None) -> Path:
    """The folder spill files go to: `spill_dir`, else <system temp>/dance-spill (created)."""
    path = Path(spill_dir) if spill_dir else Path(tempfile.gettempdir()) / "dance-spill"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_spills(spill_dir: str | None) -> int:
    """Delete spill files in the folder whose writing process is gone; return how many."""
    removed = 0
    for entry in spill_directory(spill_dir).iterdir():
        match = _NAME.match(entry.name)
        if match and not _pid_alive(int(match.group(1))):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


class SpillBuffer(ClosesOnExit):
    """Frames of one video of a fixed (H, W, 3) uint8 shape, spilled to a temp file.

    Use as a context manager: the file is deleted on exit, also when decoding fails.
    """

    def __init__(self, spill_dir: str | None = None) -> None:
        """Prepare an empty buffer; the file is created with the first frames."""
        self._dir = spill_directory(spill_dir)
        self._path: str | None = None
        self._file = None
        self._frame_shape: tuple[int, int, int] | None = None
        self._count = 0

    @property
    def path(self) -> str | None:
        """The spill file, once frames were appended (None after close)."""
        return self._path

    @property
    def num_frames(self) -> int:
        """Frames appended so far."""
        return self._count

    def append(self, frames: np.ndarray) -> None:
        """Append (T, H, W, 3) uint8 frames; every call must use the same H and W."""
        if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.dtype != np.uint8:
            raise ValueError(
                "SpillBuffer.append needs a (T, H, W, 3) uint8 array, got "
                f"{getattr(frames, 'shape', type(frames).__name__)}"
            )
        shape = tuple(int(n) for n in frames.shape[1:])
        if self._frame_shape is None:
            fd, self._path = tempfile.mkstemp(
                prefix=f"{SPILL_PREFIX}{os.getpid()}-", suffix=SPILL_SUFFIX, dir=self._dir
            )
            self._file = os.fdopen(fd, "wb")
            self._frame_shape = shape  # type: ignore[assignment]
        elif shape != self._frame_shape:
            raise ValueError(
                f"SpillBuffer frames must all be {self._frame_shape}, got {shape}; resize "
                "every chunk the same way"
            )
        np.ascontiguousarray(frames).tofile(self._file)
        self._count += int(frames.shape[0])

    def read(self, indices: np.ndarray) -> np.ndarray:
        """Frames at ascending unique `indices` as a (len, H, W, 3) uint8 array."""
        wanted = np.asarray(indices, dtype=np.int64)
        if self._frame_shape is None or self._file is None:
            raise ValueError("SpillBuffer.read: no frames were appended (or it is closed)")
        if wanted.size and (wanted.min() < 0 or wanted.max() >= self._count):
            raise IndexError(
                f"spilled frame indices must be in 0..{self._count - 1}, got "
                f"{int(wanted.min())}..{int(wanted.max())}"
            )
        if np.any(np.diff(wanted) <= 0):
            raise ValueError("SpillBuffer.read needs ascending unique indices (use np.unique)")
        self._file.flush()
        frame_bytes = int(np.prod(self._frame_shape))
        out = np.empty((wanted.size, *self._frame_shape), dtype=np.uint8)
        flat = out.reshape(wanted.size, frame_bytes)
        fd = self._file.fileno()
        position = 0
        # Contiguous runs of indices are read with one pread each.
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        for run in np.split(wanted, breaks) if wanted.size else []:
            size = run.size * frame_bytes
            data = os.pread(fd, size, int(run[0]) * frame_bytes)
            if len(data) != size:
                raise OSError(f"short read from spill file {self._path}: {len(data)} of {size}")
            flat[position : position + run.size] = np.frombuffer(data, np.uint8).reshape(
                run.size, frame_bytes
            )
            position += run.size
        return out

    def close(self) -> None:
        """Close and delete the spill file; safe to call twice."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            Path(self._path).unlink(missing_ok=True)
            self._path = None
