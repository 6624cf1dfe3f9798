"""A mixin for objects that hold a resource released by `close()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self


class ClosesOnExit:
    """`with obj:` gives obj and calls `obj.close()` when the block ends, error or not."""

    def close(self) -> None:  # pragma: no cover - every subclass defines its own
        """Release the resource."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """Enter the context: the object itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leave the context: close."""
        self.close()
