"""Charge exports (``revcycle.synth``) with the faults real EHR exports have, cell by cell and byte by byte.

Row and column faults are applied to the rows before they are written; serialisation faults (delimiter,
quoting, line ends, encoding) when writing; byte faults afterwards. Every value is synthetic.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from typing import Literal

from revcycle.charge_export import COLUMN_NAMES, REQUIRED_COLUMNS

AS_OF = date(2024, 5, 1)

# Values a cell may take: delimiters of X12 (the PA*7781 of issue 9), odd numbers, dates, text.
_ODD_CELLS = (
    "PA*7781",
    "AUTH~99",
    "GRP:1^2",
    "A|B",
    "ORIG*CLAIM~1",
    "",
    " ",
    "\t",
    "Zoë",
    "ÉMILE",
    "\u00a0",
    "\u200b",
    "\U0001f600",
    "\x00",
    "=HYPERLINK(1)",
    "0",
    "-1",
    "1e309",
    "NaN",
    "inf",
    "1,000.00",
    "12.345",
    "99999999999999999999.99",
    "１２",
    "\u0661",
    "2024-02-30",
    "0000-01-01",
    "99999-01-01",
    "2024/05/01",
    "05/01/2024",
    "X" * 5000,
    '"quoted"',
    "line\nbreak",
    "cr\rreturn",
    "a,b,c",
    "1:2:3:4:5",
    "13",
    "0:1",
    "self",
    "institutional",
    "7",
    "8",
)


def _rows(rng: random.Random) -> list[dict[str, str]]:
    from connectors.payers import registered_payers
    from revcycle.synth import generate_charge_rows, inject_defects

    payers = list(registered_payers().values())
    rows = list(
        generate_charge_rows(
            payers,
            encounters=rng.randint(1, 12),
            seed=rng.randrange(10**6),
            as_of=AS_OF,
            id_prefix=rng.choice(("S", "T", "U")) + str(rng.randrange(50)),
        )
    )
    if rng.random() < 0.3:
        rows, _defects = inject_defects(
            rows, rng.choice((0.05, 0.2, 0.5)), rng.randrange(10**6), payers=payers, as_of=AS_OF
        )
    return rows


def _cell_faults(rng: random.Random, rows: list[dict[str, str]], labels: list[str]) -> None:
    for _ in range(rng.randint(1, 4)):
        if not rows:
            return
        row = rng.choice(rows)
        column = (
            rng.choice(list(row))
            if rng.random() < 0.6
            else rng.choice(
                (
                    "prior_authorization",
                    "group_number",
                    "original_claim_number",
                    "member_id",
                    "charge_id",
                    "charge_amount",
                    "units",
                    "diagnosis_pointers",
                    "service_date_from",
                    "claim_frequency_code",
                    "encounter_id",
                    "payer_id",
                    "claim_type",
                    "relationship",
                    "procedure_code",
                )
            )
        )
        row[column] = rng.choice(_ODD_CELLS)
        labels.append(f"cell:{column}")


def _row_faults(rng: random.Random, rows: list[dict[str, str]], labels: list[str]) -> list[dict[str, str]]:
    op = rng.choice(("duplicate-row", "same-id-other-row", "blank-ids", "drop-rows", "shuffle", "many-rows"))
    if not rows:
        return rows
    if op == "duplicate-row":
        k = rng.randrange(len(rows))
        rows.insert(k, dict(rows[k]))
    elif op == "same-id-other-row":
        a, b = rng.randrange(len(rows)), rng.randrange(len(rows))
        rows[b] = dict(rows[b]) | {"charge_id": rows[a]["charge_id"]}
    elif op == "blank-ids":
        for row in rng.sample(rows, rng.randint(1, len(rows))):
            row["charge_id"] = ""
    elif op == "drop-rows":
        del rows[rng.randrange(len(rows)) :]
    elif op == "shuffle":
        rng.shuffle(rows)
    else:
        rows = rows * rng.randint(2, 5)
    labels.append(op)
    return rows


def _columns(rng: random.Random, labels: list[str]) -> list[str]:
    columns = list(COLUMN_NAMES)
    op = rng.choice(("drop-required", "drop-optional", "extra", "rename", "case", "space", "duplicate", "reorder"))
    optional = [c for c in columns if c not in REQUIRED_COLUMNS]
    if op == "drop-required":
        columns.remove(rng.choice(REQUIRED_COLUMNS))
    elif op == "drop-optional":
        columns.remove(rng.choice(optional))
    elif op == "extra":
        columns.insert(rng.randrange(len(columns) + 1), rng.choice(("notes", "", "Unnamed: 0", "charge_id.1")))
    elif op == "rename":
        k = rng.randrange(len(columns))
        columns[k] = columns[k].replace("_", " ")
    elif op == "case":
        k = rng.randrange(len(columns))
        columns[k] = columns[k].upper()
    elif op == "space":
        k = rng.randrange(len(columns))
        columns[k] = f" {columns[k]} "
    elif op == "duplicate":
        columns.insert(rng.randrange(len(columns) + 1), rng.choice(columns))
    else:
        rng.shuffle(columns)
    labels.append(f"columns:{op}")
    return columns


def _write(rng: random.Random, rows: list[dict[str, str]], columns: list[str], labels: list[str]) -> bytes:
    delimiter = ","
    quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL
    terminator = "\r\n"
    encoding = "utf-8"
    if rng.random() < 0.08:
        delimiter = rng.choice((";", "\t", "|"))
        labels.append("delimiter")
    if rng.random() < 0.1:
        quoting = rng.choice((csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, csv.QUOTE_NONE))
        labels.append("quoting")
    if rng.random() < 0.2:
        terminator = rng.choice(("\n", "\r"))
        labels.append("line-ends")
    if rng.random() < 0.12:
        encoding = rng.choice(("utf-8-sig", "utf-16", "latin-1", "cp1252", "utf-16-le"))
        labels.append(f"encoding:{encoding}")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=terminator, escapechar="\\")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c.strip().lower().replace(" ", "_"), "") for c in columns])
    return out.getvalue().encode(encoding, errors="replace")


def _byte_faults(rng: random.Random, data: bytes, labels: list[str]) -> bytes:
    op = rng.choice(("truncate", "flip", "unbalanced-quote", "nul", "junk-line", "bom-middle"))
    if op == "truncate":
        data = data[: rng.randrange(len(data) + 1)]
    elif op == "flip" and data:
        out = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        data = bytes(out)
    elif op == "unbalanced-quote":
        at = rng.randrange(len(data) + 1)
        data = data[:at] + b'"' + data[at:]
    elif op == "nul":
        at = rng.randrange(len(data) + 1)
        data = data[:at] + b"\x00" * rng.randint(1, 4) + data[at:]
    elif op == "junk-line":
        at = data.find(b"\n") + 1
        data = data[:at] + b"this is not, a charge line\n" + data[at:]
    else:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + b"\xef\xbb\xbf" + data[at:]
    labels.append(f"bytes:{op}")
    return data


def charge_export_case(rng: random.Random) -> tuple[str, bytes]:
    """A charge export with faults: (recipe, bytes). About one in ten is left clean."""
    roll = rng.random()
    if roll < 0.03:
        return "empty", b""
    if roll < 0.06:
        return "header-only", (",".join(COLUMN_NAMES) + "\r\n").encode()
    if roll < 0.09:
        return "binary", bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))
    labels: list[str] = []
    rows = _rows(rng)
    if rng.random() < 0.6:
        _cell_faults(rng, rows, labels)
    if rng.random() < 0.3:
        rows = _row_faults(rng, rows, labels)
    columns = _columns(rng, labels) if rng.random() < 0.15 else list(COLUMN_NAMES)
    data = _write(rng, rows, columns, labels)
    if rng.random() < 0.12:
        data = _byte_faults(rng, data, labels)
    return "synth|" + "|".join(labels or ["clean"]), data
