"""A logging handler that keeps the records it is handed, for tests that look at what was logged."""

from __future__ import annotations

import logging


class RecordList(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
