"""Threads and response latency, measured in the mail flow (inbound leg + outbound leg)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from structlog.testing import capture_logs

from gateway.app import Gateway
from gateway.attribution import quoted_time
from gateway.business_hours import BusinessHours
from gateway.latency import Pending, ReplyFacts, measure
from gateway.policy.loader import PolicyError, load_policies
from gateway.store import open_store
from gateway.threads import CustomerMessage, ThreadKeys
from tests.process import run_cli
from tests.support import Sink, port_of, send_message, start_gateway, start_sink

# --- the customer's time from a quote attribution -----------------------------

ATTRIBUTIONS = [
    "On Mon, 23 Nov 2026 at 09:14, Maria Lopez <maria@customer.test> wrote:",
    "On Mon, Nov 23, 2026 at 9:14 AM Maria Lopez <\nmaria@customer.test> wrote:",
    "On 23 Nov 2026, at 09:14, Maria Lopez <maria@customer.test> wrote:",
    "On 11/23/2026 9:14 AM, Maria wrote:",
    "Am 23.11.2026 um 09:14 schrieb Anna Becker <anna@kunde.test>:",
    "Am Mo., 23. Nov. 2026 um 09:14 Uhr schrieb Anna Becker <anna@kunde.test>:",
    "Le lun. 23 nov. 2026 à 09:14, Claire Martin <claire@client.test> a écrit :",
    "El lun, 23 nov 2026 a las 9:14, Lucía García (<lucia@cliente.test>) escribió:",
    "Op ma 23 nov. 2026 om 09:14 schreef Sanne de Vries <sanne@klant.test>:",
    "Il giorno lun 23 nov 2026 alle ore 09:14 Marco Rossi <marco@cliente.test> ha scritto:",
    "Em seg., 23 de nov. de 2026 às 09:14, João Silva <joao@cliente.test> escreveu:",
    "From: Maria Lopez <maria@customer.test>\nSent: Monday, November 23, 2026 9:14 AM\nTo: x",
    "Von: Anna Becker\nGesendet: Montag, 23. November 2026 09:14\nAn: Support",
    "De : Claire Martin\nEnvoyé : lundi 23 novembre 2026 09:14\nÀ : Support",
    "De: Lucía García\nEnviado: lunes, 23 de noviembre de 2026 9:14\nPara: Soporte",
    "Van: Sanne de Vries\nVerzonden: maandag 23 november 2026 09:14\nAan: Support",
    "Da: Marco Rossi\nInviato: lunedì 23 novembre 2026 09:14\nA: Assistenza",
    "De: João Silva\nEnviada: segunda-feira, 23 de novembro de 2026 09:14\nPara: Suporte",
]
BERLIN_WINTER = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_quoted_time_in_every_client_and_language(attribution: str) -> None:
    """Gmail, Apple, Thunderbird and Outlook attributions in 7 languages; the reply's zone."""
    found = quoted_time(f"Hi Maria,\n\nanswer.\n\n{attribution}\n> question?\n", BERLIN_WINTER)
    assert found == datetime(2026, 11, 23, 9, 14, tzinfo=ZoneInfo("Europe/Berlin"))


def test_quoted_time_pm_and_missing() -> None:
    """12-hour clocks are read; no attribution means no time."""
    assert quoted_time("On Nov 23, 2026, at 9:14 PM, Maria wrote:\n> x") == datetime(
        2026, 11, 23, 21, 14, tzinfo=UTC
    )
    assert quoted_time("Hi Maria,\n\nno quote here.\n") is None


# --- business hours ----------------------------------------------------------


def test_business_hours_across_a_weekend() -> None:
    """Fri 16:00 -> Mon 10:00 with Mon-Fri 09-17 is 2 business hours, 66 calendar hours."""
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    asked = datetime(2026, 11, 20, 16, 0, tzinfo=berlin)
    answered = datetime(2026, 11, 23, 10, 0, tzinfo=berlin)
    assert hours.seconds_between(asked, answered) == 2 * 3600
    facts = ReplyFacts(
        ThreadKeys("<r@a>", ("<c@x>",), None), answered, "ana", None, 4 * 3600, hours, None
    )
    latency = measure(facts, "<c@x>", Pending("<c@x>", asked), True, 0)
    assert latency.latency_seconds == 66 * 3600
    assert latency.business_seconds == 2 * 3600
    assert latency.sla_breached is False  # 2 business hours against a 4 h SLA


