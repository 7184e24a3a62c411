"""One X12 input for a case: a corpus sample, a generated file or random bytes, mutated or not."""

from __future__ import annotations

import random

from fuzz.corpus import CorpusFile
from fuzz.x12_generate import GENERATORS, Pool
from fuzz.x12_mutate import mutate


def x12_input(
    rng: random.Random,
    pool: Pool,
    corpus: tuple[CorpusFile, ...],
    *,
    kinds: tuple[str, ...] | None = None,
    folders: tuple[str, ...] | None = None,
    mutate_share: float = 0.9,
) -> tuple[str, bytes, bytes]:
    """(recipe, base bytes, case bytes): half from the corpus (``folders``), most of the rest generated (``kinds``).

    ``folders`` and ``kinds`` may name an entry more than once to draw it more often.

    The recipe names the source and every mutation with its position, never a value.
    """
    roll = rng.random()
    if roll < 0.5:
        # a folder first (``folders`` may repeat one to weight it), then a file in it
        folder = rng.choice(folders) if folders else None
        samples = [c for c in corpus if folder is None or c.folder == folder] or list(corpus)
        sample = rng.choice(samples)
        source, base = f"corpus:{sample.name}", sample.data
    elif roll < 0.97:
        kind = rng.choice(list(kinds or GENERATORS))
        source, base = f"generated:{kind}", GENERATORS[kind](rng, pool)
    else:
        source, base = "random-bytes", bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
    if rng.random() >= mutate_share:
        return source, base, base
    others = [c.data for c in rng.sample(corpus, min(3, len(corpus)))]
    data, labels = mutate(rng, base, others)
    return "|".join([source, *labels]), base, data
