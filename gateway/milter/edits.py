"""From "the message as the proxy would relay it" to the milter edits that make Postfix's copy so.

The proxy path (`gateway.outgoing`) rewrites the bytes; a milter cannot send bytes
back, only edit requests. Rather than a second implementation of each rewrite,
this module compares the header fields before and after and asks for exactly
the difference, so both fronts share one rewrite and signing path.

The rewrite steps only change field values and drop fields, never reorder or
rename them, which is what makes a field-by-field walk enough.
"""

from __future__ import annotations

from gateway.headers import RawField, split_message
from gateway.milter import protocol


def field_value(field: RawField, *, leading_space: bool) -> bytes:
    """A field's value as milter packets carry it: folded with bare LF, no final line end."""
    value = field.raw.split(b":", 1)[1] if b":" in field.raw else b""
    value = value.removesuffix(b"\r\n").replace(b"\r\n", b"\n")
    if not leading_space and value.startswith(b" "):
        value = value[1:]
    return value


def field_name(field: RawField) -> bytes:
    return field.raw.split(b":", 1)[0].strip()


def header_edits(before: bytes, after: bytes, *, leading_space: bool) -> list[bytes]:
    """CHGHEADER packets turning the header of `before` into that of `after`.

    Value changes come first, then deletions from the last occurrence of a name up:
    deleting the 2nd "DKIM-Signature" cannot renumber the 1st, whatever numbering
    the MTA uses after a deletion.
    """
    old_fields, _ = split_message(before)
    new_fields, _ = split_message(after)
    changes: list[bytes] = []
    deletions: list[tuple[int, bytes]] = []
    seen: dict[str, int] = {}
    position = 0
    for old in old_fields:
        occurrence = seen[old.name] = seen.get(old.name, 0) + 1
        new = new_fields[position] if position < len(new_fields) else None
        if new is not None and new.name == old.name:
            position += 1
            if new.raw != old.raw:
                value = field_value(new, leading_space=leading_space)
                changes.append(protocol.change_header(field_name(old), occurrence, value))
        else:
            deletions.append((occurrence, field_name(old)))
    if position != len(new_fields):
        raise ValueError("the rewritten header adds fields; only edits and deletions are expected")
    deletions.sort(key=lambda item: item[0], reverse=True)
    return changes + [protocol.change_header(name, n, b"") for n, name in deletions]


def signature_insert(signature_field: bytes, *, leading_space: bool) -> bytes:
    """INSHEADER at the top: a DKIM-Signature sits above the fields it signs."""
    field = RawField(signature_field)
    return protocol.insert_header(
        0, field_name(field), field_value(field, leading_space=leading_space)
    )
