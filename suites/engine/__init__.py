"""The generated engine: Hypothesis strategies of malformed and equivalent credentials built from a
spec (`_strategies`, `_template`), an oracle of what the spec says each one gets (`_oracle`), the
judge that runs the suite's own checks on every exchange (`_judge`), a guarded connection for live
targets (`_live`) and one session per provider (`_session`). Two modules are entry points: the
pytest plugin `suites.engine.plugin` (options, summary lines) and `python -m suites.engine.replay`
for one request.

The rest of the project uses these names only (tests/test_layout.py keeps it so).
"""
from ._judge import PROPERTY
from ._session import EngineOptions, EngineSession, strategy_names
from ._strategies import STRATEGIES

__all__ = ["PROPERTY", "STRATEGIES", "EngineOptions", "EngineSession", "strategy_names"]
