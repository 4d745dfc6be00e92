"""SMTP smuggling: one inbound transaction yields at most one outbound message, CRLF only.

Variants from the 2023 SEC Consult research and Postfix's smtpd_forbid_bare_newline
notes: a fake end-of-data with bare LF or bare CR, followed by a smuggled transaction.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.app import Gateway
from gateway.smtp.content import has_bare_line_endings
from tests.smtp_client import session
from tests.support import Sink, port_of

SMUGGLED = (
    b"MAIL FROM:<ceo@acme.test>\r\nRCPT TO:<victim@customer.test>\r\nDATA\r\n"
    b"From: ceo@acme.test\r\nSubject: smuggled\r\n\r\nwire money\r\n"
)

FAKE_ENDS = [
    b"\n.\n",
    b"\n.\r\n",
    b"\r.\r",
    b"\r.\n",
    b"\r\n.\r",
    b"\r\n.\n",
    b"\n.\r",
    b"\r\n\x00.\r\n",
    b"\r\n.\x00\r\n",
]


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
async def test_fake_end_of_data_smuggles_nothing(
    sink: Sink, gateway: Gateway, fake_end: bytes
) -> None:
    """The smuggled transaction stays inside the one real message; line endings are CRLF."""
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    assert (await client.command("DATA")).startswith("354")
    await client.send(
        b"From: agent@acme.test\r\nSubject: real\r\n\r\nHello" + fake_end + SMUGGLED + b"\r\n.\r\n"
    )
    final = await client.reply()
    assert final.startswith("250"), final
    assert (await client.command("QUIT")).startswith("221")
    await client.close()
    await asyncio.sleep(0.05)
    assert len(sink.messages) == 1
    relayed = sink.messages[0]
    assert relayed.mail_from == "agent@acme.test"
    assert relayed.rcpt_tos == ["maria@customer.test"]
    assert not has_bare_line_endings(relayed.content)
    assert b"Subject: real" in relayed.content


async def test_pipelined_commands_after_real_end_are_a_second_honest_transaction(
    sink: Sink, gateway: Gateway
) -> None:
    """Commands after a real <CRLF>.<CRLF> are a separate transaction, answered separately."""
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(b"Subject: one\r\n\r\nfirst\r\n.\r\n" + SMUGGLED + b".\r\n")
    replies = [await client.reply() for _ in range(5)]
    assert [r[:3] for r in replies] == ["250", "250", "250", "354", "250"]
    await client.close()
    assert [m.rcpt_tos for m in sink.messages] == [
        ["maria@customer.test"],
        ["victim@customer.test"],
    ]


async def test_content_sent_with_data_before_354_is_read_in_order(
    sink: Sink, gateway: Gateway
) -> None:
    """A client that does not wait for 354 (DATA, the content and the end in one write):
    the content is read in order, exactly once, as aiosmtpd's line reader would."""
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    body = b"Subject: eager\r\n\r\n" + b"".join(b"line %d\r\n" % n for n in range(2000))
    await client.send(b"DATA\r\n" + body + b".\r\nQUIT\r\n")
    replies = [await client.reply() for _ in range(3)]
    assert [r[:3] for r in replies] == ["354", "250", "221"]
    (relayed,) = sink.messages
    assert relayed.content == body
