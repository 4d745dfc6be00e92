"""Malformed mail gets a defined outcome: CPython's email test data and generated MIME.

Every message goes through the real decision path with every check on; over SMTP
each gets a 2xx/4xx/5xx answer with a sentence and the session stays usable; and
`gateway check` prints a decision for each file. Never a crash or a hang.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import test.test_email  # CPython's own test package: its data directory ships with it
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import Gateway
from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import load_policies
from gateway.smtp.content import normalise_line_endings
from tests.process import run_cli
from tests.smtp_client import session
from tests.support import Sink, port_of, start_gateway

# 48 test messages (msg_*.txt, partly malformed) and 17 images and sounds: binary junk
CPYTHON_DATA = sorted((Path(test.test_email.__file__).parent / "data").iterdir())
ALL_CHECKS = (
    '[match]\nsenders = ["*"]\n[rewrite]\nmonitored = "support@acme.test"\n'
    '[checks.greeting]\naction = "hold"\n[checks.answer]\naction = "hold"\n'
    'open_questions = "hold"\n[checks.noreply_phrase]\naction = "hold"\n'
)


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir()
    (directory / "50-all.toml").write_text(ALL_CHECKS)
    return directory


def judged(raw: bytes, policy_dir: Path) -> str:
    content, _ = normalise_line_endings(raw)
    view = MessageView(content)
    decision = evaluate(view, "ana@acme.test", load_policies(policy_dir))
    assert decision.action in {"relay", "hold", "reject"}
    _ = (view.reply, view.defects, view.subject, view.sent_at, view.references)
    return decision.action


def test_cpython_email_test_data_is_all_there() -> None:
    """The interpreter ships its email test data (65 files in CPython 3.11)."""
    assert len(CPYTHON_DATA) >= 60
    assert len([p for p in CPYTHON_DATA if p.name.startswith("msg_")]) >= 45


@pytest.mark.parametrize("path", CPYTHON_DATA, ids=lambda p: p.name)
def test_cpython_email_test_data_gets_a_decision(path: Path, policy_dir: Path) -> None:
    """Each of CPython's (partly malformed) test messages is judged without an error."""
    judged(path.read_bytes(), policy_dir)


async def test_cpython_email_test_data_over_smtp(
    sink: Sink, gateways: list[Gateway], policy_dir: Path
) -> None:
    """Each message gets an answer with a code and a sentence; the session goes on."""
    gateway = await start_gateway(relay=sink.url, policies=str(policy_dir))
    gateways.append(gateway)
    client = await session(port_of(gateway))
    for path in CPYTHON_DATA:
        body = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = b"\r\n".join(
            b"." + line if line.startswith(b".") else line for line in body.split(b"\r\n")
        )
        assert (await client.command("MAIL FROM:<ana@acme.test>")).startswith("250"), path.name
        assert (await client.command("RCPT TO:<maria@customer.test>")).startswith("250")
        assert (await client.command("DATA")).startswith("354")
        await client.send(body.rstrip(b"\r\n") + b"\r\n.\r\n")
        reply = await client.reply()
        assert reply[:1] in {"2", "4", "5"}, (path.name, reply)
        assert len(reply) > 10, (path.name, reply)
        assert "Traceback" not in reply
        assert (await client.command("RSET")).startswith("250")
    assert (await client.command("NOOP")).startswith("250")
    await client.close()


async def test_gateway_check_handles_the_same_files(policy_dir: Path) -> None:
    """`gateway check --json` prints a decision for every CPython test message."""
    limit = asyncio.Semaphore(4)

    async def check(path: Path) -> None:
        async with limit:
            status, out, err = await run_cli(
                "check", str(path), "--policies", str(policy_dir), "--json"
            )
        assert status == 0, (path.name, err)
        assert json.loads(out)["action"] in {"relay", "hold", "reject"}, path.name

    await asyncio.gather(*(check(path) for path in CPYTHON_DATA))


# --- generated MIME -------------------------------------------------------------

_HEADER_VALUES = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.just("=?utf-8?b?not base64!?="),
    st.just("=?unknown-charset?q?x?="),
    st.just("<broken@"),
    st.just("a" * 1200),
)


@st.composite
def mime_part(draw: st.DrawFn, depth: int = 0) -> bytes:
    """A MIME part with hostile structure: bad boundaries, encodings, charsets, nesting."""
    kind = draw(st.sampled_from(["text", "html", "base64", "qp", "multipart", "rfc822", "junk"]))
    charset = draw(st.sampled_from(["utf-8", "latin-1", "x-unknown", "utf-7", ""]))
    body = draw(st.binary(max_size=400))
    if kind == "multipart" and depth < 6:
        boundary = draw(st.sampled_from(["b", "", "x" * 80, "with space", "--"]))
        parts = draw(st.lists(mime_part(depth + 1), max_size=3))
        closing = draw(st.booleans())
        inner = b"".join(b"--" + boundary.encode() + b"\r\n" + p for p in parts)
        end = b"--" + boundary.encode() + b"--\r\n" if closing else b""
        return (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode() + inner + end
        )
    if kind == "rfc822" and depth < 6:
        return b"Content-Type: message/rfc822\r\n\r\n" + draw(mime_part(depth + 1))
    headers = {
        "text": f"Content-Type: text/plain; charset={charset}",
        "html": f"Content-Type: text/html; charset={charset}",
        "base64": "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64",
        "qp": "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable",
        "multipart": "Content-Type: text/plain",
        "rfc822": "Content-Type: text/plain",
        "junk": draw(st.sampled_from(["Content-Type: ;;;", "Content-Type: text/", ""])),
    }[kind]
    line = draw(st.sampled_from([b"", b"x" * 1500 + b"\r\n", b"\x00\x00\r\n", b"=\r\n=ZZ\r\n"]))
    return headers.encode() + b"\r\n\r\n" + body + b"\r\n" + line


@st.composite
def hostile_message(draw: st.DrawFn) -> bytes:
    headers = [
        f"{name}: {draw(_HEADER_VALUES)}"
        for name in draw(
            st.lists(
                st.sampled_from(
                    [
                        "From",
                        "To",
                        "Subject",
                        "Message-ID",
                        "In-Reply-To",
                        "References",
                        "Date",
                        "Reply-To",
                        "Sender",
                        "Auto-Submitted",
                        "MIME-Version",
                    ]
                ),
                max_size=8,
            )
        )
    ]
    head = "\r\n".join(headers).encode("utf-8", "surrogateescape")
    return head + b"\r\nMIME-Version: 1.0\r\n" + draw(mime_part())


@settings(
    max_examples=int(os.environ.get("HOSTILE_MIME_EXAMPLES", "300")),
    derandomize=not os.environ.get("HOSTILE_MIME_EXAMPLES"),  # CI: the same 300 every run
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=hostile_message())
def test_generated_hostile_mime_gets_a_decision(raw: bytes, policy_dir: Path) -> None:
    """Broken boundaries, bad encodings and charsets, 8-bit headers, 998+ byte lines, NULs,
    deep nesting: every message is judged, never an exception."""
    judged(raw, policy_dir)
