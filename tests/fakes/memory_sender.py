"""An in-memory channel sender: our own port (ChannelSender), faked honestly in memory."""

from __future__ import annotations

from collections import defaultdict

from backend.domain.messages import DeliveryError, Outbound


class MemorySender:
    """Records what would be sent; can be told to fail for a user a number of times."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []
        self._failures: dict[str, list[DeliveryError]] = defaultdict(list)

    def fail(self, user_id: str, error: DeliveryError, times: int = 1) -> None:
        self._failures[user_id].extend([error] * times)

    async def send(self, user_id: str, message: Outbound) -> None:
        if self._failures[user_id]:
            raise self._failures[user_id].pop(0)
        self.sent.append((user_id, message))

    def to(self, user_id: str) -> list[Outbound]:
        return [m for u, m in self.sent if u == user_id]
