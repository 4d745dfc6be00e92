"""The store contract, on SQLite and on PostgreSQL alike (the `store_url` fixture runs both).

Direct calls, real databases: the behaviour the review CLI, the thread
recorder and `gateway stats` rely on, including what two gateways (two store
objects on one database) may do to each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from gateway.latency import ReplyFacts, ReplyLatency
from gateway.store import Store, open_store
from gateway.store.base import Conflict, HeldMessage, NotFound, StoreError
from gateway.threads import CustomerMessage, ThreadKeys

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def held(held_id: str, *, at: datetime = T0, reason: str = "missing_greeting") -> HeldMessage:
    return HeldMessage(
        id=held_id,
        received_at=at,
        mail_from="agent@acme.example",
        rcpt_tos=("maria@customer.test", "öle@customer.test"),
        content=b"Subject: x\r\n\r\nbody with a NUL \x00 and 8-bit \xe9\r\n",
        subject="Re: [#4711] Rückerstattung",
        message_id="<h1@acme.example>",
        thread_key="<c1@customer.test>",
        policy="acme",
        findings=({"code": reason, "message": "Sentence for the reviewer."},),
    )


def customer(message_id: str, at: datetime, *, parents: tuple[str, ...] = ()) -> CustomerMessage:
    return CustomerMessage(
        ThreadKeys(message_id, parents, None), at, "maria@customer.test", "Where is my refund?"
    )


def reply(message_id: str, at: datetime, *parents: str, agent: str = "ann") -> ReplyFacts:
    return ReplyFacts(
        keys=ThreadKeys(message_id, parents, None),
        relayed_at=at,
        agent=agent,
        policy="acme",
        sla_seconds=86400,
        business=None,
        quoted_at=None,
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_held_message_round_trips_byte_for_byte(store: Store) -> None:
    store.hold(held("q1"))
    got = store.get("q1")
    assert got.content == held("q1").content
    assert got.rcpt_tos == ("maria@customer.test", "öle@customer.test")
    assert got.subject == "Re: [#4711] Rückerstattung"
    assert got.received_at == T0
    assert got.reasons == ["missing_greeting"]
    assert got.status == "held"
    assert [(e.who, e.action, e.note) for e in got.audit] == [
        ("gateway", "held", "missing_greeting")
    ]
    with pytest.raises(NotFound):
        store.get("nope")


def test_a_held_id_is_stored_once(store: Store) -> None:
    store.hold(held("q1"))
    with pytest.raises(StoreError):
        store.hold(held("q1"))
    assert len(store.list()) == 1


def test_list_filters_by_status_reason_and_age(store: Store) -> None:
    now = datetime.now(UTC)
    store.hold(held("old", at=now - timedelta(hours=3)))
    store.hold(held("new", at=now, reason="missing_answer"))
    store.hold(held("gone", at=now - timedelta(hours=1)))
    store.reject("gone", "bob", "spam")
    assert [m.id for m in store.list()] == ["old", "gone", "new"]
    assert [m.id for m in store.list(status="held")] == ["old", "new"]
    assert [m.id for m in store.list(status="rejected")] == ["gone"]
    assert [m.id for m in store.list(reason="missing_answer")] == ["new"]
    assert [m.id for m in store.list(older_than=7200)] == ["old"]
    assert [m.id for m in store.list(status="held", older_than=60)] == ["old"]
    assert store.held_count() == 2


def test_release_is_claimed_once_and_audited(store: Store) -> None:
    store.hold(held("q1"))
    assert store.claim_for_release("q1", "ann").id == "q1"
    with pytest.raises(Conflict, match="being released by ann"):
        store.claim_for_release("q1", "ben")
    with pytest.raises(Conflict, match="being released by ann"):
        store.reject("q1", "ben", "no")
    store.finish_release("q1", "ann", "fine")
    with pytest.raises(Conflict, match="already released"):
        store.claim_for_release("q1", "ben")
    with pytest.raises(Conflict, match="already released"):
        store.reject("q1", "ben", "no")
    assert [e.action for e in store.get("q1").audit] == ["held", "released"]
    assert store.held_count() == 0


def test_abandoned_release_can_be_retried(store: Store) -> None:
    store.hold(held("q1"))
    store.claim_for_release("q1", "ann")
    store.abandon_release("q1", "ann", "451 4.4.1 relay down")
    assert store.claim_for_release("q1", "ben").status == "held"
    assert [e.action for e in store.get("q1").audit] == ["held", "release_failed"]


def test_rejected_never_leaves(store: Store) -> None:
    store.hold(held("q1"))
    assert store.reject("q1", "bob", "wrong customer").status == "rejected"
    with pytest.raises(Conflict, match="already rejected"):
        store.claim_for_release("q1", "ann")
    with pytest.raises(NotFound):
        store.reject("nope", "bob", "")


def test_purge_deletes_decided_messages_only(store: Store) -> None:
    store.hold(held("kept"))
    store.hold(held("done"))
    store.reject("done", "bob", "")
    time.sleep(0.05)
    assert store.purge(older_than=0.01) == 1
    assert [m.id for m in store.list()] == ["kept"]
    assert store.purge(older_than=0.01) == 0


def test_thread_latency_and_customer_text(store: Store) -> None:
    assert not store.has_customer_messages()
    results = store.record(
        [
            customer("<c1@x>", T0),
            customer("<c2@x>", T0 + timedelta(minutes=5), parents=("<c1@x>",)),
        ]
    )
    assert results == ["<c1@x>", "<c1@x>"]
    assert store.has_customer_messages()
    keys = ThreadKeys("<r1@acme>", ("<c2@x>", "<c1@x>"), None)
    assert store.customer_text(keys) == "Where is my refund?\n\nWhere is my refund?"
    first, repeat, follow = store.record(
        [
            reply("<r1@acme>", T0 + timedelta(hours=2), "<c2@x>", "<c1@x>"),
            reply("<r1@acme>", T0 + timedelta(hours=3), "<c2@x>", "<c1@x>"),
            reply("<r2@acme>", T0 + timedelta(hours=4), "<r1@acme>"),
        ]
    )
    assert isinstance(first, ReplyLatency)
    assert (first.latency_seconds, first.first_reply, first.source) == (7200.0, True, "inbound")
    assert first.customer_message_id == "<c1@x>"
    assert repeat is None  # the same reply again is measured once
    assert isinstance(follow, ReplyLatency)
    assert (follow.follow_up, follow.latency_seconds, follow.first_reply) == (True, None, False)
    assert store.customer_text(keys) is None  # answered
    rows = store.replies_since(None)
    assert [(r.agent, r.latency_seconds, r.first_reply, r.follow_up) for r in rows] == [
        ("ann", 7200.0, True, False),
        ("ann", None, False, True),
    ]
    later = (T0 + timedelta(hours=3)).timestamp()
    assert [r.follow_up for r in store.replies_since(later)] == [True]
    assert store.record([reply("<solo@acme>", T0)]) == [None]  # agent-started: no thread


def test_ticket_number_joins_a_broken_chain(store: Store) -> None:
    opened = CustomerMessage(ThreadKeys("<c1@x>", (), "4711"), T0, "m@x", "Refund?")
    store.record([opened])
    late = ReplyFacts(
        ThreadKeys("<r1@acme>", (), "4711"), T0 + timedelta(hours=1), "ann", None, 60, None, None
    )
    (latency,) = store.record([late])
    assert isinstance(latency, ReplyLatency)
    assert (latency.thread_id, latency.latency_seconds, latency.sla_breached) == (
        "<c1@x>",
        3600.0,
        True,
    )


def test_held_since_reports_review_outcomes(store: Store) -> None:
    now = datetime.now(UTC)
    store.hold(held("a", at=now - timedelta(minutes=10)))
    store.hold(held("b", at=now))
    store.reject("b", "bob", "")
    rows = store.held_since(None)
    assert [(r.status, r.policy) for r in rows] == [("held", "acme"), ("rejected", "acme")]
    assert [r.status for r in store.held_since(now.timestamp() - 1)] == ["rejected"]


def test_probe_names_the_store_and_writes_nothing(store: Store) -> None:
    store.hold(held("q1"))
    sentence = store.probe()
    assert "writable, schema 2, 1 held" in sentence
    assert "held" in sentence
    assert len(store.list()) == 1


def test_two_gateways_claim_one_message_exactly_once(store_url: str) -> None:
    """Eight reviewers on two store connections (two gateways) race for one release."""
    first, second = open_store(store_url), open_store(store_url)
    try:
        first.hold(held("q1"))
        start = threading.Barrier(8)

        def claim(index: int) -> str:
            mine = (first, second)[index % 2]
            start.wait()
            try:
                mine.claim_for_release("q1", f"reviewer{index}")
            except Conflict:
                return "refused"
            mine.finish_release("q1", f"reviewer{index}", "")
            return "released"

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(claim, range(8)))
        assert sorted(outcomes) == ["refused"] * 7 + ["released"]
        assert second.get("q1").status == "released"
    finally:
        first.close()
        second.close()


def test_two_gateways_record_one_thread_concurrently(store_url: str) -> None:
    """Replies to one thread from two gateways at once: one first reply, nothing lost."""
    stores = [open_store(store_url) for _ in range(2)]
    try:
        stores[0].record([customer("<c1@x>", T0)])
        start = threading.Barrier(2)

        def answer(index: int) -> list[object]:
            start.wait()
            batch = [
                reply(f"<r{index}-{n}@acme>", T0 + timedelta(minutes=n + 1), "<c1@x>")
                for n in range(20)
            ]
            return list(stores[index].record(batch))

        with ThreadPoolExecutor(2) as pool:
            results = [r for batch in pool.map(answer, range(2)) for r in batch]
        measured = [r for r in results if isinstance(r, ReplyLatency)]
        assert len(measured) == 40
        assert sum(r.first_reply for r in measured) == 1
        assert len(stores[1].replies_since(None)) == 40
    finally:
        for opened in stores:
            opened.close()
