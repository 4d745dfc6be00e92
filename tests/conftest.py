"""Fixtures: real servers on loopback (see tests/support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from gateway.app import Gateway
from tests.postgres import Postgres
from tests.process import GatewayProcess
from tests.support import Sink, start_gateway, start_sink


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    started = await start_sink()
    yield started
    started.server.close()


@pytest.fixture
async def gateways() -> AsyncIterator[list[Gateway]]:
    """Gateways started by a test; drained and closed afterwards."""
    started: list[Gateway] = []
    yield started
    for gateway in started:
        await gateway.drain_and_close()


@pytest.fixture
async def gateway(sink: Sink, gateways: list[Gateway]) -> Gateway:
    started = await start_gateway(relay=sink.url, shutdown_grace=2.0)
    gateways.append(started)
    return started


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert_files(
    ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path, Path]]:
    """(cert, key, ca bundle) files for 127.0.0.1."""
    directory = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = (directory / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert_file, key_file, ca_file


@pytest.fixture
async def processes() -> AsyncIterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for process in started:
        process.kill()
        await process.process.wait()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """One real PostgreSQL server for the session (pgserver: no root, no system service)."""
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.close()


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh database of its own for each test, dropped afterwards."""
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both backends: same behaviour is the contract."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'gateway.db'}"
    return str(request.getfixturevalue("postgres_url"))