def test_business_hours_follow_the_wall_clock_across_dst() -> None:
    """The spring-forward weekend has 47 hours; a 24/7 window counts exactly those."""
    always = BusinessHours.parse("Mon-Sun 00:00-24:00", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    start, end = (
        datetime(2026, 3, 28, 0, 0, tzinfo=berlin),
        datetime(2026, 3, 30, 0, 0, tzinfo=berlin),
    )
    assert always.seconds_between(start, end) == 47 * 3600


@pytest.mark.parametrize(
    "latency",
    [
        'business_hours = "Mon-Fri 9-17"',
        'business_hours = "Mon-Fri 17:00-09:00"',
        'business_hours = "Mo-Fr 09:00-17:00"',
        'business_hours = "Mon-Fri 09:00-17:00"\ntimezone = "Mars/Olympus"',
    ],
)
def test_bad_business_hours_are_policy_errors(tmp_path: Path, latency: str) -> None:
    """Malformed hours, reversed windows, unknown days or zones are refused at load."""
    (tmp_path / "10.toml").write_text(f'[match]\nsenders = ["*"]\n[latency]\n{latency}\n')
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert any("latency" in str(problem) for problem in caught.value.problems)


# --- over SMTP, both legs ----------------------------------------------------


@pytest.fixture
async def intake() -> AsyncIterator[Sink]:
    """The helpdesk's SMTP intake behind the inbound leg."""
    started = await start_sink()
    yield started
    started.server.close()


def policies(
    tmp_path: Path, latency: str = "", answer: str = 'action = "off"', greeting: str = "off"
) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir(exist_ok=True)
    (directory / "50-acme.toml").write_text(
        f'[match]\nsenders = ["*@acme.test"]\n[checks.greeting]\naction = "{greeting}"\n'
        f'[checks.answer]\n{answer}\n[latency]\nsla = "1h"\n{latency}'
    )
    return directory


async def both_legs(
    tmp_path: Path,
    sink: Sink,
    intake: Sink,
    gateways: list[Gateway],
    *,
    store_options: str = "",
    store: str | None = None,
    **extra: Any,
) -> Gateway:
    gateway = await start_gateway(
        relay=sink.url,
        inbound_listen="127.0.0.1:0",
        inbound_relay=intake.url,
        store=store or f"sqlite:///{tmp_path / 'g.db'}{store_options}",
        policies=str(policies(tmp_path, **extra)),
    )
    gateways.append(gateway)
    return gateway


def customer_mail(message_id: str, subject: str = "Where is my parcel?", parent: str = "") -> bytes:
    threading = f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n" if parent else ""
    return (
        f"From: Maria Lopez <maria@customer.test>\r\nTo: support@acme.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n{threading}\r\n"
        "Hello, where is my parcel? Order 1234.\r\n"
    ).encode()


DEFAULT_BODY = "Hi Maria,\r\n\r\nyour parcel left our warehouse today.\r\n"


def agent_reply(
    message_id: str, parents: str, subject: str = "Re: Where is my parcel?", body: str = ""
) -> bytes:
    last = parents.rsplit(maxsplit=1)[-1] if parents else ""
    threading = f"In-Reply-To: {last}\r\nReferences: {parents}\r\n" if parents else ""
    return (
        f"From: Ana <ana@acme.test>\r\nTo: Maria Lopez <maria@customer.test>\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n{threading}"
        "Date: Mon, 23 Nov 2026 12:00:00 +0100\r\n\r\n"
        f"{body or DEFAULT_BODY}"
    ).encode()


async def customer_writes(gateway: Gateway, message: bytes) -> None:
    reply = await send_message(
        port_of(gateway, "inbound"),
        message,
        sender="maria@customer.test",
        recipients=("support@acme.test",),
    )
    assert "Sink" in reply or reply.startswith("2")


async def agent_sends(gateway: Gateway, message: bytes) -> str:
    return await send_message(port_of(gateway), message, sender="ana@acme.test")


async def event(logs: list[dict[str, Any]], name: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + 5
    while len(found := [e for e in logs if e["event"] == name]) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {count} x {name} in the log: {[e['event'] for e in logs]}")
        await asyncio.sleep(0.02)
    return found


async def test_reply_latency_from_the_inbound_leg(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway], store_url: str
) -> None:
    """Customer mail in, reply out 0.6 s later: latency ~0.6 s, first reply, source inbound."""
    gateway = await both_legs(tmp_path, sink, intake, gateways, store=store_url)
    with capture_logs() as logs:
        await customer_writes(gateway, customer_mail("<c1@customer.test>"))
        await event(logs, "customer_message")
        await asyncio.sleep(0.6)
        await agent_sends(gateway, agent_reply("<r1@acme.test>", "<c1@customer.test>"))
        (latency,) = await event(logs, "reply_latency")
    assert [m.content for m in intake.messages] == [customer_mail("<c1@customer.test>")]
    assert 0.55 <= latency["latency_seconds"] < 2.0
    assert latency["customer_message_id"] == "<c1@customer.test>"
    assert latency["thread_id"] == "<c1@customer.test>"
    assert latency["message_id"] == "<r1@acme.test>"
    assert (latency["first_reply"], latency["source"]) == (True, "inbound")
    assert (latency["sla_seconds"], latency["sla_breached"]) == (3600, False)


async def test_earliest_unanswered_customer_message_counts(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway], store_url: str
) -> None:
    """Two customer messages before one reply: the earlier one sets the latency; a second
    reply with no new customer message is a follow-up with no latency."""
    gateway = await both_legs(tmp_path, sink, intake, gateways, store=store_url)
    with capture_logs() as logs:
        await customer_writes(gateway, customer_mail("<c1@customer.test>"))
        await asyncio.sleep(0.5)
        await customer_writes(
            gateway, customer_mail("<c2@customer.test>", "Re: hello?", "<c1@customer.test>")
        )
        await event(logs, "customer_message", 2)
        await agent_sends(
            gateway, agent_reply("<r1@acme.test>", "<c1@customer.test> <c2@customer.test>")
        )
        (first,) = await event(logs, "reply_latency")
        await agent_sends(
            gateway, agent_reply("<r2@acme.test>", "<c2@customer.test> <r1@acme.test>")
        )
        second = (await event(logs, "reply_latency", 2))[1]
    assert first["customer_message_id"] == "<c1@customer.test>"
    assert first["latency_seconds"] >= 0.5
    assert (second["latency_seconds"], second["follow_up"], second["first_reply"]) == (
        None,
        True,
        False,
    )


