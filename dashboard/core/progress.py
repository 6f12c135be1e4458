"""What a long task reports its progress to: a click progress bar, say."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told each time a long task has done some more steps."""

    def update(self, n_steps: int) -> None:
        """Advance by ``n_steps`` steps."""
