"""The relay contract: where accepted mail goes, in lockstep with the helpdesk's session.

The gateway answers the helpdesk only with what the relay answered (Postfix's
``smtpd_proxy_filter`` model): MAIL and each RCPT are forwarded as they arrive,
so a recipient the relay refuses is refused to the helpdesk right there, and
the final ``250`` exists only because the relay gave one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from gateway.smtp.replies import Reply

SMTP_SCHEMES = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "tls"}
DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
DEFAULT_RELAY_TIMEOUT = 60.0


class RelayTransaction(Protocol):
    """One mail transaction on the relay, opened when the helpdesk sends MAIL FROM."""

    async def mail(self, sender: str, options: list[str]) -> Reply:
        """Forward MAIL FROM; the reply is what the helpdesk hears."""

    async def rcpt(self, recipient: str, options: list[str]) -> Reply:
        """Forward one RCPT TO; the reply is what the helpdesk hears for that recipient."""

    async def send(self, sender: str, content: bytes) -> Reply:
        """Hand over the final bytes; `sender` may differ from MAIL FROM after a rewrite."""

    async def abort(self) -> None:
        """Give up the transaction (RSET); never raises."""


class Relay(Protocol):
    description: str
    leaves_machine: bool

    async def begin(self) -> RelayTransaction: ...

    async def close(self) -> None: ...


class RelayUrlError(ValueError):
    """A relay URL that cannot be used; the message names what is wrong."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # plain | starttls | tls
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_RELAY_TIMEOUT
    cafile: Path | None = None
    verify: bool = True

    def __str__(self) -> str:
        scheme = {v: k for k, v in SMTP_SCHEMES.items()}[self.security]
        return f"{scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class MaildirTarget:
    path: Path

    def __str__(self) -> str:
        return f"maildir:{self.path}"


RelayTarget = SmtpTarget | MaildirTarget


def parse_relay_url(url: str) -> RelayTarget:
    """Parse ``smtp://``, ``smtp+starttls://``, ``smtps://`` or ``maildir:PATH``.

    SMTP URLs take ``user:password@`` and the query options ``timeout`` (seconds),
    ``cafile`` (a CA bundle for private relays) and ``verify=no`` (lab use only).
    """
    if url.startswith("maildir:"):
        path = url.removeprefix("maildir:")
        if not path:
            raise RelayUrlError("maildir: needs a path, e.g. maildir:./var/outbox")
        return MaildirTarget(Path(path))
    parts = urlsplit(url)
    security = SMTP_SCHEMES.get(parts.scheme)
    if security is None:
        raise RelayUrlError(
            f"unknown relay scheme {parts.scheme!r} in {url!r}; "
            "use smtp://, smtp+starttls://, smtps:// or maildir:PATH"
        )
    if not parts.hostname:
        raise RelayUrlError(f"relay URL {url!r} has no host")
    try:
        port = parts.port or DEFAULT_PORTS[security]
    except ValueError as exc:
        raise RelayUrlError(f"relay URL {url!r} has a bad port") from exc
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(options) - {"timeout", "cafile", "verify"}
    if unknown:
        raise RelayUrlError(f"relay URL option(s) {', '.join(sorted(unknown))} not known")
    try:
        timeout = float(options.get("timeout", DEFAULT_RELAY_TIMEOUT))
    except ValueError as exc:
        raise RelayUrlError(f"relay URL timeout {options['timeout']!r} is not a number") from exc
    if timeout <= 0:
        raise RelayUrlError("relay URL timeout must be positive")
    verify = options.get("verify", "yes").lower()
    if verify not in {"yes", "no"}:
        raise RelayUrlError("relay URL option verify must be yes or no")
    cafile = Path(options["cafile"]) if "cafile" in options else None
    if cafile is not None and not cafile.is_file():
        raise RelayUrlError(f"relay URL cafile {str(cafile)!r} is not a readable file")
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        cafile=cafile,
        verify=verify == "yes",
    )


def make_relay(target: RelayTarget, local_hostname: str) -> Relay:
    """Build the relay client for a parsed target."""
    if isinstance(target, MaildirTarget):
        from gateway.smtp.maildir_relay import MaildirRelay  # noqa: PLC0415

        return MaildirRelay(target.path)
    from gateway.smtp.smtp_relay import SmtpRelay  # noqa: PLC0415

    return SmtpRelay(target, local_hostname=local_hostname)
