"""The `gateway` command. Errors are one line on stderr and an exit status, never a traceback.

Exit statuses (contract): 0 success, 1 the thing asked about is bad or failed,
2 usage or configuration error.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from gateway import __version__
from gateway.cli_support import FAILURE, USAGE_ERROR, config_option, fail, settings_or_exit
from gateway.held_cli import held as held_group
from gateway.log import configure_logging
from gateway.policy.loader import PolicyError
from gateway.smtp.auth import UsersFileError, hash_password
from gateway.stats_cli import stats as stats_command
from gateway.store.base import StoreError

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.service import Service

Sockets = TypeVar("Sockets")


def fail_with_problems(error: PolicyError, status: int) -> NoReturn:
    """Every policy problem on its own line, then exit."""
    for problem in error.problems:
        click.echo(f"gateway: policy error: {problem}", err=True)
    sys.exit(status)


# Options `gateway serve` and `gateway milter` share (they set the same config keys).
STORE_OPTION = click.option("--store", help="sqlite:///PATH or postgresql://...")
POLICIES_FLAG = click.option("--policies", help="Directory of policy files.")
WORKERS_OPTION = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Gateway processes sharing the listening ports (default 1; one per core).",
)
METRICS_OPTION = click.option(
    "--metrics", help="HOST:PORT to serve Prometheus metrics on (/metrics)."
)
LOG_FORMAT_OPTION = click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json",
    show_default=True,
    help="json for journald and log shippers, console for a terminal.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gateway")
def main() -> None:
    """helpdesk-gateway: an SMTP gateway between a helpdesk and its outbound relay."""


@main.command()
@config_option
@click.option("--listen", help="HOST:PORT for the outbound leg (default 127.0.0.1:10025).")
@click.option("--relay", help="smtp://, smtp+starttls://, smtps:// or maildir:PATH.")
@click.option("--inbound-listen", help="HOST:PORT for the optional inbound leg.")
@click.option("--inbound-relay", help="Where inbound mail goes (the helpdesk's SMTP intake).")
@STORE_OPTION
@POLICIES_FLAG
@METRICS_OPTION
@WORKERS_OPTION
@LOG_FORMAT_OPTION
def serve(config_file: Path | None, log_format: str, **flags: Any) -> None:
    """Run the gateway until SIGTERM."""
    settings = settings_or_exit(config_file, flags)
    configure_logging("json" if log_format == "json" else "console")
    from gateway.app import Gateway  # noqa: PLC0415 - keep `gateway --help` fast

    try:
        gateway = Gateway(settings)  # with --workers: the check before any fork
    except PolicyError as exc:
        fail_with_problems(exc, USAGE_ERROR)
    except UsersFileError as exc:
        fail(f"config error: {exc}", USAGE_ERROR)
    except StoreError as exc:
        fail(f"cannot open the store: {exc}")
    except (ssl.SSLError, OSError) as exc:
        fail(f"config error: cannot load TLS certificate/key ({exc})", USAGE_ERROR)
    from gateway.workers import bind_listeners, supervise  # noqa: PLC0415

    run_service(gateway, bind_listeners, supervise)


@main.command()
@config_option
@click.option(
    "--listen",
    "milter_listen",
    help="inet:HOST:PORT or unix:PATH for Postfix's smtpd_milters (default inet:127.0.0.1:8894).",
)
@POLICIES_FLAG
@STORE_OPTION
@click.option(
    "--hold",
    "milter_hold",
    type=click.Choice(["store", "quarantine"]),
    help="Held replies: into the gateway's store (then discarded by Postfix; default) "
    "or into Postfix's hold queue.",
)
@click.option(
    "--dkim",
    "milter_dkim",
    type=click.Choice(["sign", "off"]),
    help="sign: add the policy's DKIM signature (default); off: leave it to OpenDKIM.",
)
@METRICS_OPTION
@WORKERS_OPTION
@LOG_FORMAT_OPTION
def milter(config_file: Path | None, log_format: str, **flags: Any) -> None:
    """Run the gateway's checks, rewrites and signing as a Postfix/Sendmail milter."""
    settings = settings_or_exit(config_file, flags)
    configure_logging("json" if log_format == "json" else "console")
    from gateway.config import parse_milter_listen  # noqa: PLC0415
    from gateway.milter.server import MilterGateway, bind_milter_socket  # noqa: PLC0415
    from gateway.workers import supervise_milter  # noqa: PLC0415

    try:
        gateway = MilterGateway(settings)  # with --workers: the check before any fork
    except PolicyError as exc:
        fail_with_problems(exc, USAGE_ERROR)
    except StoreError as exc:
        fail(f"cannot open the store: {exc}")
    run_service(
        gateway,
        lambda checked: bind_milter_socket(parse_milter_listen(checked.milter_listen)),
        supervise_milter,
    )


