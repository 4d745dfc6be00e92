"""Line-ending normalisation and the cheap header lookup used for every message."""

from __future__ import annotations

import asyncio

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smtp import smtp_relay
from gateway.smtp.content import first_header, has_bare_line_endings, normalise_line_endings


@pytest.mark.parametrize(
    ("raw", "clean", "had_bare"),
    [
        (b"a\r\nb\r\n", b"a\r\nb\r\n", False),
        (b"a\nb\n", b"a\r\nb\r\n", True),
        (b"a\rb\r", b"a\r\nb\r\n", True),
        (b"a\r\r\nb", b"a\r\n\r\nb\r\n", True),
        (b"a\n\rb", b"a\r\n\r\nb\r\n", True),
        (b"no newline at end", b"no newline at end\r\n", False),
    ],
)
def test_normalise_line_endings(raw: bytes, clean: bytes, had_bare: bool) -> None:
    """Every bare CR and bare LF becomes CRLF; the last line is terminated."""
    assert normalise_line_endings(raw) == (clean, had_bare)
    assert not has_bare_line_endings(normalise_line_endings(raw)[0])


def test_detects_bare_line_endings() -> None:
    """Only CRLF counts as clean."""
    assert not has_bare_line_endings(b"a\r\nb\r\n")
    assert has_bare_line_endings(b"a\nb\r\n")
    assert has_bare_line_endings(b"a\rb\r\n")


def test_first_header_unfolds_and_ignores_case() -> None:
    """Folded headers are joined; field names match in any case."""
    data = b"Subject: x\r\nmessage-id:\r\n <a@b.test>\r\nX: y\r\n\r\nMessage-ID: <body@b>\r\n"
    assert first_header(data, "Message-ID") == "<a@b.test>"


def test_first_header_never_reads_the_body() -> None:
    """A header-like line in the body is not a header."""
    assert first_header(b"Subject: x\r\n\r\nMessage-ID: <body@b>\r\n", "Message-ID") is None


def test_first_header_missing_or_empty() -> None:
    """Absent and empty headers are both None."""
    assert first_header(b"Subject: x\r\n\r\n", "Message-ID") is None
    assert first_header(b"Message-ID:   \r\n\r\n", "Message-ID") is None


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    message=st.lists(
        st.sampled_from([b".", b"a", b"\r", b"\n", b"\r\n", b"..x", b"x" * 50]), max_size=400
    ).map(b"".join),
    slice_size=st.sampled_from([1, 7, 64, 1000]),
)
def test_sliced_wire_format_equals_aiosmtplib(message: bytes, slice_size: int) -> None:
    """Big messages are formatted for DATA by the gateway (one replace for clean CRLF,
    slices otherwise): byte for byte what aiosmtplib sends."""
    expected = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"
    original = smtp_relay._SLICE
    smtp_relay._SLICE = slice_size
    try:
        assert b"".join(asyncio.run(smtp_relay._wire_format(message))) == expected
    finally:
        smtp_relay._SLICE = original


@settings(max_examples=200, derandomize=True, deadline=None)
@given(lines=st.lists(st.sampled_from([b".", b"a", b"..x", b"", b"x" * 50, b". ."]), max_size=200))
def test_clean_crlf_wire_format_equals_aiosmtplib(lines: list[bytes]) -> None:
    """The one-replace path (clean CRLF, what the handler relays) is aiosmtplib's output."""
    message = b"".join(line + b"\r\n" for line in lines)
    expected = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"
    assert b"".join(asyncio.run(smtp_relay._wire_format(message))) == expected
