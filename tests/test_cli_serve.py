"""The real `gateway serve` command: defaults, config precedence, logs, graceful stop."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from gateway.smtp.auth import load_users
from tests.process import GatewayProcess, run_cli
from tests.smtp_client import RawClient, session
from tests.support import Sink, send_message

MESSAGE = (
    b"From: agent@acme.test\r\nTo: maria@customer.test\r\nSubject: Re: order\r\n"
    b"Message-ID: <reply-1@acme.test>\r\n\r\nHi Maria,\r\nit ships today.\r\n"
)


async def test_defaults_deliver_into_maildir_outbox(
    tmp_path: Path, processes: list[GatewayProcess]
) -> None:
    """With no config, mail lands in ./var/outbox/new and the gateway warns nothing leaves."""
    gateway = await GatewayProcess.start("--listen", "127.0.0.1:0", cwd=tmp_path)
    processes.append(gateway)
    warning = await gateway.wait_for_event("relay_is_maildir")
    assert warning["level"] == "warning"
    assert "nothing leaves this machine" in warning["detail"]
    response = await send_message(gateway.ports["outbound"], MESSAGE.replace(b"\r\n", b"\n"))
    assert "stored in maildir" in response
    files = list((tmp_path / "var" / "outbox" / "new").iterdir())
    assert len(files) == 1
    stored = files[0].read_bytes()
    assert stored.startswith(b"X-Envelope-From: <agent@acme.test>\r\n")
    assert stored.endswith(MESSAGE)  # bare LFs normalised to CRLF
    assert list((tmp_path / "var" / "outbox" / "tmp").iterdir()) == []
    assert await gateway.stop() == 0


async def test_one_json_message_event_per_message(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    """Each message yields one JSON `message` line with the contract fields."""
    gateway = await GatewayProcess.start(
        "--listen", "127.0.0.1:0", "--relay", sink.url, cwd=tmp_path
    )
    processes.append(gateway)
    await send_message(gateway.ports["outbound"], MESSAGE)
    event = await gateway.wait_for_event("message")
    for key in (
        "queue_id",
        "action",
        "reasons",
        "mail_from",
        "rcpt_tos",
        "message_id",
        "policy",
        "reply",
        "duration_ms",
        "timestamp",
        "level",
    ):
        assert key in event, key
    assert event["action"] == "relay"
    assert event["outcome"] == "accepted"
    assert event["message_id"] == "<reply-1@acme.test>"
    assert event["rcpt_tos"] == ["maria@customer.test"]
    assert event["reply"].startswith("250 2.0.0")
    assert len(event["queue_id"]) == 12
    assert await gateway.stop() == 0
    assert [e["event"] for e in gateway.events].count("message") == 1


async def test_flags_override_config_file(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    """--relay beats the file's relay; the file's other keys still apply."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        'listen = "127.0.0.1:0"\nrelay = "maildir:./file-outbox"\nmax_recipients = 1\n'
    )
    gateway = await GatewayProcess.start("--config", str(config), "--relay", sink.url, cwd=tmp_path)
    processes.append(gateway)
    await send_message(gateway.ports["outbound"], MESSAGE)
    assert len(sink.messages) == 1
    assert not (tmp_path / "file-outbox").exists()
    client = await session(gateway.ports["outbound"])
    await client.command("MAIL FROM:<agent@acme.test>")
    await client.command("RCPT TO:<a@customer.test>")
    assert (await client.command("RCPT TO:<b@customer.test>")).startswith("452")
    await client.close()
    assert await gateway.stop() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('lisen = "127.0.0.1:25"\n', "unknown key 'lisen'"),
        ('listen = "nowhere"\n', "key 'listen': 'nowhere' is not HOST:PORT"),
        ('relay = "ftp://relay"\n', "key 'relay': unknown relay scheme 'ftp'"),
        ("max_message_size = -1\n", "key 'max_message_size'"),
        ('allowed_clients = ["10.0.0.0/33"]\n', "key 'allowed_clients'"),
        ('[tls]\ncert = "/nonexistent.pem"\nkey = "/nonexistent.key"\n', "key 'tls.cert'"),
        ("listen = \n", "not valid TOML"),
    ],
)
async def test_bad_config_is_one_line_per_problem_exit_2(
    tmp_path: Path, content: str, expected: str
) -> None:
    """A wrong key or value names the file and key, exits 2, and shows no traceback."""
    config = tmp_path / "gateway.toml"
    config.write_text(content)
    status, out, err = await run_cli("serve", "--config", str(config))
    assert status == 2
    assert expected in err
    assert str(config) in err
    assert "Traceback" not in err + out


async def test_bad_flag_value_names_the_flag(tmp_path: Path) -> None:
    """A bad --relay value is reported against the flag."""
    status, _out, err = await run_cli("serve", "--relay", "smtp://")
    assert status == 2
    assert err.startswith("gateway: config error: --relay:")


async def test_port_in_use_is_one_line_exit_1(tmp_path: Path, sink: Sink) -> None:
    """Listening on a port someone else holds fails with a sentence, not a traceback."""
    (tmp_path / "policies").mkdir()
    status, _out, err = await run_cli(
        "serve", "--listen", f"127.0.0.1:{sink.port}", "--relay", sink.url, cwd=tmp_path
    )
    assert status == 1
    assert "cannot start" in err
    assert "Traceback" not in err


async def test_sigterm_finishes_transaction_in_flight(
    tmp_path: Path, sink: Sink, processes: list[GatewayProcess]
) -> None:
    """SIGTERM: the message being relayed still gets its 250, newcomers get 421, exit 0."""
    gateway = await GatewayProcess.start(
        "--listen", "127.0.0.1:0", "--relay", sink.url, cwd=tmp_path
    )
    processes.append(gateway)
    port = gateway.ports["outbound"]
    idle = await session(port)
    sink.behaviour.data_delay = 1.5
    in_flight = asyncio.create_task(send_message(port, MESSAGE))
    await asyncio.sleep(0.5)  # the message is now waiting on the relay
    stopping = asyncio.create_task(gateway.stop())
    await asyncio.sleep(0.3)
    newcomer = await RawClient.connect(port)
    assert (await newcomer.reply()).startswith("421 4.3.2")
    assert (await idle.reply()).startswith("421 4.3.2")
    assert "SINK1" in await in_flight
    assert await stopping == 0
    assert len(sink.messages) == 1
    stopped = next(e for e in gateway.events if e["event"] == "gateway_stopped")
    assert stopped["transactions_cut_off"] == 0


async def test_auth_hash_produces_a_usable_users_line(tmp_path: Path) -> None:
    """`gateway auth hash` prints a NAME:scrypt$... line that the gateway accepts."""
    status, out, _err = await run_cli("auth", "hash", "helpdesk", "--password", "pw-123456")
    assert status == 0
    assert out.startswith("helpdesk:scrypt$")
    users = tmp_path / "users"
    users.write_text(out)
    assert load_users(users)["helpdesk"].matches(b"pw-123456")
    assert not load_users(users)["helpdesk"].matches(b"wrong")


async def test_log_format_console_is_human(tmp_path: Path) -> None:
    """--log-format console prints readable lines instead of JSON; a bad choice exits 2."""
    (tmp_path / "policies").mkdir()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "console",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(2)]
    process.send_signal(signal.SIGTERM)
    await process.communicate()
    first = next(line for line in lines if "gateway_started" in line)
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)
    status, _out, err = await run_cli("serve", "--log-format", "yaml")
    assert status == 2
    assert "yaml" in err
