"""An independent structure check for the 270, 271, 276 and 277 (X212) files we write.

pyx12 4.0 cannot validate these transactions (its 270/271 and 276 maps are absent or commented out of its
map index, and its unregistered 277 X212 map nests 2000C outside 2000B and rejects valid samples), so the
tests check what we write against this table instead. It is written from the guides' structure as public
sources give it, not from our writers:

- loop order and segment repeats: x12sdk 2.2.0's loop models (x12_270/271_005010X279A1,
  x12_276/277_005010X212 ``loops.py``), the corpus samples, and pyx12's 277.5010.X212.xml for segment usage
  (R required, S situational, N not used) of the X212 loops;
- element usage and code values: x12sdk's segment models (``segments.py``: e.g. BHT01 0022 for 270/271,
  0010 for 276/277; 2100D NM108/NM109 not used for a 270 dependent) and the pyx12 X212 map (e.g. STC03,
  STC07 and STC12 not used; 2000E HL04 not used; 2100E NM108/NM109 not used).

The file is split naively with the ISA's own delimiters (element ISA[3], repetition ISA[82], component
ISA[104], terminator ISA[105]); nothing of the project's reader is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = str | frozenset[str] | Callable[[str], bool]

DATE8 = r"^\d{8}$"
NUMBER = r"^-?(\d+(\.\d+)?|\.\d+)$"
_SERVICE_TYPE = re.compile(r"^[0-9A-Z]{1,2}$")

# EB01 (x12sdk EbSegment.EligibilityBenefitInformationCode)
EB01 = frozenset(
    [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "A",
        "B",
        "C",
        "CB",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "J",
        "K",
        "L",
        "M",
        "MC",
        "N",
        "O",
        "P",
        "Q",
        "R",
        "S",
        "T",
        "U",
        "V",
        "W",
        "X",
        "Y",
    ]
)
# EB02 coverage level, EB06 time period (x12sdk EbSegment enums)
EB02 = frozenset(["CHD", "DEP", "ECH", "EMP", "ESP", "FAM", "IND", "SPC", "SPO"]) | {""}
EB06 = frozenset(
    ["6", "7", "13", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36"]
) | {""}
AAA04 = frozenset(["C", "N", "P", "R", "S", "W", "X", "Y"])
PAYER_ID_QUALIFIERS = frozenset({"PI", "XV"})


def _split(data: bytes) -> tuple[list[list[str]], str, str, str]:
    text = data.decode("ascii")
    element, repetition, component, terminator = text[3], text[82], text[104], text[105]
    pieces = [p.strip("\r\n") for p in text.split(terminator)]
    return [p.split(element) for p in pieces if p], repetition, component, text[: text.index(terminator) + 1]


def _tag(seg: list[str]) -> str:
    sid = seg[0]
    if sid in ("HL",):
        return "HL" + (seg[3] if len(seg) > 3 else "")
    if sid in ("NM1", "TRN", "DTP", "REF", "AMT"):
        return sid + (seg[1] if len(seg) > 1 else "")
    return sid


def _grammar(spec: str, macros: dict[str, str]) -> re.Pattern[str]:
    for name, body in macros.items():
        spec = spec.replace(name, f"({body})")
    out = []
    for piece in re.findall(r"[A-Za-z0-9]+|[()?*+|]", spec):
        if piece == "(":
            out.append("(?:")
        elif piece in ")?*+|":
            out.append(piece)
        elif piece in ("NM1any", "REFany"):
            out.append(rf"(?:{piece[:3]}[A-Z0-9]+ )")
        else:
            out.append(f"(?:{re.escape(piece)} )")
    return re.compile("".join(out))


# Loop structure, one token per segment (HL, NM1, TRN, DTP, REF, AMT tagged with their qualifier).
GRAMMARS: dict[str, re.Pattern[str]] = {
    # 2000A HL 20, 2100A NM1*PR; 2000B HL 21, 2100B NM1*1P; 2000C HL 22, TRN, 2100C NM1*IL, DMG, DTP*291,
    # 2110C EQ; 2000D HL 23, TRN, 2100D NM1*03, DMG, DTP*291, 2110D EQ (required for the dependent asked about)
    "270": _grammar(
        "ST BHT (HL20 NM1PR (HL21 NM11P (HL22 TRN1? NM1IL DMG? DTP291? EQ* "
        "(HL23 TRN1 NM103 DMG? DTP291? EQ+)*)+)+)+ SE",
        {},
    ),
    # 2100A/2100B/2100C/2100D AAA after the NM1 (2100C/D: NM1, AAA, DMG, INS, DTP); 2110 EB, REF, DTP, AAA,
    # then LS*2120, 2120 NM1, LE*2120
    "271": _grammar(
        "ST BHT (HL20 NM1PR AAA* (HL21 NM11P AAA* (HL22 TRN2? NM1IL AAA* DMG? DTPany* EBLOOP* "
        "(HL23 TRN2? NM103 AAA* DMG? INS? DTPany* EBLOOP*)*)*)+)+ SE",
        {"EBLOOP": "EB REFany* DTPany* AAA* (LS NM1any+ LE)?", "DTPany": "DTP346|DTP347|DTP291|DTP356|DTP357|DTP290"},
    ),
    # 2000C HL 19 (service provider), 2000D HL 22 with DMG before 2100D NM1*IL, 2200D TRN, REF, AMT*T3,
    # DTP*472, 2210D SVC; 2000E HL 23, DMG, 2100E NM1*QC, 2200E
    "276": _grammar(
        "ST BHT (HL20 NM1PR (HL21 NM141 (HL19 NM11P (HL22 DMG? NM1IL CLAIM* (HL23 DMG NM1QC CLAIM+)*)+)+)+)+ SE",
        {"CLAIM": "TRN1 REF1K? REFBLT? REFEJ? AMTT3? DTP472? (SVC REFFJ? DTP472)*"},
    ),
    # 2200D TRN*2, STC (1 or more), REF*1K, REF*BLT, REF*EJ, DTP*472; 2220D SVC, STC, REF*FJ, DTP*472
    "277": _grammar(
        "ST BHT (HL20 NM1PR (HL21 NM141 (TRN2 STC+)? (HL19 NM11P (TRN1 STC+)? "
        "(HL22 NM1IL CLAIM* (HL23 NM1QC CLAIM+)*)*)*)+)+ SE",
        {"CLAIM": "TRN2 STC+ REF1K? REFBLT? REFEJ? REFD9? DTP472? (SVC STC+ REFFJ? DTP472)*"},
    ),
}


def _service_types(value: str, repetition: str) -> bool:
    return bool(value) and all(_SERVICE_TYPE.match(v) for v in value.split(repetition))


def _date_value(seg: list[str]) -> bool:
    fmt, value = ([*seg, "", "", ""])[2:4]
    if fmt == "D8":
        return re.match(DATE8, value) is not None
    return fmt == "RD8" and re.match(r"^\d{8}-\d{8}$", value) is not None and value[:8] <= value[9:]


# element rules per segment tag: position -> "R" required, "N" not used, a code set, or a regex
COMMON: dict[str, dict[int, Rule]] = {
    "DMG": {1: frozenset({"D8"}), 2: DATE8, 3: frozenset({"M", "F", "U", ""})},  # DMG01-DMG03
    "AAA": {1: frozenset({"Y", "N"}), 2: "N", 3: r"^[0-9A-Z]{2}$", 4: AAA04},  # valid, agency, reason, follow-up
}
RULES: dict[str, dict[str, dict[int, Rule]]] = {
    "270": {
        "ST": {1: frozenset({"270"}), 2: r"^\d{4,9}$", 3: frozenset({"005010X279A1"})},
        "BHT": {1: frozenset({"0022"}), 2: frozenset({"13"}), 3: "R", 4: DATE8, 5: r"^\d{4}$"},
        "HL20": {1: "R", 2: "N", 4: frozenset({"1"})},
        "HL21": {1: "R", 2: "R", 4: frozenset({"1"})},
        "HL22": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL23": {1: "R", 2: "R", 4: frozenset({"0"})},
        "NM1PR": {2: frozenset({"2"}), 3: "R", 8: PAYER_ID_QUALIFIERS, 9: "R"},  # 2100A payer
        "NM11P": {2: frozenset({"1", "2"}), 3: "R", 8: frozenset({"XX"}), 9: r"^\d{10}$"},  # 2100B NPI
        "NM1IL": {2: frozenset({"1"}), 8: frozenset({"MI"}), 9: "R"},  # 2100C subscriber, member id
        "NM103": {2: frozenset({"1"}), 3: "R", 4: "R", 8: "N", 9: "N"},  # 2100D dependent: NM108/09 not used
        "TRN1": {2: r"^.{1,50}$", 3: r"^.{10}$"},  # trace number, 10-character originator
        "DTP291": {2: frozenset({"D8", "RD8"})},
    },
    "271": {
        "ST": {1: frozenset({"271"}), 2: r"^\d{4,9}$", 3: frozenset({"005010X279A1"})},
        "BHT": {1: frozenset({"0022"}), 2: frozenset({"11", "06"}), 3: "R", 4: DATE8, 5: r"^\d{4}$"},
        "HL20": {1: "R", 2: "N", 4: frozenset({"1"})},
        "HL21": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL22": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL23": {1: "R", 2: "R", 4: frozenset({"0"})},
        "NM1PR": {2: frozenset({"2"}), 3: "R", 8: PAYER_ID_QUALIFIERS, 9: "R"},
        "NM11P": {2: frozenset({"1", "2"}), 3: "R", 8: frozenset({"XX", "SV"}), 9: "R"},
        "NM1IL": {2: frozenset({"1"}), 8: frozenset({"MI", ""}), 9: lambda v: True},
        "NM103": {2: frozenset({"1"}), 3: "R", 8: "N", 9: "N"},
        "TRN2": {2: "R", 3: r"^.{10}$"},
        "INS": {1: frozenset({"N"}), 2: "R"},  # 2100D: INS01 N (not the subscriber), INS02 relationship
        "EB": {1: EB01, 2: EB02, 6: EB06, 7: NUMBER, 8: NUMBER, 11: frozenset({"Y", "N", "U", ""})},
        "LS": {1: frozenset({"2120"})},
        "LE": {1: frozenset({"2120"})},
    },
    "276": {
        "ST": {1: frozenset({"276"}), 2: r"^\d{4,9}$", 3: frozenset({"005010X212"})},
        "BHT": {1: frozenset({"0010"}), 2: frozenset({"13"}), 3: "R", 4: DATE8, 5: r"^\d{4}$"},
        "HL20": {1: "R", 2: "N", 4: frozenset({"1"})},
        "HL21": {1: "R", 2: "R", 4: frozenset({"1"})},
        "HL19": {1: "R", 2: "R", 4: frozenset({"1"})},
        "HL22": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL23": {1: "R", 2: "R", 4: "N"},  # 2000E HL04 not used
        "NM1PR": {2: frozenset({"2"}), 3: "R", 8: PAYER_ID_QUALIFIERS, 9: "R"},
        "NM141": {2: frozenset({"1", "2"}), 8: frozenset({"46"}), 9: "R"},  # 2100B receiver by ETIN
        "NM11P": {2: frozenset({"1", "2"}), 8: frozenset({"XX", "FI", "SV"}), 9: "R"},
        "NM1IL": {2: frozenset({"1", "2"}), 3: "R", 8: frozenset({"MI", "24", "II"}), 9: "R"},
        "NM1QC": {2: frozenset({"1"}), 3: "R", 8: "N", 9: "N"},  # 2100E NM108/NM109 not used
        "TRN1": {2: r"^.{1,50}$", 3: "N", 4: "N"},
        "REF1K": {2: "R"},
        "REFBLT": {2: r"^\d{3}$"},
        "REFEJ": {2: "R"},
        "AMTT3": {2: NUMBER},
        "DTP472": {2: frozenset({"D8", "RD8"})},
    },
    "277": {
        "ST": {1: frozenset({"277"}), 2: r"^\d{4,9}$", 3: frozenset({"005010X212"})},
        "BHT": {1: frozenset({"0010"}), 2: frozenset({"08"}), 3: "R", 4: DATE8, 5: r"^\d{4}$", 6: frozenset({"DG"})},
        "HL20": {1: "R", 2: "N", 4: frozenset({"1"})},
        "HL21": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL19": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL22": {1: "R", 2: "R", 4: frozenset({"0", "1"})},
        "HL23": {1: "R", 2: "R", 4: "N"},
        "NM1PR": {2: frozenset({"2"}), 3: "R", 8: PAYER_ID_QUALIFIERS, 9: "R"},
        "NM141": {2: frozenset({"1", "2"}), 8: frozenset({"46"}), 9: "R"},
        "NM11P": {2: frozenset({"1", "2"}), 8: frozenset({"XX", "FI", "SV"}), 9: "R"},
        "NM1IL": {2: frozenset({"1", "2"}), 3: "R", 8: frozenset({"MI", "24", "II"}), 9: "R"},
        "NM1QC": {2: frozenset({"1"}), 3: "R", 8: "N", 9: "N"},
        "TRN2": {2: "R", 3: "N", 4: "N"},  # 2200D referenced trace number
        # STC01 status, STC02 effective date R; STC03, STC07, STC12 not used; STC04/05 amounts; STC06/08 dates
        "STC": {1: "R", 2: DATE8, 3: "N", 7: "N", 12: "N"},
        "REF1K": {2: "R"},
        "REFEJ": {2: "R"},
        "SVC": {1: r"^HC.", 2: NUMBER, 3: NUMBER, 7: NUMBER},  # SVC07 units R
        "DTP472": {2: frozenset({"D8", "RD8"})},
    },
}
_PARENT_LEVEL = {
    "270": {"20": "", "21": "20", "22": "21", "23": "22"},
    "271": {"20": "", "21": "20", "22": "21", "23": "22"},
    "276": {"20": "", "21": "20", "19": "21", "22": "19", "23": "22"},
    "277": {"20": "", "21": "20", "19": "21", "22": "19", "23": "22"},
}
FUNCTIONAL_IDS = {"270": "HS", "271": "HB", "276": "HR", "277": "HN"}


def _check(value: str, rule: Rule) -> bool:
    if rule == "R":
        return value != ""
    if rule == "N":
        return value == ""
    if isinstance(rule, frozenset):
        return value in rule
    if isinstance(rule, str):
        return re.match(rule, value) is not None
    return rule(value)


def structure_problems(data: bytes, set_id: str) -> list[str]:
    """Everything wrong with one written interchange of ``set_id`` (empty when it keeps to the table)."""
    segs, repetition, component, isa = _split(data)
    problems: list[str] = []
    if len(isa) != 106:
        problems.append(f"ISA is {len(isa)} characters")
    ids = [s[0] for s in segs]
    if ids[:2] != ["ISA", "GS"] or ids[-2:] != ["GE", "IEA"]:
        return [*problems, "envelope segments out of place"]
    isa_seg, gs, ge, iea = segs[0], segs[1], segs[-2], segs[-1]
    body = segs[2:-2]
    if gs[1] != FUNCTIONAL_IDS[set_id] or (ge[1], ge[2]) != ("1", gs[6]) or (iea[1], iea[2]) != ("1", isa_seg[13]):
        problems.append("GS01, GE or IEA counts and control numbers disagree")
    st, se = body[0], body[-1]
    if gs[8] != st[3] or se[1] != str(len(body)) or se[2] != st[2]:
        problems.append(f"ST/SE: GS08 {gs[8]} ST03 {st[3]} SE01 {se[1]} for {len(body)} segments")
    tags = " ".join(_tag(s) for s in body) + " "
    if not GRAMMARS[set_id].fullmatch(tags):
        problems.append(f"loop structure: {tags}")
    rules = RULES[set_id]
    for k, seg in enumerate(body):
        tag = _tag(seg)
        checks = rules.get(tag) or COMMON.get(tag) or {}
        if tag.startswith("DTP") and not _date_value(seg):
            problems.append(f"{tag} at {k}: date does not fit its format")
        for pos, rule in checks.items():
            value = seg[pos] if pos < len(seg) else ""
            if rule in (NUMBER, DATE8) and value == "" and (tag, pos) not in (("STC", 2),):
                continue  # a situational number or date may be left out
            if not _check(value, rule):
                problems.append(f"{tag}{pos:02d} at {k}: value does not fit")
        if set_id == "271" and tag == "EB" and len(seg) > 3 and seg[3] and not _service_types(seg[3], repetition):
            problems.append(f"EB03 at {k}: not service type codes")
        if set_id == "271" and tag == "EB" and len(seg) > 12 and seg[12] not in ("Y", "N", "U", "W", ""):
            problems.append(f"EB12 at {k}: not Y, N, U or W")
        if tag == "STC":
            category, _, code = seg[1].partition(component)
            if not re.match(r"^[A-Z][0-9A-Z]$", category) or not code.split(component)[0]:
                problems.append(f"STC01 at {k}: not category:code")
        if tag == "EQ" and not _service_types(seg[1] if len(seg) > 1 else "", repetition):
            problems.append(f"EQ01 at {k}: not a service type code")
    problems.extend(_hierarchy_problems(body, set_id))
    return problems


def _hierarchy_problems(body: list[list[str]], set_id: str) -> list[str]:
    problems = []
    hls = [s for s in body if s[0] == "HL"]
    level_of: dict[str, str] = {}
    for n, hl in enumerate(hls, start=1):
        ident, parent, level = hl[1], hl[2], hl[3]
        if ident != str(n):
            problems.append(f"HL01 {ident} is not {n}")
        if level_of.get(parent, "") != _PARENT_LEVEL[set_id].get(level):
            problems.append(f"HL {ident}: level {level} under {level_of.get(parent, 'nothing')}")
        level_of[ident] = level
        has_children = any(other[2] == ident for other in hls)
        child_code = hl[4] if len(hl) > 4 else ""
        if child_code and (child_code == "1") != has_children:
            problems.append(f"HL04 of {ident} says {child_code}, children: {has_children}")
    return problems
