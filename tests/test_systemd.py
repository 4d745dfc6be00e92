"""Under systemd: the unit verifies cleanly, is hardened, and the daemon speaks sd_notify."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.process import run_cli
from tests.support import Sink, require_tool

ROOT = Path(__file__).resolve().parent.parent
UNITS = ("gateway.service", "gateway-milter.service")
INSTALLED_BINARY = "/opt/gateway/venv/bin/gateway"


def unit_with_binary(tmp_path: Path, name: str) -> Path:
    """The unit as shipped, with ExecStart pointing at this checkout's `gateway` script.

    The only difference from a deployed unit is the install path, which does not
    exist on a CI machine; every other line is verified as it is.
    """
    binary = shutil.which("gateway") or str(Path(sys.executable).parent / "gateway")
    text = (ROOT / "systemd" / name).read_text()
    assert INSTALLED_BINARY in text
    unit = tmp_path / name
    unit.write_text(text.replace(INSTALLED_BINARY, binary))
    return unit


@pytest.mark.parametrize("name", UNITS)
def test_unit_verifies_without_any_output(tmp_path: Path, name: str) -> None:
    """`systemd-analyze verify` prints nothing at all (it exits 0 even on warnings)."""
    analyze = require_tool("systemd-analyze")
    result = subprocess.run(
        [analyze, "verify", str(unit_with_binary(tmp_path, name))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.stdout + result.stderr).strip() == ""
    assert result.returncode == 0


@pytest.mark.parametrize("name", UNITS)
def test_unit_exposure_is_ok_or_better(tmp_path: Path, name: str) -> None:
    """`systemd-analyze security` rates the unit OK or better (exposure <= 2.0)."""
    analyze = require_tool("systemd-analyze")
    result = subprocess.run(
        [analyze, "security", "--offline=true", str(unit_with_binary(tmp_path, name))],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0


def exec_start_arguments(name: str) -> list[str]:
    text = (ROOT / "systemd" / name).read_text()
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return line.removeprefix("ExecStart=").split()[1:]


@pytest.mark.parametrize(
    ("name", "command", "status"),
    [
        ("gateway.service", "serve", "STATUS=listening: outbound 127.0.0.1:"),
        ("gateway-milter.service", "milter", "STATUS=milter listening: inet:127.0.0.1:"),
    ],
)
async def test_daemon_notifies_ready_reload_stopping_and_watchdog(
    tmp_path: Path, sink: Sink, name: str, command: str, status: str
) -> None:
    """Each unit's command line under a NOTIFY_SOCKET: READY=1, reload on SIGHUP, STOPPING=1."""
    policies = tmp_path / "policies"
    policies.mkdir()
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'listen = "127.0.0.1:0"\nrelay = "{sink.url}"\npolicies = "{policies}"\n'
        'milter_listen = "inet:127.0.0.1:0"\n'
        f'store = "sqlite:///{tmp_path / "state" / "gateway.db"}"\n'
    )
    arguments = [
        a.replace("/etc/gateway/gateway.toml", str(config)) for a in exec_start_arguments(name)
    ]
    assert arguments == [command, "--config", str(config)]
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.setblocking(False)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *arguments,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "400000"},
    )
    loop = asyncio.get_running_loop()

    async def next_state(wanted: str) -> str:
        while True:
            datagram = (await asyncio.wait_for(loop.sock_recv(listener, 4096), 20)).decode()
            if wanted in datagram.splitlines():
                return datagram

    try:
        ready = await next_state("READY=1")
        assert status in ready
        await next_state("WATCHDOG=1")
        process.send_signal(signal.SIGHUP)
        await next_state("RELOADING=1")
        reloaded = await next_state("READY=1")
        assert "STATUS=policies reloaded" in reloaded
        process.send_signal(signal.SIGTERM)
        await next_state("STOPPING=1")
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        listener.close()


async def test_health_reports_each_part(tmp_path: Path, sink: Sink) -> None:
    """`gateway health`: one line per part, exit 0 when all are fine, 1 when one is not."""
    policies = tmp_path / "policies"
    policies.mkdir()
    store = f"sqlite:///{tmp_path / 'gateway.db'}"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'listen = "127.0.0.1:{sink.port}"\npolicies = "{policies}"\nstore = "{store}"\n'
    )
    status, out, _ = await run_cli("health", "--config", str(config))
    assert status == 0, out
    assert f"ok   listener outbound 127.0.0.1:{sink.port}: 250" in out
    assert "ok   store:" in out
    assert "ok   policies" in out
    (policies / "bad.toml").write_text("[match]\nsenders = []\n")
    status, out, _ = await run_cli("health", "--config", str(config))
    assert status == 1
    assert "FAIL policies" in out


@pytest.mark.parametrize("name", ["gateway.sysusers", "gateway.tmpfiles"])
def test_deployment_files_exist(name: str) -> None:
    """The user and directory declarations ship beside the unit."""
    text = (ROOT / "systemd" / name).read_text()
    assert "gateway" in text
