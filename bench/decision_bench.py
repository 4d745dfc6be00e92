"""Time per message for parse + message view + decision, at 5 KB, 50 KB and 1 MB.

Two figures per size: the decision as `gateway serve` makes it today (headers
parsed eagerly, noreply check) and the full view a text check needs (MIME
decoded by mail-parser, HTML rendered, reply split from quotes and
signature). Medians of repeated timings, with the example policies in
policies/ (they match the sender used here).

    python bench/decision_bench.py [--repeat 7] [--policies policies]
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

from timing import median_ms  # bench/timing.py: scripts run from bench/

from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import load_policies
from gateway.smtp.content import normalise_line_endings

REPLY = (
    "Hi Maria,\r\n\r\nthanks for your patience. Your refund of 49.90 EUR for order 1234 was "
    "issued today and reaches your card in 3-5 business days.\r\n\r\nBest regards,\r\nAna\r\n"
    "\r\nOn Mon, 23 Nov 2026 at 09:14, Maria Lopez <maria@customer.test> wrote:\r\n"
)
QUOTE_LINE = "> I returned order 1234 two weeks ago and still have no refund. Where is it?\r\n"


def make_message(size: int) -> bytes:
    """A plain reply with quoted history up to 50 KB; beyond that, a PDF-like attachment."""
    head = (
        "From: Ana <agent@acme.example>\r\nTo: Maria Lopez <maria@customer.test>\r\n"
        "Subject: Re: [#4711] Refund\r\nMessage-ID: <r@acme.example>\r\n"
        "In-Reply-To: <c@customer.test>\r\nMIME-Version: 1.0\r\n"
    )
    if size <= 64 * 1024:
        body = REPLY + QUOTE_LINE * max(1, (size - len(head) - len(REPLY)) // len(QUOTE_LINE))
        text = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
        return text.encode()
    attachment = base64.encodebytes(bytes(range(256)) * (size * 3 // 4 // 256)).decode()
    return (
        head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + REPLY
        + QUOTE_LINE * 3
        + '--b\r\nContent-Type: application/pdf; name="invoice.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + attachment.replace("\n", "\r\n") + "--b--\r\n"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--policies", type=Path, default=Path("policies"))
    args = parser.parse_args()
    policies = load_policies(args.policies)

    for label, size, number in (
        ("5 KB", 5_000, 300),
        ("50 KB", 50_000, 60),
        ("1 MB", 1_000_000, 5),
    ):
        raw = make_message(size)

        def decision_only(raw: bytes = raw) -> object:
            content, _ = normalise_line_endings(raw)
            return evaluate(MessageView(content), "agent@acme.example", policies)

        def full_view(raw: bytes = raw) -> object:
            content, _ = normalise_line_endings(raw)
            view = MessageView(content)
            evaluate(view, "agent@acme.example", policies)
            return view.reply

        decided = evaluate(MessageView(raw), "agent@acme.example", policies)
        quick = median_ms(decision_only, args.repeat, number)
        full = median_ms(full_view, args.repeat, number)
        print(
            f"{label:6s} ({len(raw):>9,d} B)  decision {quick:7.3f} ms"
            f"   full view + decision {full:7.3f} ms   [{decided.action}, policy {decided.policy}]"
        )


if __name__ == "__main__":
    main()
