"""`gateway stats`: latency and review figures from the store (contract: DESIGN.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from gateway.cli_support import (
    config_option,
    duration_argument,
    fail,
    settings_or_exit,
    store_option,
    store_or_exit,
)
from gateway.stats import GROUPINGS, compute, render
from gateway.store.base import StoreError


@click.command("stats")
@config_option
@store_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the table.")
@click.option("--since", help="Only the last DURATION (90m, 24h, 7d, ...).")
@click.option(
    "--by", type=click.Choice(sorted(GROUPINGS)), help="Figures per agent, policy or day."
)
def stats(
    config_file: Path | None, store: str | None, as_json: bool, since: str | None, by: str | None
) -> None:
    """Replies, first reply time, reply latency (p50/p90/max), SLA breaches, review figures."""
    settings = settings_or_exit(config_file, {"store": store})
    backend = store_or_exit(settings)
    start = None if since is None else time.time() - duration_argument(since)
    try:
        replies, held = backend.replies_since(start), backend.held_since(start)
    except StoreError as exc:
        fail(str(exc))
    finally:
        backend.close()
    result = compute(replies, held, since=start, by=by)
    click.echo(json.dumps(result) if as_json else render(result))