async def test_ticket_number_joins_a_broken_chain(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway], store_url: str
) -> None:
    """The helpdesk drops the Message-ID chain; [#4711] in both subjects joins the thread."""
    gateway = await both_legs(
        tmp_path,
        sink,
        intake,
        gateways,
        store=store_url,
        latency="ticket_pattern = '\\[#(\\d+)\\]'\n",
    )
    with capture_logs() as logs:
        await customer_writes(
            gateway, customer_mail("<c1@customer.test>", "[#4711] Where is my parcel?")
        )
        await event(logs, "customer_message")
        reply = agent_reply(
            "<r1@acme.test>", "<helpdesk-internal-9@acme.test>", "Re: [#4711] parcel"
        )
        await agent_sends(gateway, reply)
        (latency,) = await event(logs, "reply_latency")
    assert latency["customer_message_id"] == "<c1@customer.test>"
    assert latency["source"] == "inbound"


async def test_thread_never_seen_uses_the_quote_or_stays_unknown(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway], store_url: str
) -> None:
    """No inbound record: the quote attribution gives the time (source quoted); without one,
    latency is null. Agent-started mail is not a reply at all."""
    gateway = await both_legs(tmp_path, sink, intake, gateways, store=store_url)
    quoted = (
        "Hi Maria,\r\n\r\nyour parcel left today.\r\n\r\n"
        "On Mon, 23 Nov 2026 at 09:14, Maria Lopez <maria@customer.test> wrote:\r\n"
        "> Where is it?\r\n"
    )
    with capture_logs() as logs:
        await agent_sends(
            gateway, agent_reply("<r1@acme.test>", "<old1@customer.test>", body=quoted)
        )
        await agent_sends(gateway, agent_reply("<r2@acme.test>", "<old2@customer.test>"))
        await agent_sends(gateway, agent_reply("<r3@acme.test>", "", "Our new opening hours"))
        await event(logs, "reply_latency", 2)
        await asyncio.sleep(0.2)
    by_id = {e["message_id"]: e for e in logs if e["event"] == "reply_latency"}
    # The reply says Date: 12:00 +0100; the customer wrote 09:14 in that zone, 2 h 46 min
    # before; the gateway relays it now, so the latency is "now" minus 09:14 +0100.
    expected = (datetime.now(UTC) - datetime(2026, 11, 23, 8, 14, tzinfo=UTC)).total_seconds()
    assert by_id["<r1@acme.test>"]["source"] == "quoted"
    assert abs(by_id["<r1@acme.test>"]["latency_seconds"] - expected) < 60
    assert by_id["<r1@acme.test>"]["first_reply"] is True
    assert by_id["<r2@acme.test>"]["latency_seconds"] is None
    assert by_id["<r2@acme.test>"]["source"] is None
    assert "<r3@acme.test>" not in by_id


