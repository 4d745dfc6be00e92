"""PostgreSQL as the shared store: faults and several gateways (real server, real SMTP, real CLI).

The behaviour both backends share is in test_store.py; here is what only a
networked database brings: it can be unreachable, read-only or restarted under
load, and several gateway processes can work on one queue at once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiosmtplib
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from gateway.app import Gateway
from gateway.store import open_store
from gateway.store.base import StoreError
from tests.postgres import Postgres
from tests.process import GatewayProcess, run_cli
from tests.support import Sink, free_port, port_of, send_message, start_gateway


def message(number: int) -> bytes:
    return (
        f"From: ACME <noreply@acme.example>\r\nTo: maria@customer.test\r\n"
        f"Subject: Re: refund {number}\r\nMessage-ID: <m{number}@acme.example>\r\n\r\n"
        "Hi Maria,\r\nyour refund was issued today.\r\n"
    ).encode()


@pytest.fixture
def holding_policies(tmp_path: Path) -> Path:
    """Every no-reply message is held: each 250 means a row in the store."""
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "10-acme.toml").write_text(
        '[match]\nsenders = ["*@acme.example"]\n[checks.noreply_sender]\naction = "hold"\n'
    )
    return directory


async def send_until_accepted(port: int, number: int, refusals: list[str]) -> str:
    """An MTA's retry loop: 4xx and lost connections are tried again, a bit later."""
    for _ in range(200):
        try:
            reply = await send_message(port, message(number), sender="noreply@acme.example")
        except aiosmtplib.SMTPResponseException as exc:
            if not 400 <= exc.code < 500:
                raise
            refusals.append(f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError) as exc:
            refusals.append(str(exc))
        else:
            return reply
        await asyncio.sleep(0.1)
    raise AssertionError(f"message {number} never accepted: {refusals[-3:]}")


def test_unreachable_server_is_one_sentence_without_the_password() -> None:
    url = f"postgresql://gw:s3cret@127.0.0.1:{free_port()}/gateway?pool_timeout=1"
    with pytest.raises(StoreError) as refused:
        open_store(url)
    sentence = str(refused.value)
    assert "postgresql://gw@127.0.0.1" in sentence
    assert "s3cret" not in sentence
    assert "\n" not in sentence


