"""The fuzz harness: ``python -m fuzz`` runs seeded, reproducible campaigns against three targets.

``parse`` (the X12 document parser and its JSON), ``ingest`` (response files into a scratch warehouse, with
the warehouse invariants checked after every file) and ``intake`` (faulty charge exports through the reader,
the GX gate and the intake). See docs/fuzzing.md. Not part of the installed distribution.
"""
