"""Scalars of a run's TensorBoard event files (``sigma_exact/<layer>``, ``time/step_s``), read with
TensorBoard's EventAccumulator; imported only when a figure needs them (TensorBoard is slow to load)."""
from __future__ import annotations

from typing import Dict, List, Tuple

Points = List[Tuple[int, float]]

# keep every scalar; images (the sample grids) and the rest are not needed
_SIZE_GUIDANCE = {"scalars": 0, "images": 1, "tensors": 1, "histograms": 1, "audio": 1, "compressedHistograms": 1}


def scalars(run_dir: str, prefix: str) -> Dict[str, Points]:
    """Tag -> (step, value) points, in step order, for every scalar tag starting with ``prefix``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(run_dir, size_guidance=_SIZE_GUIDANCE)
    accumulator.Reload()
    return {tag: sorted((e.step, e.value) for e in accumulator.Scalars(tag))
            for tag in accumulator.Tags().get("scalars", []) if tag.startswith(prefix)}
