"""The composite engine: indices built as the OECD/JRC Handbook and COINr build them.

Modules: ``specification`` (every choice, as pydantic models), ``hierarchy`` (indicators →
aggregates → index), ``data`` (COINr-format inputs), ``preprocess`` (denominate, screen, impute,
treat outliers), ``normalise``, ``aggregate`` (and rank), ``build`` (one index with its replayable
log) and ``uncertainty`` (Monte Carlo ranks and sensitivity indices). Imports nothing else of
``indicators``.
"""
