"""Payer connectors: one file per payer, found automatically.

Every module in this package whose name does not start with ``_`` must define ``PAYER``, a
``revcycle.payers.PayerProfile``. Installed packages add payers through the ``revcycle.payers`` entry point
group (each entry point names a ``PayerProfile``). ``tests/contract/test_payer_contract.py`` runs over all
of them without being edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points

from revcycle.errors import ConfigurationError, UnknownPayerError
from revcycle.payers import PayerProfile

ENTRY_POINT_GROUP = "revcycle.payers"


@cache
def registered_payers() -> dict[str, PayerProfile]:
    """Every registered payer by payer id: this package's files first, then installed entry points."""
    found: dict[str, PayerProfile] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        profile = getattr(module, "PAYER", None)
        if not isinstance(profile, PayerProfile):
            raise ConfigurationError(f"payer file {module_info.name}.py must define PAYER = PayerProfile(...)")
        _register(found, profile, module_info.name)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        profile = entry.load()
        if not isinstance(profile, PayerProfile):
            raise ConfigurationError(f"entry point {entry.name} does not name a PayerProfile")
        _register(found, profile, entry.name)
    return found


def _register(found: dict[str, PayerProfile], profile: PayerProfile, origin: str) -> None:
    if profile.payer_id in found:
        raise ConfigurationError(f"payer id {profile.payer_id} is declared twice (again in {origin})")
    found[profile.payer_id] = profile


def get_payer(payer_id: str) -> PayerProfile:
    """The payer registered under ``payer_id``; an operator-readable error when there is none."""
    try:
        return registered_payers()[payer_id]
    except KeyError:
        known = ", ".join(sorted(registered_payers()))
        raise UnknownPayerError(
            f"no payer connector for payer id {payer_id!r} (known: {known}); add connectors/payers/<name>.py"
        ) from None
