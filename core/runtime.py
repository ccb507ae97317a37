"""Process-level tuning shared by the long-running workers (consumer, RQ worker)."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a process that churns short-lived acyclic objects.

    A consumer batch or an indicator run allocates thousands of small objects (payload models, dicts,
    strings); with the default thresholds the collector runs every 700 allocations and re-walks
    everything alive — the regions, the index, pandas, the day cache — which measured as half of the
    consumer's validation time and a third of an indicator run. Startup objects go to the permanent
    generation, and young collections run less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
