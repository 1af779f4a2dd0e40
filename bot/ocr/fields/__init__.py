"""Field extraction per document type (trích xuất trường)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Extracted:
    """Fields and their confidences, built up by an extractor."""

    fields: dict[str, object] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)

    def put(self, name: str, value: object, conf: float) -> None:
        self.fields[name] = value
        self.confidence[name] = round(max(0.0, min(1.0, conf)), 3)
