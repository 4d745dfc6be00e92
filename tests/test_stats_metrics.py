"""`gateway stats` on a trace with known answers, and the Prometheus endpoint over HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.app import Gateway
from gateway.latency import ReplyFacts
from gateway.store import open_store
from gateway.store.base import HeldMessage
from gateway.threads import CustomerMessage, ThreadKeys
from tests.process import run_cli
from tests.support import Sink, port_of, scrape, send_message, start_gateway, start_sink

HOUR = 3600


def build_trace(path: Path) -> str:
    """Seven replies with known latencies, one older than two days, three held messages."""
    store = open_store(f"sqlite:///{path}")
    now = datetime.now(UTC)  # at the trace's build, not at import: the suite takes a minute

    def customer(mid: str, at: datetime, parent: str = "") -> None:
        keys = ThreadKeys(mid, (parent,) if parent else (), None)
        store.record([CustomerMessage(keys, at, "maria@customer.test", "Where?")])

    def reply(mid: str, parents: tuple[str, ...], at: datetime, agent: str) -> None:
        facts = ReplyFacts(
            ThreadKeys(mid, parents, None), at, agent, "50-acme.toml", HOUR, None, None
        )
        assert store.record([facts])[0] is not None

    base = now - timedelta(hours=10)
    # first replies: 30 s, 60 s, 120 s, 600 s, 7200 s (the last breaches the 1 h SLA)
    for number, (seconds, agent) in enumerate(
        [(30, "ana"), (60, "ana"), (120, "ben"), (600, "ben"), (7200, "ben")], start=1
    ):
        asked = base + timedelta(minutes=number)
        customer(f"<c{number}@x>", asked)
        reply(f"<r{number}@a>", (f"<c{number}@x>",), asked + timedelta(seconds=seconds), agent)
    reply("<f1@a>", ("<r1@a>",), base + timedelta(hours=5), "ana")  # a follow-up: no latency
    customer("<c2b@x>", base + timedelta(hours=6), "<r2@a>")
    reply("<r2b@a>", ("<c2b@x>",), base + timedelta(hours=6, seconds=300), "ana")  # 300 s
    old = now - timedelta(days=3)
    customer("<c9@x>", old)
    reply("<r9@a>", ("<c9@x>",), old + timedelta(seconds=45), "ana")
    for number in range(3):
        store.hold(
            HeldMessage(
                id=f"h{number}",
                received_at=now - timedelta(hours=2),
                mail_from="ana@acme.test",
                rcpt_tos=("maria@customer.test",),
                content=b"Subject: x\r\n\r\nx\r\n",
                subject="x",
                message_id=None,
                thread_key=None,
                policy="50-acme.toml",
                findings=({"code": "missing_greeting", "detail": "x", "action": "hold"},),
            )
        )
    store.claim_for_release("h0", "rev")
    store.finish_release("h0", "rev", "ok")
    store.reject("h1", "rev", "no")
    store.close()
    return f"sqlite:///{path}"


async def test_stats_figures_on_a_known_trace(tmp_path: Path) -> None:
    """Counts, nearest-rank p50/p90/max, breaches, review figures; --since and --by agent."""
    store = build_trace(tmp_path / "g.db")
    status, out, err = await run_cli("stats", "--json", "--since", "2d", "--store", store)
    assert status == 0, err
    result = json.loads(out)
    assert (result["replies"], result["follow_ups"], result["unknown_latency"]) == (7, 1, 0)
    assert result["first_reply"] == {"count": 5, "p50": 120.0, "p90": 7200.0, "max": 7200.0}
    assert result["reply_latency"] == {"count": 6, "p50": 120.0, "p90": 7200.0, "max": 7200.0}
    assert result["sla_breaches"] == 1
    assert (result["held"], result["released"], result["rejected"]) == (1, 1, 1)
    assert result["review_wait"]["count"] == 2
    assert 2 * HOUR <= result["oldest_waiting"] < 2 * HOUR + 60

    status, out, _ = await run_cli("stats", "--json", "--store", store, "--by", "agent")
    everything = json.loads(out)
    assert everything["replies"] == 8  # the reply from three days ago counts without --since
    assert everything["groups"]["ana"]["first_reply"]["count"] == 3
    assert everything["groups"]["ben"]["sla_breaches"] == 1

    status, out, _ = await run_cli("stats", "--store", store, "--since", "2d", "--by", "day")
    assert status == 0
    assert "first reply time" in out
    assert "2.0h" in out  # the 7200 s maximum, readable
    assert "by day" in out


async def test_stats_on_a_bad_store_is_one_line(tmp_path: Path) -> None:
    """A damaged store file: exit 1, one sentence, no traceback."""
    (tmp_path / "bad.db").write_bytes(b"not a database at all" * 100)
    status, _, err = await run_cli("stats", "--store", f"sqlite:///{tmp_path / 'bad.db'}")
    assert status == 1
    assert "Traceback" not in err
    assert err.startswith("gateway: ")


async def test_metrics_endpoint_scraped_over_http(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """Messages by action and outcome, findings, rewrites, latency histogram, held gauge."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "50.toml").write_text(
        '[match]\nsenders = ["*@acme.test"]\n[rewrite]\nmonitored = "support@acme.test"\n'
        '[checks.answer]\naction = "off"\n'
    )
    intake = await start_sink()
    gateway = await start_gateway(
        relay=sink.url,
        inbound_listen="127.0.0.1:0",
        inbound_relay=intake.url,
        policies=str(policies),
        store=f"sqlite:///{tmp_path / 'g.db'}",
        metrics="127.0.0.1:0",
    )
    gateways.append(gateway)
    customer = (
        b"From: maria@customer.test\r\nMessage-ID: <c1@x>\r\nSubject: parcel\r\n\r\nWhere?\r\n"
    )
    await send_message(port_of(gateway, "inbound"), customer, sender="maria@customer.test")
    await asyncio.sleep(0.3)
    good = (
        b"From: ACME <noreply@acme.test>\r\nMessage-ID: <r1@a>\r\nIn-Reply-To: <c1@x>\r\n"
        b"Subject: Re: parcel\r\n\r\nHi Maria,\r\nit ships today.\r\n"
    )
    await send_message(port_of(gateway), good, sender="noreply@acme.test")
    ungreeted = b"From: ana@acme.test\r\nSubject: Re: parcel\r\n\r\nIt ships today.\r\n"
    assert "held for review" in await send_message(
        port_of(gateway), ungreeted, sender="ana@acme.test"
    )
    await asyncio.sleep(0.3)
    text = await asyncio.to_thread(scrape, gateway.metrics_address)
    assert 'gateway_messages_total{action="relay",leg="outbound",outcome="accepted"} 1.0' in text
    assert 'gateway_messages_total{action="relay",leg="inbound",outcome="accepted"} 1.0' in text
    assert 'gateway_messages_total{action="hold",leg="outbound",outcome="accepted"} 1.0' in text
    assert 'gateway_findings_total{action="hold",reason="missing_greeting"} 1.0' in text
    assert 'gateway_sender_rewrites_total{field="From"} 1.0' in text
    assert 'gateway_reply_latency_seconds_count{first_reply="true"} 1.0' in text
    assert "gateway_held_messages 1.0" in text
    intake.server.close()
