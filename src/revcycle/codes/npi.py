"""NPI check digit (Luhn over the 80840 health-industry prefix, as CMS specifies)."""

from __future__ import annotations

# The constant CMS adds for the "80840" prefix when the Luhn sum runs over only the 9 NPI digits.
_PREFIX_SUM = 24


def npi_check_digit(first_nine: str) -> str:
    """The check digit that completes a 9-digit NPI stem."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("an NPI stem is 9 digits")
    total = _PREFIX_SUM
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:  # doubled: the rightmost stem digit and every second one leftwards
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_npi(value: str) -> bool:
    """True when ``value`` is 10 digits with a correct check digit."""
    return len(value) == 10 and value.isdigit() and npi_check_digit(value[:9]) == value[9]
