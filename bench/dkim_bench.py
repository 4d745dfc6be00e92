"""DKIM signing cost per message: the gateway's signer (dkimpy canonicalisation +
`cryptography` signature) for RSA-2048 and Ed25519, next to dkimpy's own
pure-Python RSA signing as the baseline. Medians of repeated timings.

    python bench/dkim_bench.py [--repeat 7] [--number 200]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import dkim
from timing import median_ms  # bench/timing.py: scripts run from bench/

from gateway.dkim_sign import Signer, generate_key

MESSAGE = (
    b"From: ACME Support <support@acme.example>\r\nTo: Maria <maria@customer.test>\r\n"
    b"Subject: Re: [#4711] refund\r\nMessage-ID: <b@acme.example>\r\nDate: Mon, 23 Nov 2026 "
    b"11:02:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    + b"Hi Maria, your refund was issued today and reaches your card in 3-5 days.\r\n"
    * 64
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="gateway-dkim-bench-"))
    print(f"# {len(MESSAGE)} B message, medians of {args.repeat} x {args.number}")
    for key_type in ("rsa", "ed25519"):
        path = directory / f"{key_type}.pem"
        signer = Signer("acme.example", "gw1", generate_key(key_type, path))
        cost = median_ms(lambda signer=signer: signer.sign(MESSAGE), args.repeat, args.number)
        label = "RSA-2048" if key_type == "rsa" else "Ed25519"
        print(f"gateway signer {label:9s} {cost:6.3f} ms/message")
    pem = (directory / "rsa.pem").read_bytes()
    baseline = median_ms(
        lambda: dkim.sign(MESSAGE, b"gw1", b"acme.example", pem),
        args.repeat,
        max(1, args.number // 10),
    )
    print(f"dkimpy dkim.sign RSA-2048 {baseline:6.3f} ms/message (pure-Python RSA, the baseline)")


if __name__ == "__main__":
    main()
