"""Evaluation protocols: how many images each number is computed from (paper Appendix B.1).

`paper`: IS on 50,000 generated images in 10 splits of 5,000, as the authors' evaluation code scores
them (the paper's "5000 examples ... repeated 10 times"; docs/fidelity.md; splits of 500 bias IS
low); FID between 10,000 real images and the first 5,000 of the generated ones. `standard`: the
common modern protocol, IS and FID on 50,000 generated images, FID against the whole training set.
FIDs from different protocols are not comparable, so the protocol and both counts go in the record.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

from sngan_cli import SnganError


@dataclass(frozen=True)
class Protocol:
    name: str
    n_generated: int  # generated images; the Inception Score uses all of them
    is_splits: int
    n_generated_fid: int  # the first this many of them go into the FID
    n_reference: Optional[int]  # real images in the FID statistics; None = the whole split
    reference_split: str

    @property
    def is_split_size(self) -> int:
        return self.n_generated // self.is_splits

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {
    "paper": Protocol("paper", n_generated=50_000, is_splits=10, n_generated_fid=5_000, n_reference=10_000,
                      reference_split="train"),
    "standard": Protocol("standard", n_generated=50_000, is_splits=10, n_generated_fid=50_000, n_reference=None,
                         reference_split="train"),
}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise SnganError(f"protocol={name} is unknown: choose one of {', '.join(sorted(PROTOCOLS))}")
    return PROTOCOLS[name]