def run_service(
    service: Service,
    bind: Callable[[Settings], Sockets],
    supervise: Callable[[Settings, Sockets], int],
) -> NoReturn:
    """Run the checked `service` until SIGTERM. With --workers, the supervisor path: its
    store is closed (no connection or pool thread may cross a fork; migrations have run),
    the sockets are bound once (`bind`), and the workers fork (`supervise`)."""
    settings = service.settings
    if settings.workers > 1:
        service.store.close()
        try:
            sockets = bind(settings)
        except OSError as exc:
            fail(f"cannot start: {exc.strerror or exc}")
        sys.exit(supervise(settings, sockets))
    try:
        status = asyncio.run(service.run())
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


main.add_command(held_group)
main.add_command(stats_command)

POLICIES_OPTION = click.option(
    "--policies",
    "policies_dir",
    type=click.Path(path_type=Path),
    default=Path("./policies"),
    show_default=True,
    help="Directory of policy files.",
)


@main.group()
def policy() -> None:
    """Policy files: validate before you deploy."""


@policy.command("check")
@POLICIES_OPTION
def policy_check(policies_dir: Path) -> None:
    """Validate every policy file; exit 0 with a summary per policy, 1 with every error."""
    from gateway.policy.loader import load_policies  # noqa: PLC0415
    from gateway.policy.summary import summarise  # noqa: PLC0415

    try:
        policies = load_policies(policies_dir)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"{len(exc.problems)} problem(s); no policy was changed", err=True)
        sys.exit(FAILURE)
    if not policies.policies:
        click.echo(f"{policies_dir}: no policy files; every message is relayed unchanged")
    for named in policies.policies:
        click.echo(summarise(named))


@main.command()
@click.argument("message", type=click.Path(path_type=Path, dir_okay=False))
@POLICIES_OPTION
@click.option("--mail-from", help="Envelope sender to assume (default: the From address).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def check(message: Path, policies_dir: Path, mail_from: str | None, as_json: bool) -> None:
    """Dry run: what the gateway would decide for MESSAGE.eml, and why."""
    from gateway.policy.dry_run import dry_run, render_text  # noqa: PLC0415
    from gateway.policy.loader import load_policies  # noqa: PLC0415

    try:
        raw = message.read_bytes()
    except OSError as exc:
        fail(f"cannot read {message} ({exc.strerror})")
    try:
        policies = load_policies(policies_dir)
    except PolicyError as exc:
        fail_with_problems(exc, FAILURE)
    result = dry_run(raw, policies, mail_from)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(render_text(result))


@main.group()
def dkim() -> None:
    """DKIM keys for the [dkim] section of a policy."""


@dkim.command("keygen")
@click.option("--domain", required=True, help="Signing domain (d=), e.g. acme.example.")
@click.option("--selector", required=True, help="Selector (s=), e.g. gw1.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Directory for the private key.",
)
@click.option(
    "--type",
    "key_type",
    type=click.Choice(["rsa", "ed25519"]),
    default="rsa",
    show_default=True,
    help="rsa (2048 bits, understood everywhere) or ed25519.",
)
def dkim_keygen(domain: str, selector: str, out_dir: Path, key_type: str) -> None:
    """Write DOMAIN.SELECTOR.pem (mode 0600) and print the DNS TXT record to publish."""
    from gateway.dkim_sign import generate_key, txt_record  # noqa: PLC0415

    path = out_dir / f"{domain}.{selector}.pem"
    if path.exists():
        fail(f"{path} exists; refusing to overwrite a key that may be published", FAILURE)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        key = generate_key(key_type, path)
    except OSError as exc:
        fail(f"cannot write {path} ({exc.strerror})")
    click.echo(f"private key: {path}")
    click.echo("publish this TXT record, then set [dkim] domain/selector/key in the policy:")
    click.echo(txt_record(domain, selector, key))


@main.command()
@config_option
@click.option(
    "--milter", is_flag=True, help="Check the `gateway milter` listener instead of SMTP's."
)
def health(config_file: Path | None, milter: bool) -> None:
    """Exit 0 when the listeners answer EHLO, the store takes writes and the policies load."""
    from gateway.health import check as check_health  # noqa: PLC0415

    settings = settings_or_exit(config_file, {})
    results = asyncio.run(check_health(settings, milter=milter))
    for ok, line in results:
        click.echo(f"{'ok  ' if ok else 'FAIL'} {line}")
    sys.exit(0 if all(ok for ok, _ in results) else FAILURE)
