"""Held messages wait safely until a person decides: store, review CLI, release, reject."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from pathlib import Path

import dkim
import pytest

from gateway.app import Gateway
from gateway.dkim_sign import generate_key
from gateway.store import open_store
from gateway.store.base import StoreError
from gateway.store.sql import migration_statements
from gateway.store.sqlite import COLUMN_TYPES
from tests.process import GatewayProcess, run_cli
from tests.support import Sink, free_port, port_of, send_message, start_gateway

MESSAGE = (
    b"From: ACME <noreply@acme.example>\r\nTo: Maria <maria@customer.test>\r\n"
    b"Subject: Re: [#4711] refund\r\nMessage-ID: <h1@acme.example>\r\n\r\n"
    b"Hi Maria,\r\nyour refund was issued today.\r\n\r\n"
    b"On Mon, 23 Nov 2026 at 09:14, Maria <maria@customer.test> wrote:\r\n"
    b"> Where is my refund?\r\n"
)


def review_policies(tmp_path: Path, store: str) -> tuple[Path, str, bytes]:
    """Policies (hold no-reply senders, rewrite, DKIM), the store URL and the DKIM record."""
    directory = tmp_path / "policies"
    directory.mkdir()
    key = generate_key("rsa", tmp_path / "dkim.pem")
    (directory / "10-acme.toml").write_text(
        '[match]\nsenders = ["*@acme.example"]\n'
        '[rewrite]\nmonitored = "support@acme.example"\n'
        '[checks.noreply_sender]\naction = "hold"\n'
        f'[dkim]\ndomain = "acme.example"\nselector = "gw1"\nkey = "{tmp_path / "dkim.pem"}"\n'
    )
    return directory, store, key.dns_record().encode()


@pytest.fixture
def review_setup(tmp_path: Path, store_url: str) -> tuple[Path, str, bytes]:
    """The review setup on each store backend (SQLite, PostgreSQL)."""
    return review_policies(tmp_path, store_url)


@pytest.fixture
def sqlite_review_setup(tmp_path: Path) -> tuple[Path, str, bytes]:
    """For the tests that break SQLite itself (locks, pragmas)."""
    return review_policies(tmp_path, f"sqlite:///{tmp_path / 'var' / 'gateway.db'}")


async def review_gateway(
    sink: Sink, gateways: list[Gateway], setup: tuple[Path, str, bytes], store_options: str = ""
) -> Gateway:
    """An in-process gateway on the review policies and store, relaying to `sink`."""
    policies, store, _ = setup
    gateway = await start_gateway(
        relay=sink.url, policies=str(policies), store=store + store_options
    )
    gateways.append(gateway)
    return gateway


async def held_message(port: int) -> str:
    reply = await send_message(port, MESSAGE, sender="noreply@acme.example")
    assert reply.startswith("2.0.0 held for review "), reply
    return reply.rsplit(" ", 1)[1]


async def test_full_review_loop_over_smtp_and_cli(
    tmp_path: Path,
    sink: Sink,
    processes: list[GatewayProcess],
    review_setup: tuple[Path, str, bytes],
) -> None:
    """Held -> listed -> shown -> released once, re-signed; rejected ones never arrive."""
    policies, store, record = review_setup
    gateway = await GatewayProcess.start(
        "--listen",
        "127.0.0.1:0",
        "--relay",
        sink.url,
        "--policies",
        str(policies),
        "--store",
        store,
        cwd=tmp_path,
    )
    processes.append(gateway)
    first = await held_message(gateway.ports["outbound"])
    second = await held_message(gateway.ports["outbound"])
    assert sink.messages == []
    held_event = await gateway.wait_for_event("message_held")
    assert held_event["id"] == first

    status, out, _ = await run_cli("held", "list", "--store", store)
    assert status == 0
    assert first in out
    assert "noreply_sender" in out
    assert "Re: [#4711] refund" in out
    status, out, _ = await run_cli("held", "list", "--store", store, "--reason", "missing_from")
    assert out.strip() == "no messages"
    status, out, _ = await run_cli("held", "list", "--store", store, "--json")
    listed = json.loads(out)
    assert [m["id"] for m in listed] == [first, second]
    assert {"id", "status", "received_at", "mail_from", "rcpt_tos", "subject", "reasons"} <= set(
        listed[0]
    )
    assert listed[0]["status"] == "held"
    assert listed[0]["reasons"] == ["noreply_sender"]

    status, out, _ = await run_cli("held", "show", first, "--store", store)
    assert status == 0
    assert "noreply_sender: Sent from a no-reply address" in out
    assert "| your refund was issued today." in out
    assert "> Where is my refund?" in out
    status, raw, _ = await run_cli("held", "show", first, "--store", store, "--raw")
    assert raw.encode() == MESSAGE

    release = ("--store", store, "--relay", sink.url, "--policies", str(policies))
    status, out, err = await run_cli(
        "held", "release", first, *release, "--by", "alice", "--note", "greeting is fine"
    )
    assert status == 0, err
    assert f"released {first}" in out
    assert len(sink.messages) == 1
    delivered = sink.messages[0]
    assert delivered.mail_from == "support@acme.example"
    assert b"From: ACME <support@acme.example>" in delivered.content
    assert dkim.verify(delivered.content, dnsfunc=lambda name, timeout=5: record)

    status, _, err = await run_cli("held", "release", first, *release)
    assert status == 1
    assert "already released" in err
    status, _, err = await run_cli("held", "reject", first, "--store", store)
    assert status == 1
    assert "already released" in err

    status, out, _ = await run_cli(
        "held", "reject", second, "--store", store, "--by", "bob", "--note", "wrong customer"
    )
    assert status == 0
    status, _, err = await run_cli("held", "release", second, *release)
    assert status == 1
    assert "already rejected" in err
    assert len(sink.messages) == 1

    status, out, _ = await run_cli("held", "show", first, "--store", store)
    assert "alice: released - greeting is fine" in out
    status, out, _ = await run_cli("held", "list", "--store", store, "--status", "all", "--json")
    assert {m["id"]: m["status"] for m in json.loads(out)} == {
        first: "released",
        second: "rejected",
    }
    assert await gateway.stop() == 0


async def test_concurrent_releases_deliver_exactly_once(
    tmp_path: Path, sink: Sink, gateways: list[Gateway], review_setup: tuple[Path, str, bytes]
) -> None:
    """Two reviewers release the same id at the same moment: one delivery, one refusal."""
    policies, store, _ = review_setup
    gateway = await review_gateway(sink, gateways, review_setup)
    held_id = await held_message(port_of(gateway))
    release = (
        "held",
        "release",
        held_id,
        "--store",
        store,
        "--relay",
        sink.url,
        "--policies",
        str(policies),
    )
    results = await asyncio.gather(*(run_cli(*release, "--by", who) for who in ("ann", "ben")))
    assert sorted(status for status, _, _ in results) == [0, 1]
    assert len(sink.messages) == 1


async def test_relay_down_during_release_keeps_it_held(
    tmp_path: Path, sink: Sink, gateways: list[Gateway], review_setup: tuple[Path, str, bytes]
) -> None:
    """The relay refuses the release: exit 1 with the reason, still held, audited; retry works."""
    policies, store, _ = review_setup
    gateway = await review_gateway(sink, gateways, review_setup)
    held_id = await held_message(port_of(gateway))
    status, _, err = await run_cli(
        "held",
        "release",
        held_id,
        "--store",
        store,
        "--policies",
        str(policies),
        "--relay",
        f"smtp://127.0.0.1:{free_port()}?timeout=2",
    )
    assert status == 1
    assert "not released, still held" in err
    assert "451 4.4.1" in err
    message = gateway.store.get(held_id)
    assert message.status == "held"
    assert message.audit[-1].action == "release_failed"
    status, _, err = await run_cli(
        "held",
        "release",
        held_id,
        "--store",
        store,
        "--policies",
        str(policies),
        "--relay",
        sink.url,
    )
    assert status == 0, err
    assert len(sink.messages) == 1


async def test_store_failure_is_451_and_nothing_is_lost(
    tmp_path: Path,
    sink: Sink,
    gateways: list[Gateway],
    sqlite_review_setup: tuple[Path, str, bytes],
) -> None:
    """The store is locked by someone else past its timeout: 451, the helpdesk keeps the mail."""
    _policies, store, _ = sqlite_review_setup
    gateway = await review_gateway(sink, gateways, sqlite_review_setup, "?timeout=0.3")
    blocker = sqlite3.connect(store.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(Exception, match="451") as refused:
            await send_message(port_of(gateway), MESSAGE, sender="noreply@acme.example")
        assert "could not be stored" in str(refused.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert sink.messages == []
    assert await held_message(port_of(gateway))  # and it works again afterwards


@pytest.mark.parametrize(
    ("pragma", "condition"),
    [
        ("PRAGMA max_page_count = 1", "full"),  # SQLITE_FULL (clamped to the pages in use)
        ("PRAGMA query_only = ON", "read-only"),  # SQLITE_READONLY: remounted read-only
    ],
)
async def test_full_or_read_only_store_is_451_never_250(
    sink: Sink,
    gateways: list[Gateway],
    sqlite_review_setup: tuple[Path, str, bytes],
    pragma: str,
    condition: str,
) -> None:
    """A full or read-only store: the held message is refused with 451, nothing relayed;
    once the store can write again, holds work (the helpdesk's retry succeeds)."""
    gateway = await review_gateway(sink, gateways, sqlite_review_setup)
    connection = gateway.store._db  # type: ignore[attr-defined]
    connection.execute(pragma)
    big = MESSAGE + b"padding that needs new database pages\r\n" * 2000
    try:
        with pytest.raises(Exception, match="451") as refused:
            await send_message(port_of(gateway), big, sender="noreply@acme.example")
        assert "could not be stored" in str(refused.value), condition
    finally:
        connection.execute("PRAGMA query_only = OFF")
        connection.execute("PRAGMA max_page_count = 1073741823")
    assert sink.messages == []
    assert await held_message(port_of(gateway))


async def test_unusable_store_path_stops_the_start(tmp_path: Path) -> None:
    """A store that cannot be opened: one sentence, exit 1, no traceback."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "not-a-db").write_text("this is not sqlite")
    status, _out, err = await run_cli(
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--store",
        f"sqlite:///{tmp_path / 'not-a-db'}",
        cwd=tmp_path,
    )
    assert status == 1
    assert "damaged or not a gateway store" in err
    assert "Traceback" not in err


def test_new_store_is_private_and_migrated(tmp_path: Path) -> None:
    """A new store: directory 0700, file 0600, schema at the current version."""
    path = tmp_path / "state" / "gateway.db"
    store = open_store(f"sqlite:///{path}")
    store.close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrates_an_empty_database_file(tmp_path: Path) -> None:
    """An existing empty file (schema 0) migrates forward on open."""
    path = tmp_path / "gateway.db"
    path.touch()
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"held", "audit", "thread_ref", "customer_message", "reply"} <= tables


def test_migrates_a_version_1_store_keeping_held_messages(tmp_path: Path) -> None:
    """A store from before threads (schema 1) gains the thread tables; held rows stay."""
    path = tmp_path / "gateway.db"
    with sqlite3.connect(path) as db:
        for statement in migration_statements(0, COLUMN_TYPES):
            db.execute(statement)
        db.execute(
            "INSERT INTO held VALUES ('q1', 1.0, 'a@b', '[]', x'00', 's', NULL, NULL, NULL,"
            " '[]', 'held', 1.0, NULL, NULL)"
        )
        db.execute("PRAGMA user_version = 1")
    store = open_store(f"sqlite:///{path}")
    assert store.get("q1").status == "held"
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM reply").fetchone() == (0,)


def test_refuses_a_store_from_the_future(tmp_path: Path) -> None:
    """A schema newer than this gateway is refused rather than misread."""
    path = tmp_path / "gateway.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer than this gateway"):
        open_store(f"sqlite:///{path}")


async def test_purge_keeps_held_messages(
    tmp_path: Path, sink: Sink, gateways: list[Gateway], review_setup: tuple[Path, str, bytes]
) -> None:
    """Retention removes released/rejected messages; held ones are never purged."""
    _policies, store, _ = review_setup
    gateway = await review_gateway(sink, gateways, review_setup)
    rejected = await held_message(port_of(gateway))
    kept = await held_message(port_of(gateway))
    assert (await run_cli("held", "reject", rejected, "--store", store))[0] == 0
    await asyncio.sleep(1.1)
    status, out, _ = await run_cli("held", "purge", "--older-than", "1s", "--store", store)
    assert status == 0
    assert "purged 1 message(s)" in out
    assert [m.id for m in gateway.store.list(status=None)] == [kept]


async def test_unknown_id_is_exit_1(tmp_path: Path) -> None:
    """Unknown ids: one line, exit 1."""
    store = f"sqlite:///{tmp_path / 'g.db'}"
    status, _, err = await run_cli("held", "show", "nope", "--store", store)
    assert status == 1
    assert "no held message with id 'nope'" in err


async def test_agent_is_told_why_when_notify_sender_is_on(
    tmp_path: Path, sink: Sink, gateways: list[Gateway], review_setup: tuple[Path, str, bytes]
) -> None:
    """[hold] notify_sender: the agent gets a null-sender, auto-generated note with the reasons."""
    policies, _store, _ = review_setup
    policy_file = policies / "10-acme.toml"
    policy_file.write_text(policy_file.read_text() + "[hold]\nnotify_sender = true\n")
    gateway = await review_gateway(sink, gateways, review_setup)
    held_id = await send_message(
        port_of(gateway),
        MESSAGE.replace(b"noreply@acme.example", b"ana@acme.example").replace(
            b"From: ACME <ana@acme.example>", b"From: ACME <noreply@acme.example>"
        ),
        sender="ana@acme.example",
    )
    await asyncio.wait_for(sink.handler.arrived.wait(), 5)
    notice = sink.messages[0]
    assert notice.mail_from in {"", "<>"}
    assert notice.rcpt_tos == ["ana@acme.example"]
    assert b"Auto-Submitted: auto-generated" in notice.content
    assert b"Subject: Held for review: Re: [#4711] refund" in notice.content
    assert b"Sent from a no-reply address" in notice.content
    assert held_id.rsplit(" ", 1)[1].encode() in notice.content


async def test_no_notice_by_default(
    tmp_path: Path, sink: Sink, gateways: list[Gateway], review_setup: tuple[Path, str, bytes]
) -> None:
    """Without [hold] notify_sender nobody is mailed about a hold."""
    gateway = await review_gateway(sink, gateways, review_setup)
    await held_message(port_of(gateway))
    await asyncio.sleep(0.3)
    assert sink.messages == []
