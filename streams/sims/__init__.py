"""Upstream simulators of all five sources on one simulated clock (see docs/simulator.md).

- :func:`streams.sims.runner.run_all` — live: licence initial load, then every enabled source into
  ``wf:in:<source>``, resumable from the clock kept in Redis (``wf:sim:clock``).
- :func:`streams.sims.scenario.generate` — pure: ``(source, entry fields)`` of an interval, no Redis.
- :class:`streams.sims.scenario.Scenario` — the same, plus :meth:`~Scenario.truth`, the injected
  anomalies' ground truth.
- ``python -m streams.sims.runner --days 1 --speed 0 --out FILE.jsonl`` — offline scenario files.
"""
