"""Target ``parse``: the document parser behind ``revcycle x12 parse`` and its JSON, on any bytes at all.

Allowed exceptions: none. The reader's contract is that it never raises on bad input; it reports problems.
Invariants after each case:

* ``json_view``: the JSON text loads back to the same document, and no number in it is a float (amounts
  are decimal strings).
* ``stream_equivalence`` (a quarter of the cases): the document read from a stream that hands out the bytes
  in small random pieces is the same as the one read from the bytes (chunk boundaries never matter).
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from fuzz.corpus import CorpusFile, load_corpus
from fuzz.engine import Case, InputFile, Violation
from fuzz.x12_cases import x12_input
from fuzz.x12_generate import Pool
from revcycle.x12.document import parse_document, to_json

_KEYS = ("FUZZ1", "A1B2C3", "K" * 20, "CLAIM-7")


class _Trickle(io.RawIOBase):
    """A binary stream that returns fewer bytes than asked for, like a pipe or a slow socket."""

    def __init__(self, data: bytes, rng: random.Random) -> None:
        self._data = data
        self._at = 0
        self._rng = rng

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._at >= len(self._data):
            return b""
        want = len(self._data) if size is None or size < 0 else size
        take = max(1, min(want, self._rng.choice((1, 2, 3, 7, 64, 500, 4096))))
        piece = self._data[self._at : self._at + take]
        self._at += len(piece)
        return piece


def _floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_floats(v) for v in value.values())
    if isinstance(value, list):
        return any(_floats(v) for v in value)
    return False


class ParseTarget:
    """``parse_document`` + ``to_json`` over mutated corpus files and generated X12."""

    name = "parse"
    allowed: tuple[type[BaseException], ...] = ()

    def __init__(self, chunk_size: int = 500, stream_share: float = 0.25) -> None:
        self.chunk_size = chunk_size
        self.stream_share = stream_share
        self.pool = Pool(_KEYS, (1, 2, 3))

    def open(self, workdir: Path) -> tuple[CorpusFile, ...]:
        return load_corpus()

    def reset(self, state: Any, seed: int, chunk: int) -> None:
        return None

    def make_case(self, seed: int, index: int, rng: random.Random) -> Case:
        recipe, _base, data = x12_input(rng, self.pool, load_corpus())
        stream = rng.random() < self.stream_share
        return Case(
            self.name,
            seed,
            index,
            recipe,
            (InputFile("case.x12", data),),
            {"stream_seed": rng.randrange(2**32) if stream else None},
        )

    def run(self, state: Any, case: Case) -> Iterator[list[Violation]]:
        data = case.files[0].data
        doc = parse_document(data, case.files[0].name)
        text = to_json(doc)
        found = []
        if json.loads(text) != doc:
            found.append(Violation("json_view", "the JSON text does not load back to the same document"))
        if _floats(doc):
            found.append(Violation("json_view", "the document holds a float (amounts must be decimal strings)"))
        stream_seed = case.meta.get("stream_seed")
        if stream_seed is not None:
            trickle = cast(BinaryIO, _Trickle(data, random.Random(stream_seed)))
            streamed = parse_document(trickle, case.files[0].name)
            if streamed != doc:
                found.append(
                    Violation("stream_equivalence", "reading the bytes in small pieces gives another document")
                )
        yield found

    def close(self, state: Any) -> None:
        return None
