"""Settings: command-line flags override the TOML config file, which overrides defaults.

Validation is strict (unknown keys are errors) because a typo in a mail
gateway's config silently changes who may relay. Every problem is reported as
one line naming the key, and ``gateway serve`` exits 2.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from gateway.smtp.relay import RelayTarget, RelayUrlError, parse_relay_url

DEFAULT_LISTEN = "127.0.0.1:10025"
DEFAULT_RELAY = "maildir:./var/outbox"
DEFAULT_STORE = "sqlite:///./var/gateway.db"
DEFAULT_POLICIES = "./policies"
DEFAULT_MILTER_LISTEN = "inet:127.0.0.1:8894"
DEFAULT_ALLOWED_CLIENTS = ("127.0.0.0/8", "::1/128")
DEFAULT_PROXY_TRUSTED = ("127.0.0.1/32", "::1/128")
MIB = 1024 * 1024


class ConfigError(Exception):
    """A configuration problem; `lines` holds one self-contained sentence per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def parse_host_port(value: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` or ``[IPv6]:PORT``; port 0 asks the OS for a free port."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r} has no valid port (0-65535)")
    return host, int(port_text)


def parse_milter_listen(spec: str) -> tuple[str, int] | Path:
    """Postfix's own spelling of a milter address: ``inet:HOST:PORT`` or ``unix:/PATH``."""
    kind, sep, rest = spec.partition(":")
    if sep and kind == "unix" and rest.startswith("/"):
        return Path(rest)
    if sep and kind in {"inet", "inet6"}:
        return parse_host_port(rest)
    raise ValueError(f"{spec!r} is not inet:HOST:PORT or unix:/ABSOLUTE/PATH")


def _host_port(value: Any) -> tuple[str, int]:
    if not isinstance(value, str):
        raise ValueError("must be a string HOST:PORT")  # noqa: TRY004 - pydantic wants ValueError
    return parse_host_port(value)


def _relay(value: Any) -> RelayTarget:
    if not isinstance(value, str):
        raise ValueError("must be a relay URL string")  # noqa: TRY004
    try:
        return parse_relay_url(value)
    except RelayUrlError as exc:
        raise ValueError(str(exc)) from exc


def _readable_file(value: Any) -> Path:
    path = Path(str(value))
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is not a readable file")
    return path


ReadableFile = Annotated[Path, BeforeValidator(_readable_file)]
HostPort = Annotated[tuple[str, int], BeforeValidator(_host_port)]
RelayUrl = Annotated[RelayTarget, BeforeValidator(_relay)]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class TlsSettings(_Strict):
    cert: ReadableFile
    key: ReadableFile


class AuthSettings(_Strict):
    users_file: ReadableFile


class Settings(_Strict):
    listen: HostPort = Field(default=DEFAULT_LISTEN, validate_default=True)
    relay: RelayUrl = Field(default=DEFAULT_RELAY, validate_default=True)
    inbound_listen: HostPort | None = None
    # Prometheus text format at http://HOST:PORT/metrics (unset: no metrics endpoint).
    metrics: HostPort | None = None
    inbound_relay: RelayUrl | None = None
    store: str = DEFAULT_STORE
    policies: Path = Path(DEFAULT_POLICIES)
    allowed_clients: tuple[Network, ...] = Field(
        default=DEFAULT_ALLOWED_CLIENTS, validate_default=True
    )
    # Behind HAProxy (or another load balancer): every connection starts with a PROXY
    # protocol header (v1 or v2) naming the real client, which allowed_clients then
    # judges. Only peers in proxy_trusted may send one; anyone else is disconnected.
    proxy_protocol: bool = False
    proxy_trusted: tuple[Network, ...] = Field(default=DEFAULT_PROXY_TRUSTED, validate_default=True)
    max_message_size: int = Field(default=25 * MIB, gt=0)
    max_recipients: int = Field(default=100, gt=0)
    idle_timeout: float = Field(default=300.0, gt=0)
    # Connections per listener; more get "421 4.7.0" at once. From 80 % of it on, idle
    # sessions are cut after stress_idle_timeout instead (Postfix's stress mode), so
    # connections held open by idle clients cannot lock the helpdesk out.
    max_connections: int = Field(default=1000, gt=0)
    # Message bytes held in memory at once (by the SIZE clients declare); beyond: 452 4.3.1.
    max_bytes_in_flight: int = Field(default=256 * MIB, gt=0)
    stress_idle_timeout: float = Field(default=10.0, gt=0)
    shutdown_grace: float = Field(default=60.0, ge=0)
    # Gateway processes sharing the listening sockets (one per core; see gateway/workers.py).
    workers: int = Field(default=1, ge=1, le=64)
    hostname: str | None = None
    # `gateway milter`: where Postfix's smtpd_milters connects (inet:HOST:PORT or unix:PATH);
    # held replies go to the gateway's store ("store", then DISCARD) or to Postfix's hold
    # queue ("quarantine"); "off" leaves DKIM signing to a milter after the gateway.
    milter_listen: str = DEFAULT_MILTER_LISTEN
    milter_hold: Literal["store", "quarantine"] = "store"
    milter_dkim: Literal["sign", "off"] = "sign"
    tls: TlsSettings | None = None
    auth: AuthSettings | None = None

    @field_validator("allowed_clients", "proxy_trusted", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> tuple[Network, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError('must be a list of CIDRs, e.g. ["127.0.0.1/32"]')  # noqa: TRY004
        networks: list[Network] = []
        for item in value:
            try:
                networks.append(ipaddress.ip_network(str(item), strict=False))
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a network (CIDR)") from exc
        return tuple(networks)

    @field_validator("milter_listen")
    @classmethod
    def _milter_listen(cls, value: str) -> str:
        parse_milter_listen(value)
        return value

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(f"{value!r} is not sqlite:///PATH or postgresql://...")
        return value

    def allows(self, address: str) -> bool:
        """Whether a client address is inside `allowed_clients` (IPv4-mapped IPv6 counts)."""
        return _inside(address, self.allowed_clients)

    def trusts_proxy(self, address: str) -> bool:
        """Whether a TCP peer may send a PROXY header (is one of our load balancers)."""
        return _inside(address, self.proxy_trusted)


def _inside(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


# Settings whose command-line flag is not --KEY (`gateway milter --listen` sets milter_listen).
_FLAG_OF = {"milter_listen": "--listen", "milter_hold": "--hold", "milter_dkim": "--dkim"}


def _describe(error: Any, config_file: Path | None, flags: set[str]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    top = str(error["loc"][0]) if error["loc"] else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    if top in flags:
        return f"{_FLAG_OF.get(top, '--' + top.replace('_', '-'))}: {message}"
    where = f"{config_file}: " if config_file is not None else ""
    if error["type"] == "extra_forbidden":
        return f"{where}unknown key {location!r}"
    return f"{where}key {location!r}: {message}"


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file ({exc.strerror})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from exc


def load_settings(config_file: Path | None, overrides: dict[str, Any]) -> Settings:
    """Merge defaults < config file < flags (flags given as non-None values in `overrides`)."""
    values = read_config_file(config_file) if config_file is not None else {}
    flags = {key: value for key, value in overrides.items() if value is not None}
    values.update(flags)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        lines = [_describe(error, config_file, set(flags)) for error in exc.errors()]
        raise ConfigError(lines) from exc
