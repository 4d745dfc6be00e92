"""Policies in a running gateway: decisions over SMTP, live reload, reload during a transaction."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.app import Gateway
from tests.process import GatewayProcess, run_cli
from tests.smtp_client import session
from tests.support import Sink, port_of, send_message, start_gateway

NOREPLY_MESSAGE = (
    b"From: ACME <noreply@acme.test>\r\nTo: maria@customer.test\r\nSubject: Re: refund\r\n"
    b"Message-ID: <n1@acme.test>\r\n\r\nHi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n"
)


def policy_text(action: str) -> str:
    return (
        '[match]\nsenders = ["*@acme.test"]\n[rewrite]\nmonitored = "support@acme.test"\n'
        f'[checks.noreply_sender]\naction = "{action}"\n'
    )


def install(directory: Path, name: str, text: str) -> None:
    """Write a policy the way the README asks admins to: new file, then rename over."""
    temporary = directory / f".{name}.tmp"
    temporary.write_text(text)
    os.replace(temporary, directory / name)


async def policy_gateway(sink: Sink, gateways: list[Gateway], directory: Path) -> Gateway:
    gateway = await start_gateway(relay=sink.url, policies=str(directory))
    gateway.policies.poll_seconds = 0.05
    gateways.append(gateway)
    return gateway


async def until(condition: object, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_reject_answers_550_with_the_reason(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """action = reject: 550 5.7.1 with the finding's sentence and the policy; nothing relayed."""
    install(tmp_path, "10-acme.toml", policy_text("reject"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<noreply@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(NOREPLY_MESSAGE + b".\r\n")
    reply = await client.reply()
    await client.close()
    assert reply.startswith("550 5.7.1 Sent from a no-reply address")
    assert "[10-acme.toml]" in reply
    assert sink.messages == []


async def test_hold_is_stored_not_relayed(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """action = hold: 250 held for review <id>, the message is in the store, not at the relay."""
    install(tmp_path, "10-acme.toml", policy_text("hold"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    reply = await send_message(port_of(gateway), NOREPLY_MESSAGE, sender="noreply@acme.test")
    held_id = reply.rsplit(" ", 1)[1]
    assert reply.startswith("2.0.0 held for review ")
    assert gateway.store.get(held_id).reasons == ["noreply_sender"]
    assert sink.messages == []


async def test_log_relays_and_records_the_finding(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """action = log: relayed, and the message event carries policy, reasons and findings."""
    install(tmp_path, "10-acme.toml", policy_text("log"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    with capture_logs() as logs:
        await send_message(port_of(gateway), NOREPLY_MESSAGE, sender="noreply@acme.test")
    event = next(e for e in logs if e["event"] == "message")
    assert event["action"] == "relay"
    assert event["policy"] == "10-acme.toml"
    assert event["reasons"] == ["noreply_sender"]
    assert event["findings"][0]["code"] == "noreply_sender"
    assert len(sink.messages) == 1


async def test_file_change_reloads_and_applies_to_the_next_message(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """A valid change takes effect by itself and logs policy_reloaded."""
    install(tmp_path, "10-acme.toml", policy_text("log"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    first = gateway.policies.current
    with capture_logs() as logs:
        install(tmp_path, "10-acme.toml", policy_text("reject"))
        await until(lambda: gateway.policies.current is not first)
    assert any(e["event"] == "policy_reloaded" and e["trigger"] == "file change" for e in logs)
    with pytest.raises(Exception, match="550"):
        await send_message(port_of(gateway), NOREPLY_MESSAGE, sender="noreply@acme.test")


async def test_invalid_change_keeps_the_last_good_set(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """An invalid file is refused as a whole; policy_reload_failed names file, key, problem."""
    install(tmp_path, "10-acme.toml", policy_text("log"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    good = gateway.policies.current
    with capture_logs() as logs:
        install(tmp_path, "20-new.toml", '[match]\nsenders = ["*"]\n[checks.greeting]\nacton = 1\n')
        await until(lambda: any(e["event"] == "policy_reload_failed" for e in logs))
    failure = next(e for e in logs if e["event"] == "policy_reload_failed")
    assert (failure["file"], failure["key"]) == ("20-new.toml", "checks.greeting.acton")
    assert "unknown key" in failure["problem"]
    assert gateway.policies.current is good
    await send_message(port_of(gateway), NOREPLY_MESSAGE, sender="noreply@acme.test")
    assert len(sink.messages) == 1


async def test_half_written_file_never_takes_effect(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """A file caught mid-write is refused; once complete it applies."""
    install(tmp_path, "10-acme.toml", policy_text("log"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    good = gateway.policies.current
    complete = policy_text("reject")
    with capture_logs() as logs:
        (tmp_path / "10-acme.toml").write_text(complete[: len(complete) // 2])
        await until(lambda: any(e["event"] == "policy_reload_failed" for e in logs))
        assert gateway.policies.current is good
        (tmp_path / "10-acme.toml").write_text(complete)
        await until(lambda: gateway.policies.current is not good)
    named = gateway.policies.current.policies[0]
    assert named.policy.checks.noreply_sender.action == "reject"


async def test_transaction_in_flight_keeps_its_policy(
    sink: Sink, gateways: list[Gateway], tmp_path: Path
) -> None:
    """MAIL FROM under 'reject', reload to 'log' before DATA: this message is still rejected."""
    install(tmp_path, "10-acme.toml", policy_text("reject"))
    gateway = await policy_gateway(sink, gateways, tmp_path)
    client = await session(port_of(gateway))
    await client.command("MAIL FROM:<noreply@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    old = gateway.policies.current
    install(tmp_path, "10-acme.toml", policy_text("log"))
    assert await gateway.policies.reload("test")
    assert gateway.policies.current is not old
    await client.command("DATA")
    await client.send(NOREPLY_MESSAGE + b".\r\n")
    assert (await client.reply()).startswith("550")
    await client.command("MAIL FROM:<noreply@acme.test>")
    await client.command("RCPT TO:<maria@customer.test>")
    await client.command("DATA")
    await client.send(NOREPLY_MESSAGE + b".\r\n")
    assert (await client.reply()).startswith("250")
    await client.close()


async def test_sighup_reloads_the_real_daemon(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    """`systemctl reload` sends SIGHUP: the daemon reloads at once and logs the trigger."""
    directory = tmp_path / "policies"
    directory.mkdir()
    install(directory, "10-acme.toml", policy_text("log"))
    gateway = await GatewayProcess.start(
        "--listen", "127.0.0.1:0", "--relay", sink.url, "--policies", str(directory), cwd=tmp_path
    )
    processes.append(gateway)
    install(directory, "10-acme.toml", policy_text("reject"))
    gateway.process.send_signal(signal.SIGHUP)
    reloaded = await gateway.wait_for_event("policy_reloaded")
    assert reloaded["trigger"] == "SIGHUP"
    with pytest.raises(Exception, match="550"):
        await send_message(gateway.ports["outbound"], NOREPLY_MESSAGE, sender="noreply@acme.test")
    assert await gateway.stop() == 0


async def test_serve_refuses_to_start_with_invalid_policies(tmp_path: Path) -> None:
    """Invalid policies at start: every problem on stderr, exit 2, nothing listening."""
    (tmp_path / "10.toml").write_text("[match]\nsenders = []\nbogus = 1\n")
    status, _out, err = await run_cli(
        "serve", "--listen", "127.0.0.1:0", "--policies", str(tmp_path)
    )
    assert status == 2
    assert "policy error: 10.toml: match.senders" in err
    assert "policy error: 10.toml: match.bogus: unknown key" in err
    assert "Traceback" not in err
