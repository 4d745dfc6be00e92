"""Shared test helpers: the relay sink, gateway start-up, ports and tools."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, AuthResult

from gateway.app import Gateway
from gateway.config import load_settings


@dataclass
class SunkMessage:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]

    @property
    def message_id(self) -> str | None:
        """Read with the standard library's parser, not the gateway's own."""
        return BytesHeaderParser().parsebytes(self.content)["Message-ID"]


@dataclass
class SinkBehaviour:
    """What the sink should do; every field defaults to behaving like a healthy relay."""

    mail_reply: str | None = None
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    data_delay: float = 0.0
    drop_on_data: bool = False
    drop_after_rcpt: int = 0  # close the connection after this many more RCPT replies


class SinkHandler:
    def __init__(self) -> None:
        self.messages: list[SunkMessage] = []
        self.mail_commands: list[str] = []  # every MAIL FROM the relay saw, replays included
        self.behaviour = SinkBehaviour()
        self.connections = 0
        self.arrived = asyncio.Event()

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail_commands.append(address)
        if self.behaviour.mail_reply:
            return self.behaviour.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sink: sender ok"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.behaviour.rcpt_replies.get(address)
        if reply:
            return reply
        if self.behaviour.drop_after_rcpt:
            self.behaviour.drop_after_rcpt -= 1
            if not self.behaviour.drop_after_rcpt:
                asyncio.get_running_loop().call_later(0.05, server.transport.close)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Sink: recipient ok"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        behaviour = self.behaviour
        if behaviour.data_delay:
            await asyncio.sleep(behaviour.data_delay)
        if behaviour.drop_on_data:
            server.transport.abort()
            return "250 2.0.0 never seen"
        if behaviour.data_reply:
            return behaviour.data_reply
        self.messages.append(
            SunkMessage(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                list(envelope.mail_options),
            )
        )
        self.arrived.set()
        return f"250 2.0.0 Ok: queued as SINK{len(self.messages)}"


@dataclass
class Sink:
    handler: SinkHandler
    server: asyncio.Server
    port: int
    url: str

    @property
    def messages(self) -> list[SunkMessage]:
        return self.handler.messages

    @property
    def behaviour(self) -> SinkBehaviour:
        return self.handler.behaviour


async def start_sink(
    tls: ssl.SSLContext | None = None,
    *,
    implicit_tls: bool = False,
    scheme: str = "smtp",
    host: str = "127.0.0.1",
    login: tuple[str, str] | None = None,
) -> Sink:
    """An aiosmtpd relay on a free port; `login` makes it require AUTH with that user."""
    handler = SinkHandler()

    def authenticate(
        server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == login)

    def factory() -> SMTP:
        handler.connections += 1
        with warnings.catch_warnings():
            # aiosmtpd warns that AUTH without TLS is unsafe: true, and fine for a loopback sink
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(
                handler,
                hostname="sink.test",
                enable_SMTPUTF8=True,
                tls_context=None if implicit_tls else tls,
                require_starttls=tls is not None and not implicit_tls,
                authenticator=authenticate if login else None,
                auth_required=login is not None,
                auth_require_tls=False,
            )

    server = await asyncio.get_running_loop().create_server(
        factory, host, 0, ssl=tls if implicit_tls else None
    )
    port = server.sockets[0].getsockname()[1]
    netloc = f"[{host}]" if ":" in host else host
    return Sink(handler, server, port, f"{scheme}://{netloc}:{port}")


def free_port() -> int:
    """A port nobody listens on (for 'connection refused')."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_gateway(**overrides: Any) -> Gateway:
    """An in-process gateway on a free port; no policies unless the test gives a directory."""
    overrides.setdefault("listen", "127.0.0.1:0")
    overrides.setdefault("policies", tempfile.mkdtemp(prefix="gateway-no-policies-"))
    store_dir = tempfile.mkdtemp(prefix="gateway-store-")
    overrides.setdefault("store", f"sqlite:///{store_dir}/gateway.db")
    settings = load_settings(None, overrides)
    gateway = Gateway(settings)
    await gateway.start()
    return gateway


def port_of(gateway: Gateway, leg: str = "outbound") -> int:
    return gateway.listeners[leg].address[1]


def require_tool(name: str) -> str:
    """System tools are installed by `make test`; their absence is a setup failure."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run `make test`, which installs it")
    return path


async def send_message(
    port: int,
    message: bytes,
    *,
    host: str = "127.0.0.1",
    sender: str = "agent@acme.test",
    recipients: tuple[str, ...] = ("maria@customer.test",),
) -> str:
    """Send one message with a stock client (aiosmtplib); returns the final reply text."""
    _errors, response = await aiosmtplib.send(
        message,
        sender=sender,
        recipients=list(recipients),
        hostname=host,
        port=port,
        start_tls=False,
    )
    return response


def scrape(address: tuple[str, int] | None) -> str:
    """The /metrics page as Prometheus would read it."""
    assert address is not None
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=5) as page:
        return str(page.read().decode())