async def test_serve_refuses_to_start_on_an_unreachable_store(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    status, _out, err = await run_cli(
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--store",
        f"postgresql://gw:s3cret@127.0.0.1:{free_port()}/gateway?pool_timeout=1",
        cwd=tmp_path,
    )
    assert status == 1
    assert err.startswith("gateway: cannot open the store: no connection to postgresql://gw@")
    assert "s3cret" not in err
    assert "Traceback" not in err


def test_bad_store_url_options_are_refused(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="pool_max must be a number"):
        open_store(f"{postgres_url}&pool_max=many")
    with pytest.raises(StoreError, match="pool_min <= pool_max"):
        open_store(f"{postgres_url}&pool_min=4&pool_max=2")
    with pytest.raises(StoreError, match="pool_min <= pool_max"):
        open_store(f"{postgres_url}&pool_min=9")  # above the default pool_max (8)
    open_store(f"{postgres_url}&pool_min=4").close()  # within the default pool_max


def test_schema_from_the_future_is_refused(postgres_url: str) -> None:
    open_store(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("UPDATE gateway_schema SET version = 99")
    with pytest.raises(StoreError, match="newer than this gateway"):
        open_store(postgres_url)


def test_gateways_starting_together_migrate_once(postgres_url: str) -> None:
    """Four gateways open a new database at the same moment: one schema, no error."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: open_store(postgres_url), range(4)))
    for store in stores:
        assert "schema 2" in store.probe()
        store.close()
    with psycopg.connect(postgres_url) as admin:
        assert admin.execute("SELECT count(*) FROM gateway_schema").fetchone() == (1,)


async def test_read_only_database_is_451_never_250(
    postgres: Postgres,
    postgres_url: str,
    sink: Sink,
    gateways: list[Gateway],
    holding_policies: Path,
) -> None:
    """A standby, or a database set read-only: the held message is refused with 451."""
    database = conninfo_to_dict(postgres_url)["dbname"]
    gateway = await start_gateway(
        relay=sink.url, policies=str(holding_policies), store=postgres_url
    )
    gateways.append(gateway)

    def sessions_reconnect(setting: str) -> None:
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{database}" {setting}')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )

    sessions_reconnect("SET default_transaction_read_only = on")
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send_message(port_of(gateway), message(1), sender="noreply@acme.example")
    assert refused.value.code == 451
    assert "could not be stored" in refused.value.message
    assert sink.messages == []
    status, out, _ = await run_cli("held", "list", "--store", postgres_url)
    assert (status, out.strip()) == (0, "no messages")  # review still reads a standby
    sessions_reconnect("RESET default_transaction_read_only")
    reply = await send_message(port_of(gateway), message(2), sender="noreply@acme.example")
    assert reply.startswith("2.0.0 held for review")


async def test_restart_under_load_gives_451s_then_recovers_losing_nothing(
    postgres: Postgres,
    postgres_url: str,
    sink: Sink,
    gateways: list[Gateway],
    holding_policies: Path,
) -> None:
    """PostgreSQL restarts (down 2 s) while 8 clients send held messages without pause
    (before, during and after): the clients see 451s while it is down, every message is
    accepted in the end, and every accepted message is in the store, once."""
    gateway = await start_gateway(
        relay=sink.url,
        policies=str(holding_policies),
        store=f"{postgres_url}&pool_timeout=1",
    )
    gateways.append(gateway)
    port = port_of(gateway)
    refusals: list[str] = []
    accepted: dict[int, str] = {}
    numbers = iter(range(100_000))
    restarted, warmed_up = asyncio.Event(), asyncio.Event()
    after_restart = 0

    async def client() -> None:
        nonlocal after_restart
        while not (restarted.is_set() and after_restart >= 40):
            number = next(numbers)
            accepted[number] = await send_until_accepted(port, number, refusals)
            after_restart += restarted.is_set()
            if len(accepted) >= 40:
                warmed_up.set()

    clients = [asyncio.create_task(client()) for _ in range(8)]
    await warmed_up.wait()  # under way before the restart
    await asyncio.to_thread(postgres.restart, 2.0)
    restarted.set()
    await asyncio.gather(*clients)

    assert any(refusal.startswith("451") for refusal in refusals), refusals
    held = gateway.store.list()
    assert sorted(m.message_id or "" for m in held) == sorted(
        f"<m{n}@acme.example>" for n in accepted
    )
    assert {m.id for m in held} == {reply.rsplit(" ", 1)[1] for reply in accepted.values()}
    assert sink.messages == []


async def test_two_gateways_one_queue_releases_from_both_deliver_once(
    tmp_path: Path,
    postgres_url: str,
    sink: Sink,
    processes: list[GatewayProcess],
    holding_policies: Path,
) -> None:
    """Two gateway processes (two hosts) hold into one database; reviewers on both hosts
    release every message at the same moment: each is delivered exactly once."""
    hosts = []
    for name in ("gw-a", "gw-b"):
        home = tmp_path / name
        home.mkdir()
        hosts.append(
            await GatewayProcess.start(
                "--listen",
                "127.0.0.1:0",
                "--relay",
                sink.url,
                "--policies",
                str(holding_policies),
                "--store",
                postgres_url,
                cwd=home,
            )
        )
    processes.extend(hosts)
    ids = []
    for number in range(10):
        host = hosts[number % 2]
        reply = await send_message(
            host.ports["outbound"], message(number), sender="noreply@acme.example"
        )
        ids.append(reply.rsplit(" ", 1)[1])
    status, out, _ = await run_cli("held", "list", "--store", postgres_url, "--json")
    assert status == 0
    assert sorted(m["id"] for m in json.loads(out)) == sorted(ids)

    release = ("--store", postgres_url, "--relay", sink.url, "--policies", str(holding_policies))
    results = await asyncio.gather(
        *(
            run_cli("held", "release", held_id, *release, "--by", reviewer)
            for held_id in ids
            for reviewer in ("ann@gw-a", "ben@gw-b")
        )
    )
    statuses = [status for status, _, _ in results]
    assert statuses.count(0) == 10
    assert statuses.count(1) == 10
    assert all(
        "already released" in err or "being released" in err
        for status, _, err in results
        if status == 1
    )
    delivered = sorted(m.message_id for m in sink.messages)
    assert delivered == sorted(f"<m{n}@acme.example>" for n in range(10))
    for host in hosts:
        assert await host.stop() == 0
