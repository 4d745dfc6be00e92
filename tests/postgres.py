"""A real PostgreSQL for the tests, without root or a system service (the pgserver package).

One server per test session; each test gets a database of its own. `restart`
stops the server the way an admin's `systemctl restart postgresql` does (fast
shutdown: sessions are cut off) and starts it again on the same socket.
"""

from __future__ import annotations

import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root) and falls back to /tmp
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver._commands import pg_ctl


class Postgres:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server = pgserver.get_server(directory, cleanup_mode="stop")
        self.socket_dir = parse_qs(urlsplit(self.server.get_uri()).query)["host"][0]

    def url(self, database: str = "postgres") -> str:
        return str(self.server.get_uri(database))

    def create_database(self) -> str:
        name = f"gw_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.directory, user=self.server.system_user)

    def start(self) -> None:
        pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-l",
                str(self.directory / "log"),
                "start",
            ],
            pgdata=self.directory,
            user=self.server.system_user,
            timeout=30,
        )

    def restart(self, down_seconds: float) -> None:
        """Down for `down_seconds` (blocking: run it in a thread from async tests)."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.server.cleanup()
