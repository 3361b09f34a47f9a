"""Evaluation protocols: how many images each number is computed from (SPEC section 4, paper Appendix B.1).

`paper`: IS on 5,000 generated images in 10 splits; FID between 10,000 real and those 5,000
generated images. `standard`: the common modern protocol, 50,000 generated images against the whole
training set. FIDs from different protocols are not comparable, so the protocol goes in the record.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from sngan_cli import SnganError


@dataclass(frozen=True)
class Protocol:
    name: str
    n_generated: int  # generated images, used for both IS and FID
    is_splits: int
    n_reference: Optional[int]  # real images in the FID statistics; None = the whole split
    reference_split: str

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {
    "paper": Protocol("paper", n_generated=5_000, is_splits=10, n_reference=10_000, reference_split="train"),
    "standard": Protocol("standard", n_generated=50_000, is_splits=10, n_reference=None, reference_split="train"),
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise SnganError(f"protocol={name} is unknown: choose one of {', '.join(sorted(PROTOCOLS))}")
    return PROTOCOLS[name]
