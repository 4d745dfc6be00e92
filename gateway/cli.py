"""The `gateway` command. Errors are one line on stderr and an exit status, never a traceback.

Exit statuses (contract): 0 success, 1 the thing asked about is bad or failed,
2 usage or configuration error.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from gateway import __version__
from gateway.config import ConfigError, load_settings
from gateway.log import configure_logging
from gateway.smtp.auth import UsersFileError, hash_password

USAGE_ERROR = 2
FAILURE = 1


def fail(message: str, status: int = FAILURE) -> NoReturn:
    click.echo(f"gateway: {message}", err=True)
    sys.exit(status)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gateway")
def main() -> None:
    """helpdesk-gateway: an SMTP gateway between a helpdesk and its outbound relay."""


@main.command()
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--listen", help="HOST:PORT for the outbound leg (default 127.0.0.1:10025).")
@click.option("--relay", help="smtp://, smtp+starttls://, smtps:// or maildir:PATH.")
@click.option("--inbound-listen", help="HOST:PORT for the optional inbound leg.")
@click.option("--inbound-relay", help="Where inbound mail goes (the helpdesk's SMTP intake).")
@click.option("--store", help="sqlite:///PATH or postgresql://...")
@click.option("--policies", help="Directory of policy files.")
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json",
    show_default=True,
    help="json for journald and log shippers, console for a terminal.",
)
def serve(config_file: Path | None, log_format: str, **flags: Any) -> None:
    """Run the gateway until SIGTERM."""
    try:
        settings = load_settings(config_file, flags)
    except ConfigError as exc:
        for line in exc.lines:
            click.echo(f"gateway: config error: {line}", err=True)
        sys.exit(USAGE_ERROR)
    configure_logging("json" if log_format == "json" else "console")
    from gateway.app import Gateway  # noqa: PLC0415 - keep `gateway --help` fast

    try:
        gateway = Gateway(settings)
    except UsersFileError as exc:
        fail(f"config error: {exc}", USAGE_ERROR)
    except (ssl.SSLError, OSError) as exc:
        fail(f"config error: cannot load TLS certificate/key ({exc})", USAGE_ERROR)
    try:
        status = asyncio.run(gateway.run())
    except OSError as exc:
        fail(f"cannot start: {exc.strerror or exc}")
    sys.exit(status)


@main.group()
def auth() -> None:
    """SMTP AUTH users for helpdesks that connect from outside allowed_clients."""


@auth.command("hash")
@click.argument("name")
@click.password_option(prompt="Password", help="Read from the prompt when not given.")
def auth_hash(name: str, password: str) -> None:
    """Print a users-file line (NAME:scrypt$...) for the [auth] users_file."""
    if ":" in name or not name.strip():
        fail("user name must be non-empty and contain no ':'", USAGE_ERROR)
    click.echo(f"{name}:{hash_password(password)}")
