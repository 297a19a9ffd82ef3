"""The garbage collector and what a hub keeps for as long as it runs.

A worker holds a city's state: the registry and the rules' sites (~270 000 objects with
100 000 nodes), each owned node's rule state (~6 objects), and the batches in flight
(20 000 readings, a few objects each, alive until their commit). With CPython's default
thresholds (700, 10, 10) the collector ran ~17 full passes over all of that in one
100 000-reading drain of `bench/city.py` and ~4 800 young ones over the batches in flight:
~3.3 s of one worker's ~13 s of CPU, all of it holding the GIL.

Nearly everything a worker makes is freed by reference counting, not by the collector:
readings, batches, a node's superseded state. So young collections can be far rarer, and
what is long-lived is moved out of the collector's sight once it is loaded (`gc.freeze`;
frozen objects are still freed when nothing refers to them, only never scanned for
cycles)."""

from __future__ import annotations

import gc

# A young collection per 50 000 objects (not 700), an older one per 20 of those, and a
# full pass at most once per 10 older ones (and, as always, only once the survivors have
# grown by a quarter). Measured in bench/city.py (2026-12-06, timed with gc.callbacks):
# ~0.8-1.0 s of GC per drain instead of ~3.3, peak RSS unchanged (630-760 MB, one worker).
THRESHOLDS = (50_000, 20, 10)


def tune() -> None:
    """Set the collector's thresholds for this process (a hub worker)."""
    gc.set_threshold(*THRESHOLDS)


def settled() -> None:
    """What is alive now will live long (just loaded: the registry, a partition's state):
    keep it out of the collector's passes."""
    gc.freeze()
