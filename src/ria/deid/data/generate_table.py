"""Regenerate ``ps3.15-table-e.1-1-<edition>.json`` from the DICOM Standard's own DocBook source.

Why a script and not a hand-edited file: Table E.1-1 has more than 650 rows and ten
option columns; typing it (or "fixing" it) by hand is how de-identifiers silently drift
from the standard. The JSON in this folder is only ever the output of this script run
on NEMA's ``part15.xml`` (see README.md for the exact input, its SHA-256 and the command).

The script transcribes cell text: it joins each cell's text, collapses whitespace, drops
the zero-width spaces the published document uses to break long words, records Y/N
columns as booleans, leaves empty option cells out, and moves a trailing "(see Note N)"
from an attribute name into ``notes``. Nothing else is interpreted here; the meaning of
the codes lives in :mod:`ria.deid.table`.

Standard library only, so it runs anywhere Python 3.11 does::

    python src/ria/deid/data/generate_table.py part15.xml --retrieved YYYY-MM-DD --source-copy WHERE

(the exact command used for the shipped file is in README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

DOCBOOK = "{http://docbook.org/ns/docbook}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
FORMAT = "ria-ps3.15-table-e.1-1/1"
DOCBOOK_URL = "https://dicom.nema.org/medical/dicom/current/source/docbook/part15/part15.xml"

# Table E.1-1's columns as published, left to right, with the key each gets in the JSON.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Attribute Name", "name"),
    ("Tag", "tag"),
    ("Retd. (from PS3.6)", "retired"),
    ("In Std. Comp. IOD (from PS3.3)", "in_std_comp_iod"),
    ("Basic Prof.", "basic"),
    ("Rtn. Safe Priv. Opt.", "retain_safe_private"),
    ("Rtn. UIDs Opt.", "retain_uids"),
    ("Rtn. Dev. Id. Opt.", "retain_device_identity"),
    ("Rtn. Inst. Id. Opt.", "retain_institution_identity"),
    ("Rtn. Pat. Chars. Opt.", "retain_patient_characteristics"),
    ("Rtn. Long. Full Dates Opt.", "retain_longitudinal_full_dates"),
    ("Rtn. Long. Modif. Dates Opt.", "retain_longitudinal_modified_dates"),
    ("Clean Desc. Opt.", "clean_descriptors"),
    ("Clean Struct. Cont. Opt.", "clean_structured_content"),
    ("Clean Graph. Opt.", "clean_graphics"),
)
_NOTE = re.compile(r"^(?P<name>.*?)\s*\(see Note (?P<note>\d+)\)$")


def cell_text(cell: ET.Element) -> str:
    """A cell's text as a reader sees it: whitespace collapsed, zero-width spaces dropped."""
    return " ".join("".join(cell.itertext()).replace("\u200b", "").split())


def header_text(cell: ET.Element) -> str:
    """Header text with the PS3.x cross-references (``olink``) written out as in the rendered table."""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if child.tag == DOCBOOK + "olink":
                parts.append(child.get("targetdoc", ""))
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(cell)
    return " ".join("".join(parts).split())


def find_table(root: ET.Element, table_id: str) -> ET.Element:
    for table in root.iter(DOCBOOK + "table"):
        if table.get(XML_ID) == table_id:
            return table
    raise SystemExit(f"{table_id} not found: is this PS3.15's DocBook source?")


def yes_no(value: str, where: str) -> bool:
    if value not in ("Y", "N"):
        raise SystemExit(f"{where}: expected Y or N, found {value!r}")
    return value == "Y"


def e11_rows(table: ET.Element) -> list[dict[str, Any]]:
    headers = [header_text(th) for th in table.iter(DOCBOOK + "th")]
    expected = [header for header, _ in COLUMNS]
    if headers != expected:
        raise SystemExit(f"Table E.1-1 columns changed: {headers}")
    body = table.find(DOCBOOK + "tbody")
    assert body is not None
    rows: list[dict[str, Any]] = []
    for tr in body.findall(DOCBOOK + "tr"):
        cells = [cell_text(td) for td in tr.findall(DOCBOOK + "td")]
        if len(cells) != len(COLUMNS):
            raise SystemExit(f"row {cells[:2]} has {len(cells)} cells, expected {len(COLUMNS)}")
        row: dict[str, Any] = {"name": cells[0], "tag": cells[1]}
        note = _NOTE.match(cells[0])
        if note:
            row["name"] = note["name"]
            row["notes"] = [int(note["note"])]
        row["retired"] = yes_no(cells[2], f"{cells[1]} retired")
        row["in_std_comp_iod"] = yes_no(cells[3], f"{cells[1]} in std comp IOD")
        row["basic"] = cells[4]
        row["options"] = {key: cells[i] for i, (_, key) in enumerate(COLUMNS) if i >= 5 and cells[i]}
        rows.append(row)
    return rows


