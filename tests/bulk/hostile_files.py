"""Hostile bulk files, made by hand: what a careless script or an attacker sends instead of a spreadsheet.

Shared by the in-process tests, the live tests of tests/hostile and bench/hostile_bulk.py.
"""

import functools
import io
import zipfile

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>{doctype}'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dimension}<sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def xlsx(
    sheet_xml: str | bytes,
    extra: dict[str, bytes] | None = None,
    level: int = 6,
    content_types: str | bytes = _CONTENT_TYPES,
    workbook: str | bytes = _WORKBOOK,
) -> bytes:
    """A minimal XLSX whose first sheet is ``sheet_xml`` (inline strings, no shared strings)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml, compresslevel=level)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def sheet(rows: str, doctype: str = "", dimension: str = "") -> str:
    return _SHEET_HEAD.format(doctype=doctype, dimension=dimension) + rows + _SHEET_TAIL


HEADER_ROW = '<row r="1">' + _cell("A1", "项目名称") + _cell("B1", "征集批次") + "</row>"


@functools.cache
def million_rows_xlsx() -> bytes:
    """A header and a million data rows, each one short cell (small on the wire, huge inflated)."""
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>试点{i % 10}</t></is></c></row>' for i in range(2, 1_000_002)
    )
    return xlsx(sheet(HEADER_ROW + rows))


def declared_million_rows_xlsx() -> bytes:
    """A few bytes that declare a million rows: a header, then one row numbered 1,000,000."""
    last = '<row r="1000000">' + _cell("A1000000", "最后一行") + "</row>"
    return xlsx(sheet(HEADER_ROW + last, dimension='<dimension ref="A1:XFD1000000"/>'))


def zip_bomb_xlsx(inflated_mib: int = 200) -> bytes:
    """One sheet of megabytes of blanks inside its XML: a tiny archive, hundreds of MiB inflated."""
    return xlsx(sheet(HEADER_ROW + " " * (inflated_mib * 1024 * 1024)), level=1)


BILLION_LAUGHS_DOCTYPE = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)


def _distinct(template: str, inflated_mib: int) -> str:
    """``template`` repeated with a random three-digit name each time, to ``inflated_mib`` MiB: XML that
    compresses some thirty to one, within the ratio check, so only its inflated size is hostile."""
    import random

    draw = random.Random(inflated_mib)
    count = inflated_mib * 1024 * 1024 // len(template.format("000"))
    return "".join(template.format(f"{draw.getrandbits(12):03x}") for _ in range(count))


def metadata_bomb_xlsx(part: str, inflated_mib: int = 64) -> bytes:
    """A megabytes-small XLSX whose ``[Content_Types].xml``, ``workbook.xml`` or ``sharedStrings.xml`` is
    ``inflated_mib`` MiB of well-formed XML: openpyxl parses these parts whole (tens of seconds, GBs)."""
    if part == "content_types":
        filler = _distinct('<Default Extension="x{}" ContentType="application/xml"/>', inflated_mib)
        return xlsx(sheet(HEADER_ROW), content_types=_CONTENT_TYPES.replace("</Types>", filler + "</Types>"))
    if part == "workbook":
        filler = _distinct('<definedName name="n{}">Sheet1!$A$1</definedName>', inflated_mib)
        return xlsx(
            sheet(HEADER_ROW),
            workbook=_WORKBOOK.replace("</workbook>", f"<definedNames>{filler}</definedNames></workbook>"),
        )
    strings = _distinct("<si><t>{}</t></si>", inflated_mib)
    shared = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{strings}</sst>'
    return xlsx(sheet(HEADER_ROW), extra={"xl/sharedStrings.xml": shared.encode()})


def billion_laughs_xlsx() -> bytes:
    return xlsx(sheet(HEADER_ROW + '<row r="2">' + _cell("A2", "&lol9;") + "</row>", doctype=BILLION_LAUGHS_DOCTYPE))


def external_entity_xlsx() -> bytes:
    doctype = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return xlsx(sheet(HEADER_ROW + '<row r="2">' + _cell("A2", "&xxe;") + "</row>", doctype=doctype))


def malformed_xml_xlsx() -> bytes:
    return xlsx(sheet(HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>未闭合'))


def lying_sizes_xlsx() -> bytes:
    """An entry whose declared size is far below what it inflates to (the zip's own claim is a lie)."""
    data = bytearray(zip_bomb_xlsx(4))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    small = (1000).to_bytes(4, "little")
    # the size in the local header (offset 22) and in the central directory entry (offset 24)
    data[info.header_offset + 22 : info.header_offset + 26] = small
    for offset in _central_entries(bytes(data)):
        name_len = int.from_bytes(data[offset + 28 : offset + 30], "little")
        if bytes(data[offset + 46 : offset + 46 + name_len]) == b"xl/worksheets/sheet1.xml":
            data[offset + 24 : offset + 28] = small
    return bytes(data)


def _central_entries(data: bytes) -> list[int]:
    offsets, start = [], 0
    while (found := data.find(b"PK\x01\x02", start)) >= 0:
        offsets.append(found)
        start = found + 4
    return offsets


def blank_lines_csv(mib: int = 19) -> bytes:
    return "项目名称,征集批次\r\n".encode() + b"\r\n" * (mib * 1024 * 1024 // 2)


def huge_header_csv(mib: int = 10) -> bytes:
    return b"a," * (mib * 1024 * 1024 // 2) + b"\r\n"


def huge_cell_header_csv(mib: int = 10) -> bytes:
    return b"a" * (mib * 1024 * 1024) + b"\r\n"
