"""`gateway held ...`: the review queue from a terminal (list, show, release, reject, purge)."""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import click

from gateway.cli_support import (
    config_option,
    duration_argument,
    fail,
    settings_or_exit,
    store_option,
    store_or_exit,
)
from gateway.config import Settings
from gateway.log import configure_logging
from gateway.message import MessageView
from gateway.policy.engine import select_policy
from gateway.policy.loader import PolicyError, PolicySet, load_policies
from gateway.store.base import HeldMessage, NotFound, Store, StoreError


def _settings(config_file: Path | None, **flags: Any) -> Settings:
    return settings_or_exit(config_file, flags)


def _age(held: HeldMessage) -> str:
    seconds = max(0, int(time.time() - held.received_at.timestamp()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@click.group()
def held() -> None:
    """The review queue: messages a policy held for a person to decide."""


@held.command("list")
@config_option
@store_option
@click.option(
    "--status",
    type=click.Choice(["held", "released", "rejected", "all"]),
    default="held",
    show_default=True,
)
@click.option("--reason", help="Only messages with this reason code.")
@click.option("--older-than", "older_than", help="Only messages older than this (e.g. 2h).")
@click.option("--json", "as_json", is_flag=True, help="A JSON array for scripts.")
def list_held(
    config_file: Path | None,
    store: str | None,
    status: str,
    reason: str | None,
    older_than: str | None,
    as_json: bool,
) -> None:
    """List held messages (oldest first)."""
    backend = store_or_exit(_settings(config_file, store=store))
    try:
        messages = backend.list(
            status=None if status == "all" else status,
            reason=reason,
            older_than=duration_argument(older_than) if older_than else None,
        )
    except StoreError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps([m.as_json() for m in messages], ensure_ascii=False))
        return
    if not messages:
        click.echo("no messages")
        return
    click.echo(
        f"{'ID':12}  {'AGE':>4}  {'STATUS':8}  {'FROM':24}  {'TO':24}  {'SUBJECT':28}  REASONS"
    )
    for m in messages:
        click.echo(
            f"{m.id:12}  {_age(m):>4}  {m.status:8}  {_clip(m.mail_from, 24):24}  "
            f"{_clip(', '.join(m.rcpt_tos), 24):24}  {_clip(m.subject, 28):28}  "
            f"{', '.join(m.reasons)}"
        )


@held.command("show")
@click.argument("held_id")
@config_option
@store_option
@click.option("--raw", is_flag=True, help="The message bytes exactly as received.")
def show_held(held_id: str, config_file: Path | None, store: str | None, raw: bool) -> None:
    """Everything a reviewer needs: headers, reasons, the reply, the customer's message."""
    backend = store_or_exit(_settings(config_file, store=store))
    try:
        message = backend.get(held_id)
    except StoreError as exc:
        fail(str(exc))
    if raw:
        sys.stdout.buffer.write(message.content)
        return
    view = MessageView(message.content)
    header_end = message.content.find(b"\r\n\r\n")
    headers = message.content[: header_end if header_end >= 0 else len(message.content)]
    lines = [
        f"id:       {message.id} ({message.status}, "
        f"received {message.received_at:%Y-%m-%d %H:%M:%S} UTC)",
        f"envelope: {message.mail_from or '<>'} -> {', '.join(message.rcpt_tos)}",
        f"policy:   {message.policy}",
        "reasons:",
        *(f"  - {f['code']}: {f['detail']}" for f in message.findings),
        "",
        "headers:",
        *(f"  {line}" for line in headers.decode("utf-8", "replace").splitlines()),
        "",
        "new reply text:",
        *(f"  | {line}" for line in (view.reply.new_text or "(empty)").splitlines()),
        "",
        "quoted customer message:",
        *(f"  > {line}" for line in (view.reply.quoted or "(none)").splitlines()),
        "",
        "audit:",
        *(
            f"  {a.at:%Y-%m-%d %H:%M:%S} {a.who}: {a.action}{' - ' + a.note if a.note else ''}"
            for a in message.audit
        ),
    ]
    click.echo("\n".join(lines))


def _who(by: str | None) -> str:
    return by or getpass.getuser()


@held.command("release")
@click.argument("held_id")
@config_option
@store_option
@click.option("--relay", help="Relay URL (default from the config file).")
@click.option("--policies", help="Policy directory (default from the config file).")
@click.option("--by", help="Reviewer name (default: your login name).")
@click.option("--note", default="", help="Why it may go.")
def release_held(
    held_id: str,
    config_file: Path | None,
    store: str | None,
    relay: str | None,
    policies: str | None,
    by: str | None,
    note: str,
) -> None:
    """Deliver a held message through the relay (rewritten and signed afresh)."""
    from gateway.release import deliver  # noqa: PLC0415
    from gateway.smtp.relay import make_relay  # noqa: PLC0415

    settings = _settings(config_file, store=store, relay=relay, policies=policies)
    backend = store_or_exit(settings)
    who = _who(by)
    try:
        policy_set = load_policies(settings.policies)
    except PolicyError as exc:
        fail(f"policies are invalid, nothing released: {exc.problems[0]}")
    try:
        message = backend.claim_for_release(held_id, who)
    except StoreError as exc:
        fail(f"not released: {exc}")
    relay_client = make_relay(settings.relay, settings.hostname or socket.gethostname())
    reply, _outgoing = asyncio.run(deliver(message, relay_client, policy_set))
    try:
        if not reply.ok:
            backend.abandon_release(held_id, who, str(reply))
        else:
            backend.finish_release(held_id, who, f"{note} [{reply}]".strip())
    except StoreError as exc:
        state = "delivered" if reply.ok else "not delivered"
        fail(f"{held_id} was {state} ({reply}) but the store could not record it: {exc}")
    if not reply.ok:
        fail(f"not released, still held: the relay said {reply}")
    _record_release(backend, policy_set, message)
    click.echo(f"released {held_id}: {reply}")


def _record_release(backend: Store, policy_set: PolicySet, message: HeldMessage) -> None:
    """The customer waited while the reply was held: its latency counts from release.

    The `reply_latency` line goes to stderr as JSON (stdout is for the reviewer).
    """
    from gateway.thread_recorder import ThreadRecorder  # noqa: PLC0415

    configure_logging("json", stream=sys.stderr)
    view = MessageView(message.content)
    named = select_policy(view, message.mail_from, policy_set)
    ThreadRecorder(backend, lambda: policy_set).reply_released(
        view, message.id, message.mail_from, named
    )


@held.command("reject")
@click.argument("held_id")
@config_option
@store_option
@click.option("--by", help="Reviewer name (default: your login name).")
@click.option("--note", default="", help="Why it must not go.")
def reject_held(
    held_id: str, config_file: Path | None, store: str | None, by: str | None, note: str
) -> None:
    """Mark a held message rejected: it will never leave."""
    backend = store_or_exit(_settings(config_file, store=store))
    try:
        backend.reject(held_id, _who(by), note)
    except (NotFound, StoreError) as exc:
        fail(f"not rejected: {exc}")
    click.echo(f"rejected {held_id}")


@held.command("purge")
@config_option
@store_option
@click.option("--older-than", "older_than", required=True, help="Retention, e.g. 30d.")
def purge_held(config_file: Path | None, store: str | None, older_than: str) -> None:
    """Delete released and rejected messages older than DURATION (held ones are kept)."""
    backend = store_or_exit(_settings(config_file, store=store))
    try:
        count = backend.purge(duration_argument(older_than))
    except StoreError as exc:
        fail(str(exc))
    click.echo(f"purged {count} message(s)")
