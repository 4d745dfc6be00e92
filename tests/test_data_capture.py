"""The chunked DATA reader against aiosmtpd's line-by-line rules, on any split of the stream.

The reference below reads the way aiosmtpd 1.4.6's `smtp_DATA` does (lines ended by
CRLF only, the lone-dot line ends, > 1001-byte lines and size overruns answered after
the end, one leading dot removed per line). Hypothesis generates hostile streams
(bare CR/LF, dots, smuggling attempts, long lines) and cuts them anywhere; the
capture must agree with the reference on every cut. The SMTP-level behaviour is
covered over real sockets by test_smuggling.py and test_limits.py.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smtp.content import has_bare_line_endings
from gateway.smtp.data_capture import LINE_LIMIT, DataCapture, DataState


def reference(stream: bytes, limit: int | None) -> tuple[DataState, bytes, bytes] | None:
    """(state, content, bytes after the end) as aiosmtpd reads it; None if no end yet."""
    state = DataState.NOMINAL
    lines: list[bytes] = []
    size = 0
    position = 0
    while True:
        end = stream.find(b"\r\n", position)
        if end < 0:
            return None
        line = stream[position : end + 2]
        position = end + 2
        if line == b".\r\n":
            break
        if state is DataState.NOMINAL and len(line) > LINE_LIMIT + 2:
            state = DataState.TOO_LONG  # its text overruns the reader's limit while read
        size += len(line)
        if state is DataState.NOMINAL and limit and size > limit:
            state = DataState.TOO_MUCH
        if state is DataState.NOMINAL and len(line) > LINE_LIMIT:
            state = DataState.TOO_LONG
        lines.append(line[1:] if line.startswith(b".") else line)
    content = b"".join(lines) if state is DataState.NOMINAL else b""
    return state, content, stream[position:]


def captured(chunks: list[bytes], limit: int | None) -> tuple[DataState, bytes, bytes] | None:
    capture = DataCapture(limit)
    for index, chunk in enumerate(chunks):
        after = capture.feed(chunk)
        if after is not None:
            rest = after + b"".join(chunks[index + 1 :])
            content = capture.content() if capture.state is DataState.NOMINAL else b""
            if capture.state is DataState.NOMINAL:  # found while reading, as a count would
                assert capture.bare_line_endings == has_bare_line_endings(content)
            return capture.state, content, rest
    return None


PIECES = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b".", b"..", b"\r\n.\r\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r",
     b"\n.\n", b"x", b"Subject: hi", b"\x00", b"QUIT\r\n", b"y" * 400, b"z" * 1200,
     b"w" * 998, b"w" * 999, b"w" * 1000, b"w" * 1001]
)  # fmt: skip


@st.composite
def cut_streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    stream = b"".join(draw(st.lists(PIECES, max_size=40)))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    bounds = [0, *cuts, len(stream)]
    return stream, [stream[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=1500, deadline=None)
@given(cut_streams(), st.sampled_from([None, 50, 1000, 2000]))
def test_any_split_reads_like_aiosmtpd(cut: tuple[bytes, list[bytes]], limit: int | None) -> None:
    stream, chunks = cut
    assert captured(chunks, limit) == reference(stream, limit)


def test_dot_stuffing_and_the_end() -> None:
    capture = DataCapture(None)
    assert capture.feed(b"..leading\r\n.x\r\nplain\r\n") is None
    assert capture.feed(b".\r\nMAIL FROM:<a@b>\r\n") == b"MAIL FROM:<a@b>\r\n"
    assert capture.content() == b".leading\r\nx\r\nplain\r\n"


def test_smuggled_ends_stay_content() -> None:
    capture = DataCapture(None)
    body = b"a\r\n\n.\r\nMAIL FROM:<x@y>\r\n\r.\r\nb\n.\n"
    assert capture.feed(body) is None
    assert capture.feed(b"\r\n.\r\n") == b""
    assert capture.content() == body + b"\r\n"


def test_empty_message_and_end_split_across_chunks() -> None:
    capture = DataCapture(None)
    assert capture.feed(b".") is None
    assert capture.feed(b"\r") is None
    assert capture.feed(b"\n") == b""
    assert capture.content() == b""


def test_runaway_line_is_too_long_and_bounded() -> None:
    """A line that never ends is not kept whole: memory stays bounded."""
    capture = DataCapture(None)
    for _ in range(100):
        assert capture.feed(b"x" * 65536) is None
    assert capture.state is DataState.TOO_LONG
    assert len(capture._partial) <= 1
    assert capture.feed(b"\r\n.\r\n") == b""
    assert capture.state is DataState.TOO_LONG


def test_over_the_limit_is_too_much_and_not_kept() -> None:
    capture = DataCapture(1000)
    for _ in range(50):
        capture.feed(b"y" * 98 + b"\r\n")
    assert capture.state is DataState.TOO_MUCH
    assert len(capture._body) == 0


def test_a_long_line_cut_after_a_dot_does_not_end_the_data() -> None:
    """The byte kept of a runaway line is not at a line start: a "." there ends nothing."""
    capture = DataCapture(None)
    assert capture.feed(b"z" * 1500 + b".") is None
    assert capture.feed(b"\r\nmore\r\n") is None
    assert capture.feed(b".\r\n") == b""
    assert capture.state is DataState.TOO_LONG


def test_line_of_1000_bytes_that_also_overruns_the_size_is_too_much() -> None:
    """aiosmtpd counts a line whose text fits its reader before measuring it: 552 first."""
    capture = DataCapture(1500)
    capture.feed(b"a" * 998 + b"\r\n")
    assert capture.feed(b"b" * 1001 + b"\r") is None  # 1001 bytes of text fit the reader
    assert capture.feed(b"\n.\r\n") == b""
    assert capture.state is DataState.TOO_MUCH
