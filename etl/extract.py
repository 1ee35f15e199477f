"""The canonical ERP extract: the SPEC §3 frames travelling together."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import pandas as pd

from validation.contracts import empty_frame


@dataclass(frozen=True)
class Extract:
    """One extract of the ERP, every frame shaped as its SPEC §3 contract."""

    companies: pd.DataFrame
    customers: pd.DataFrame
    open_items: pd.DataFrame
    open_orders: pd.DataFrame
    payments: pd.DataFrame
    fx_rates: pd.DataFrame
    #: optional (an ERP without such documents has none): last, so the six-frame form still builds
    open_deliveries: pd.DataFrame = field(default_factory=lambda: empty_frame("open_deliveries"))

    @classmethod
    def empty(cls) -> Extract:
        return cls(**{f.name: empty_frame(f.name) for f in fields(cls)})

    @classmethod
    def entities(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in self.entities()}

    def replace(self, **frames: pd.DataFrame) -> Extract:
        return replace(self, **frames)
