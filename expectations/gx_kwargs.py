"""Build each expectation's configuration once per kwargs lookup while GX validates, instead of once per key.

GX 1.x's ``Expectation._get_domain_kwargs`` and ``_get_success_kwargs`` read ``self.configuration`` inside a
dict comprehension, once per domain and success key, and ``configuration`` serialises the whole expectation
each time (``self.dict()``, then a new ``ExpectationConfiguration``). Graph building asks for these kwargs
dozens of times per expectation: with the charges suite's 107 expectations, about 8,000 configurations per
validation, a third of a small export's validation time. The replacements below read the configuration's
kwargs once per call and return the same dicts (``tests/expectations/test_gx_kwargs.py`` compares them with
GX's own on every expectation of our suites). They replace GX's methods only for the duration of a
validation; on a GX release whose ``Expectation`` lacks these methods nothing is replaced. Two validations
overlapping in threads may leave the replacements in place after both end (each restores what it found);
since they return what GX's methods return, that changes speed only, never a result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from great_expectations.exceptions.exceptions import InvalidExpectationKwargsError
from great_expectations.expectations.expectation import Expectation

_gx_logger = logging.getLogger("great_expectations.expectations.expectation")  # where GX's own method logs


def domain_kwargs(expectation: Expectation) -> dict[str, Any]:
    """``Expectation._get_domain_kwargs`` with the configuration's kwargs read once."""
    kwargs = expectation.configuration.kwargs
    keys = expectation.domain_keys
    found = {key: kwargs.get(key, expectation._get_default_value(key)) for key in keys}
    missing = set(keys) - set(found)
    if missing:
        raise InvalidExpectationKwargsError(f"Missing domain kwargs: {list(missing)}")
    return found


def success_kwarg(expectation: Expectation, key: str, default: Any = None) -> Any:
    """``Expectation._get_success_kwarg`` with the configuration's kwargs read once (GX reads them twice)."""
    kwargs = expectation.configuration.kwargs
    if key in kwargs:
        return kwargs[key]
    field = expectation.__fields__.get(key)
    if field is not None:
        return field.default if not field.required else default
    _gx_logger.warning(
        f'_get_success_kwarg called with key "{key}", but it is not a known field of {type(expectation).__name__}'
    )
    return default


def success_kwargs(expectation: Expectation) -> dict[str, Any]:
    """``Expectation._get_success_kwargs`` with the configuration's kwargs read once."""
    domain = domain_kwargs(expectation)
    kwargs = expectation.configuration.kwargs
    found = {key: kwargs.get(key, expectation._get_default_value(key)) for key in expectation.success_keys}
    found.update(domain)
    return found


@contextmanager
def kwargs_read_once() -> Iterator[None]:
    """While inside, GX's expectations build their domain and success kwargs from one configuration each."""
    with ExitStack() as stack:
        replacements = {
            "_get_domain_kwargs": domain_kwargs,
            "_get_success_kwargs": success_kwargs,
            "_get_success_kwarg": success_kwarg,
        }
        for name, replacement in replacements.items():
            if callable(getattr(Expectation, name, None)):
                stack.enter_context(mock.patch.object(Expectation, name, replacement))
        yield
