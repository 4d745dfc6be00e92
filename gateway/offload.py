"""Work that grows with the message size leaves the event loop once the message is big.

Judging, rewriting and signing a 5 KB reply takes well under a millisecond; above
`INLINE_LIMIT` the work (MIME parsing, canonicalisation, hashing grow with the body)
moves to a worker thread, so one 1 MB message does not stall every other session
for ~16 ms. Both fronts (SMTP proxy and milter) use this one rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

INLINE_LIMIT = 128 * 1024

P = ParamSpec("P")
T = TypeVar("T")


async def sized_call(size: int, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args)` inline for a small message, in a worker thread for a big one."""
    if size > INLINE_LIMIT:
        return await asyncio.to_thread(function, *args, **kwargs)
    return function(*args, **kwargs)