async def test_answer_check_reads_the_inbound_record(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway], store_url: str
) -> None:
    """A reply that quotes nothing is judged against what the customer asked inbound."""
    strict = 'action = "hold"\nopen_questions = "hold"'
    gateway = await both_legs(tmp_path, sink, intake, gateways, store=store_url, answer=strict)
    with capture_logs() as logs:
        await customer_writes(gateway, customer_mail("<c1@customer.test>"))
        await event(logs, "customer_message")
    off_topic = "Hi Maria,\r\n\r\nour shop has a new logo and a new website.\r\n"
    answer = await agent_sends(
        gateway, agent_reply("<r1@acme.test>", "<c1@customer.test>", body=off_topic)
    )
    assert "held for review" in answer
    held = gateway.store.get(answer.rsplit(" ", 1)[1])
    assert held.findings[0]["details"]["question_source"] == "inbound"
    assert held.findings[0]["details"]["unanswered"] == ["Hello, where is my parcel?"]


def test_a_held_reply_counts_from_its_release(tmp_path: Path) -> None:
    """The customer waited while the reply was held: latency runs to the release time."""
    store = open_store(f"sqlite:///{tmp_path / 'g.db'}")
    asked = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    store.record([CustomerMessage(ThreadKeys("<c@x>", (), None), asked, "maria@x", "Where?")])
    released = asked + timedelta(hours=30)
    facts = ReplyFacts(
        ThreadKeys("<r@a>", ("<c@x>",), None), released, "ana", None, 86400, None, None
    )
    latency = store.record([facts])[0]
    assert latency is not None
    assert (latency.latency_seconds, latency.sla_breached) == (30 * 3600, True)
    assert store.record([facts])[0] is None  # the same reply again is not measured twice
    store.close()


async def test_store_failure_while_recording_never_costs_the_message(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway]
) -> None:
    """Store locked when the reply is recorded: 250 and delivered; thread_record_failed."""
    gateway = await both_legs(tmp_path, sink, intake, gateways, store_options="?timeout=0.2")
    locker = sqlite3.connect(tmp_path / "g.db", isolation_level=None)
    with capture_logs() as logs:
        locker.execute("BEGIN EXCLUSIVE")
        try:
            answer = await agent_sends(gateway, agent_reply("<r1@acme.test>", "<c1@x.test>"))
            (failure,) = await event(logs, "thread_record_failed")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
    assert "relayed" in answer
    assert len(sink.messages) == 1
    assert failure["message_id"] == "<r1@acme.test>"
    assert "locked" in failure["error"]


async def test_shutdown_writes_what_was_queued(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway]
) -> None:
    """Records still queued when the drain starts are in the store afterwards.

    Another connection holds the store's write lock while the replies go through, so
    every record is still waiting when the drain begins; the lock goes away 0.3 s later.
    """
    gateway = await both_legs(tmp_path, sink, intake, gateways)
    locker = sqlite3.connect(tmp_path / "g.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    replies = [agent_reply(f"<r{n}@acme.test>", f"<c{n}@customer.test>") for n in range(40)]
    await asyncio.gather(*(agent_sends(gateway, reply) for reply in replies))
    gateways.remove(gateway)
    asyncio.get_running_loop().call_later(0.3, locker.execute, "ROLLBACK")
    await gateway.drain_and_close()
    locker.close()
    with sqlite3.connect(tmp_path / "g.db") as db:
        assert db.execute("SELECT count(*) FROM reply").fetchone() == (40,)


async def test_released_reply_counts_until_its_release_via_the_cli(
    tmp_path: Path, sink: Sink, intake: Sink, gateways: list[Gateway], store_url: str
) -> None:
    """Held for a missing greeting, released 1 s later by `gateway held release`: the
    latency runs to the release, and reply_latency is logged (JSON on stderr)."""
    gateway = await both_legs(tmp_path, sink, intake, gateways, store=store_url, greeting="hold")
    with capture_logs() as logs:
        await customer_writes(gateway, customer_mail("<c1@customer.test>"))
        await event(logs, "customer_message")
    ungreeted = "Your parcel left our warehouse today with DHL.\r\n"
    answer = await agent_sends(
        gateway, agent_reply("<r1@acme.test>", "<c1@customer.test>", body=ungreeted)
    )
    assert "held for review" in answer
    await asyncio.sleep(1.0)
    status, out, err = await run_cli(
        "held",
        "release",
        answer.rsplit(" ", 1)[1],
        "--store",
        store_url,
        "--relay",
        sink.url,
        "--policies",
        str(tmp_path / "policies"),
    )
    assert status == 0, err
    assert out.startswith("released ")
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (latency,) = [e for e in logged if e["event"] == "reply_latency"]
    assert latency["customer_message_id"] == "<c1@customer.test>"
    assert latency["latency_seconds"] >= 1.0
    assert latency["first_reply"] is True
