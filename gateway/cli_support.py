"""What every `gateway` command shares: exit statuses, one-line failures, settings loading.

Exit statuses (contract): 0 success, 1 the thing asked about is bad or failed,
2 usage or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from gateway.config import ConfigError, Settings, load_settings
from gateway.policy.schema import parse_duration
from gateway.store import open_store
from gateway.store.base import Store, StoreError

FAILURE = 1
USAGE_ERROR = 2


def fail(message: str, status: int = FAILURE) -> NoReturn:
    click.echo(f"gateway: {message}", err=True)
    sys.exit(status)


def settings_or_exit(config_file: Path | None, flags: dict[str, Any]) -> Settings:
    """Flags over the config file over defaults; every problem on its own line, exit 2."""
    try:
        return load_settings(config_file, flags)
    except ConfigError as exc:
        for line in exc.lines:
            click.echo(f"gateway: config error: {line}", err=True)
        sys.exit(USAGE_ERROR)


def store_or_exit(settings: Settings) -> Store:
    try:
        return open_store(settings.store)
    except StoreError as exc:
        fail(str(exc))


def duration_argument(value: str) -> float:
    """A --since/--older-than value in seconds; a bad one is a usage error."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


config_option = click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="TOML config file."
)
store_option = click.option("--store", help="Store URL (default from the config file).")
