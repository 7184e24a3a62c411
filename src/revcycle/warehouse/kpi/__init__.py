"""The KPIs a billing manager reads, one module per family, all defined once in ``registry``.

- ``claims``: clean-claim rate, first-pass acceptance, first-pass resolution;
- ``denials``: initial denial rates (over claims submitted and over claims remitted), reasons, write-offs;
- ``ar``: open A/R (insurance and patient), days in A/R, aging by date of service; ``ar_history``: the same
  open A/R on many dates from one read of the account ledger (the weekly series);
- ``payments``: cash collected, net collection rate, days to payment, underpayments;
- ``worklists``: what a person acts on, as views of each claim's next action;
- ``units``: what the figures count (a claim's first submission, held encounters, accounts);
- ``registry``: name, formula, unit, period and source of every figure; ``trends``: the weekly series;
- ``summary``: the run summary and the payer scorecard.

Each query is a SQLAlchemy ``Select`` built by a ``*_query`` function; ``revcycle.warehouse.views`` creates the
same queries as SQL views for BI tools, and ``docs/kpis.md`` is generated from the registry
(``python -m revcycle.warehouse.kpi.docs``).
"""
