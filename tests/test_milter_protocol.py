"""gateway/milter/protocol.py on its own: packets, negotiation, the replies' bytes.

Byte layouts follow Sendmail's mfdef.h and Postfix's milter8.c; a real Postfix
reads what these functions write in tests/test_milter_postfix.py.
"""

from __future__ import annotations

import asyncio
import struct

import pytest

from gateway.milter import protocol


async def packets_from(data: bytes) -> list[protocol.Packet]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    found = []
    while (packet := await protocol.read_packet(reader)) is not None:
        found.append(packet)
    return found


async def test_packets_round_trip_back_to_back() -> None:
    stream = protocol.encode(protocol.MAIL, b"<a@b>\0SIZE=10\0") + protocol.encode(protocol.QUIT)
    assert await packets_from(stream) == [
        protocol.Packet(protocol.MAIL, b"<a@b>\0SIZE=10\0"),
        protocol.Packet(protocol.QUIT, b""),
    ]


@pytest.mark.parametrize(
    "broken",
    [
        struct.pack("!I", 0),  # no command byte
        struct.pack("!I", protocol.MAX_PACKET + 1) + b"B",
        struct.pack("!I", 10) + b"Bshort",  # closed inside the packet
        b"\0\0",  # closed inside the length
    ],
)
async def test_broken_packets_are_protocol_errors(broken: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        await packets_from(broken)


def test_negotiation_asks_within_what_the_mta_offers() -> None:
    offered = protocol.Negotiation(6, 0x1FF, protocol.NO_REPLY_HEADER | protocol.NO_HELO)
    reply = protocol.negotiation_reply(offered)
    assert reply[4:5] == protocol.OPTION_NEGOTIATION
    version, actions, steps = struct.unpack("!III", reply[5:])
    assert (version, actions) == (6, protocol.ACTIONS)
    assert steps == protocol.NO_REPLY_HEADER | protocol.NO_HELO  # nothing it did not offer


def test_an_mta_that_cannot_edit_or_quarantine_is_refused_in_one_sentence() -> None:
    with pytest.raises(protocol.ProtocolError, match="does not allow the actions"):
        protocol.negotiation_reply(protocol.Negotiation(6, protocol.ADD_HEADERS, 0x1FFFFF))
    with pytest.raises(protocol.ProtocolError, match="version 1"):
        protocol.negotiation_reply(protocol.Negotiation(1, 0x1FF, 0))


def test_macros_connect_and_addresses_are_decoded() -> None:
    assert protocol.parse_macros(b"M" + b"i\0ABC\0{auth_authen}\0agent\0") == {
        "i": "ABC",
        "auth_authen": "agent",
    }
    inet = b"mx.test\0" + b"4" + struct.pack("!H", 25) + b"192.0.2.1\0"
    assert protocol.parse_connect(inet) == ("mx.test", "192.0.2.1")
    assert protocol.parse_connect(b"localhost\0" + b"L" + b"\0\0" + b"/run/x\0")[1] == "/run/x"
    assert protocol.parse_connect(b"unknown\0U") == ("unknown", "unknown")
    assert protocol.unbracket(b"<agent@acme.example>") == "agent@acme.example"
    assert protocol.unbracket(b"<>") == ""


def test_replies_have_the_layout_postfix_reads() -> None:
    assert protocol.reply_code(550, "5.7.1 100% wrong") == protocol.encode(
        protocol.REPLY_CODE, b"550 5.7.1 100%% wrong\0"
    )  # Postfix un-doubles '%', as Sendmail's format strings need
    assert protocol.change_header(b"From", 2, b" <a@b>") == protocol.encode(
        protocol.CHANGE_HEADER, struct.pack("!I", 2) + b"From\0 <a@b>\0"
    )
    assert protocol.insert_header(0, b"DKIM-Signature", b" v=1") == protocol.encode(
        protocol.INSERT_HEADER, struct.pack("!I", 0) + b"DKIM-Signature\0 v=1\0"
    )
    assert protocol.change_from("s@acme.example") == protocol.encode(
        protocol.CHANGE_FROM, b"<s@acme.example>\0"
    )
    with pytest.raises(ValueError, match="NUL"):
        protocol.change_header(b"X", 1, b"a\0b")