def action_codes(table: ET.Element) -> dict[str, str]:
    codes: dict[str, str] = {}
    for tr in table.iter(DOCBOOK + "tr"):
        cells = [cell_text(td) for td in tr.findall(DOCBOOK + "td")]
        if len(cells) == 2:
            codes[cells[0]] = cells[1]
    return codes


def safe_private(table: ET.Element) -> list[dict[str, str]]:
    body = table.find(DOCBOOK + "tbody")
    assert body is not None
    keys = ("tag", "private_creator", "vr", "vm", "meaning")
    return [dict(zip(keys, (cell_text(td) for td in tr.findall(DOCBOOK + "td")), strict=True))
            for tr in body.findall(DOCBOOK + "tr")]  # fmt: skip


def edition_of(root: ET.Element) -> str:
    subtitle = root.find(DOCBOOK + "subtitle")
    match = re.search(r"PS3\.15 (\d{4}[a-z])\b", "" if subtitle is None else "".join(subtitle.itertext()))
    if match is None:
        raise SystemExit("no 'DICOM PS3.15 <edition>' subtitle")
    return match.group(1)


def content_digest(document: dict[str, Any]) -> str:
    """SHA-256 over the table content (not the provenance), so a test can tell an edited copy."""
    content = {key: document[key] for key in ("columns", "action_codes", "rows", "safe_private_attributes")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def render(document: dict[str, Any]) -> str:
    """Pretty header, one row per line: readable and diff-friendly across editions."""
    lines = ["{"]
    items = list(document.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rendered = [json.dumps(v, ensure_ascii=False) for v in value]
            lines.append(f"  {json.dumps(key)}: [")
            lines.extend(f"    {row}{',' if i < len(rendered) - 1 else ''}" for i, row in enumerate(rendered))
            lines.append(f"  ]{comma}")
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            lines.append(f"  {json.dumps(key)}: {text}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part15", type=Path, help="PS3.15 DocBook XML (part15.xml)")
    parser.add_argument("--retrieved", required=True, help="date the XML was obtained (YYYY-MM-DD)")
    parser.add_argument("--source-copy", default="", help="where this copy of part15.xml came from")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    raw = args.part15.read_bytes()
    root = ET.fromstring(raw)
    edition = edition_of(root)
    document: dict[str, Any] = {
        "format": FORMAT,
        "table": "PS3.15 Table E.1-1 Application Level Confidentiality Profile Attributes",
        "edition": edition,
        "source": {
            "document": f"DICOM PS3.15 {edition} - Security and System Management Profiles (DocBook XML)",
            "url": DOCBOOK_URL,
            "copy": args.source_copy,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "retrieved": args.retrieved,
            "tables": ["E.1-1", "E.1-1a", "E.3.10-1"],
        },
        "copyright": f"DICOM PS3.15 {edition} (c) NEMA. DICOM is the registered trademark of NEMA.",
        "generator": "src/ria/deid/data/generate_table.py",
        "content_sha256": "",
        "columns": [{"header": header, "key": key} for header, key in COLUMNS],
        "action_codes": action_codes(find_table(root, "table_E.1-1a")),
        "rows": e11_rows(find_table(root, "table_E.1-1")),
        "safe_private_attributes": safe_private(find_table(root, "table_E.3.10-1")),
    }
    document["content_sha256"] = content_digest(document)
    out = args.out_dir / f"ps3.15-table-e.1-1-{edition}.json"
    out.write_text(render(document), encoding="utf-8")
    print(f"{out}: {len(document['rows'])} rows, {len(document['safe_private_attributes'])} safe private")


if __name__ == "__main__":
    main()
