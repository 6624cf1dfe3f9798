"""Streaming keyframe detector: chunks of frames in, keyframe indices out, one decode pass."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from dance.config import KeyframeConfig
from dance.keyframes._baseline import remove_baseline
from dance.keyframes._peaks import find_peaks
from dance.keyframes._signal import BrightenedPixelCounter, gray_into, validate_frames

# With fewer frames there is no interior frame that could be a local maximum.
MIN_FRAMES = 3


class KeyframeDetector:
    """Feed a video's frames in order with update(); finish() returns its keyframe indices.

    update() counts each chunk on one worker thread while the caller decodes the next one;
    the counting (gray, blur, compare, count: one nogil compiled pass, or cv2 calls) runs
    without the GIL, so the two overlap. By default update() first copies the chunk to
    gray buffers, so the caller may reuse its array at once; a caller that leaves the array
    alone (``frames_stay_unchanged=True``, e.g. a decoder that returns a new array per
    chunk) hands it over as is, and the gray conversion runs on the worker too.
    Chunks are processed strictly in order and at most one is in flight, so results never
    depend on timing or chunk size. Memory: two gray chunk buffers (double buffering) and
    a few frame buffers, reused; plus the chunk in flight when it is the caller's.
    """

    def __init__(self, config: KeyframeConfig | None = None) -> None:
        """Start an empty detector; default config: the paper's (docs/method.md section 1)."""
        self.config = config if config is not None else KeyframeConfig()
        self._counter = BrightenedPixelCounter(self.config)
        self._counts: list[np.ndarray] = []
        self._num_frames = 0
        self._frame_size: tuple[int, int] | None = None
        self._gray_buffers: list[np.ndarray | None] = [None, None]
        self._next_buffer = 0
        self._worker: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    @property
    def num_frames(self) -> int:
        """Frames fed so far."""
        return self._num_frames

    def update(self, frames: np.ndarray, *, frames_stay_unchanged: bool = False) -> None:
        """Add the next chunk: (T,H,W,3) uint8 RGB or (T,H,W) uint8 gray, in video order.

        frames_stay_unchanged: the caller promises not to write to `frames` until the next
        update() or finish(), so it is read on the worker thread, not copied here.
        """
        frames = validate_frames(frames)
        if frames.shape[0] == 0:
            return
        size = (int(frames.shape[1]), int(frames.shape[2]))
        if self._frame_size is None:
            self._frame_size = size
        elif size != self._frame_size:
            raise ValueError(
                f"frame size changed mid-video from {self._frame_size} to {size}; feed one "
                "video per detector, or resize every chunk to the same size"
            )
        if not frames_stay_unchanged:
            # The caller may reuse its array: keep a gray copy (a third of an RGB chunk).
            frames = gray_into(frames, self._free_gray_buffer(frames.shape[0]))
        self._wait()
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyframes")
        self._pending = self._worker.submit(self._consume, frames)
        self._num_frames += frames.shape[0]

    def _free_gray_buffer(self, num_frames: int) -> np.ndarray:
        """The gray buffer not used by the chunk in flight, with room for num_frames."""
        assert self._frame_size is not None
        index, self._next_buffer = self._next_buffer, 1 - self._next_buffer
        buffer = self._gray_buffers[index]
        if buffer is None or buffer.shape[0] < num_frames:
            buffer = np.empty((num_frames, *self._frame_size), dtype=np.uint8)
            self._gray_buffers[index] = buffer
        return buffer

    def _consume(self, frames: np.ndarray) -> None:
        """Count a chunk (on the worker, one chunk at a time, in order)."""
        self._counts.append(self._counter.count(frames))

    def _wait(self) -> None:
        """Block until the chunk in flight is counted; re-raise its error, if any."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def signal(self) -> np.ndarray:
        """The per-frame brightened-pixel counts d_t fed so far (int64, d_0 = 0)."""
        self._wait()
        if not self._counts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(self._counts)

    def finish(self) -> np.ndarray:
        """Ascending int32 0-based keyframe indices of the frames fed (none below 3 frames)."""
        counts = self.signal()
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None
        self._gray_buffers = [None, None]
        if counts.size < MIN_FRAMES:
            return np.zeros(0, dtype=np.int32)
        return find_peaks(remove_baseline(counts, self.config), self.config)


def detect_keyframes(frames: np.ndarray, config: KeyframeConfig | None = None) -> np.ndarray:
    """Keyframe indices of a whole video held in one (T,H,W,3) RGB or (T,H,W) gray array."""
    detector = KeyframeDetector(config)
    detector.update(frames)
    return detector.finish()
