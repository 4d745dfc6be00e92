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
