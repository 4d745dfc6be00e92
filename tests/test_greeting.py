"""missing_greeting: a reply opens with a greeting addressed to the reader, in seven languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.greeting import find_greeting
from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import load_policies
from gateway.reply import split_reply
from tests.support import Sink, port_of, send_message, start_gateway

CORPUS = Path(__file__).resolve().parent / "corpus" / "replies"

GREETINGS = [
    # English (the examples)
    "Hi Maria,",
    "Hello,",
    "Hey Sam —",
    "Dear Mr. O'Neill,",
    "Good morning Ana,",
    "Hi there,",
    "Hi Jo, yes you can change the address until Friday.",
    "Dear customer,",
    "Hello Maria",
    "Good afternoon!",
    "Morning Ana,",
    "Maria,",
    # German
    "Hallo Herr Becker,",
    "Sehr geehrte Frau Schmidt,",
    "Liebe Anna,",
    "Guten Tag,",
    "Moin Jonas,",
    # French
    "Bonjour Claire,",
    "Bonsoir Madame Martin,",
    "Chère Claire,",
    "Salut Paul !",
    # Spanish
    "Hola Lucía:",
    "Estimado Sr. Gómez:",
    "Buenos días, Lucía,",
    "Buenas tardes,",
    "¡Hola Pablo!",
    "¡Buenos días, Marta!",
    # Dutch
    "Beste Sanne,",
    "Geachte heer De Vries,",
    "Hoi Sanne,",
    "Goedemorgen,",
    # Italian
    "Gentile Sig. Rossi,",
    "Buongiorno Marco,",
    "Ciao Giulia!",
    "Egregio Dott. Bianchi,",
    # Portuguese
    "Olá João,",
    "Bom dia, Ana,",
    "Prezado Sr. Silva,",
    "Oi Ana,",
    # a long formal name: particles and abbreviations are not extra words
    "Exma. Senhora D. Ana Luísa da Costa e Sousa,",
    "Geachte mevrouw Van der Berg-de Wit,",
]

NOT_GREETINGS = [
    "Thanks for reaching out.",
    "Thank you for your message. Your refund was issued.",
    "Your order shipped today, hi from the team",
    "We fixed it. Hi!",
    "Morning delivery is available from Monday.",
    "Evening slots are full, sorry.",
    "Hinweis: Ihr Paket wurde versandt.",
    "Dag en nacht bereikbaar.",
    "Good news: your order has shipped.",
    "Please find the invoice attached.",
    "Hello I wanted to let you know that we shipped it, and more",
    "¡Gracias por escribirnos!",
    "",
]


@pytest.mark.parametrize("line", GREETINGS)
def test_greetings_are_recognised(line: str) -> None:
    """Salutations in each language, with or without a name, with text after them."""
    assert find_greeting(f"{line}\nyour refund was issued today.\n").found


@pytest.mark.parametrize("line", NOT_GREETINGS)
def test_non_greetings_are_not(line: str) -> None:
    """Openers, a mid-sentence 'hi', sentences opening with 'Morning ...': not greetings."""
    assert not find_greeting(f"{line}\nMore text.\n").found


def test_greeting_only_in_the_quoted_message_does_not_count() -> None:
    """The customer's 'Hi team,' in the quote is not the agent greeting the customer."""
    parts = split_reply("Thanks for reaching out.\n\n> Hi team,\n> where is my parcel?\n")
    assert not find_greeting(parts.new_text).found


def test_policy_words_extend_the_builtin_list() -> None:
    """A team's own salutation counts once the policy lists it."""
    assert not find_greeting("Yo Bruce, all sorted now.").found
    assert find_greeting("Yo Bruce, all sorted now.", ["yo"]).found


@pytest.mark.parametrize("eml", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_every_corpus_reply_has_its_greeting_found(eml: Path) -> None:
    """All corpus replies open with a greeting (every quoting style, HTML included)."""
    assert find_greeting(MessageView(eml.read_bytes()).reply.new_text).found


def policies(tmp_path: Path, greeting: str) -> Path:
    (tmp_path / "10.toml").write_text(
        f'[match]\nsenders = ["*@acme.example"]\n[checks.greeting]\n{greeting}\n'
    )
    return tmp_path


def decide(tmp_path: Path, greeting: str, raw: str) -> list[dict[str, object]]:
    loaded = load_policies(policies(tmp_path, greeting))
    decision = evaluate(MessageView(raw.encode()), "ana@acme.example", loaded)
    return [f.as_json() for f in decision.findings if f.code == "missing_greeting"]


REPLY = (
    "From: ana@acme.example\r\nTo: Maria Lopez <maria@customer.test>\r\nSubject: Re: x\r\n\r\n"
    "{opening}\r\nyour refund was issued today.\r\n\r\n"
    "On Mon, 23 Nov 2026 at 09:14, Maria <maria@customer.test> wrote:\r\n"
    "> Where is my refund?\r\n> Maria\r\n"
)


def test_missing_greeting_finding_quotes_the_opening(tmp_path: Path) -> None:
    """The finding's sentence shows how the reply starts instead."""
    found = decide(tmp_path, 'action = "hold"', REPLY.format(opening="Your refund is on its way."))
    assert len(found) == 1
    assert "does not open with a greeting" in str(found[0]["detail"])
    assert "Your refund is on its way." in str(found[0]["detail"])


@pytest.mark.parametrize(
    ("opening", "held"),
    [("Hi Maria,", False), ("Dear Ms Lopez,", False), ("Hello,", True), ("Hi there,", True)],
)
def test_require_name(tmp_path: Path, opening: str, held: bool) -> None:
    """require_name: first or last name from To, else a finding naming who was expected."""
    found = decide(tmp_path, 'action = "hold"\nrequire_name = true', REPLY.format(opening=opening))
    assert bool(found) is held
    if held:
        assert "expected Maria or Lopez" in str(found[0]["detail"])


def test_require_name_from_the_customers_sign_off(tmp_path: Path) -> None:
    """Without a To display name, the customer's own sign-off gives the name."""
    raw = REPLY.replace("Maria Lopez <maria@customer.test>", "maria@customer.test")
    assert decide(tmp_path, "require_name = true", raw.format(opening="Hi Maria,")) == []
    found = decide(tmp_path, "require_name = true", raw.format(opening="Hello,"))
    assert found[0]["details"] == {"first_line": "Hello,", "expected_names": ["Maria"]}


async def test_reply_without_greeting_is_held_over_smtp(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """End to end: held with missing_greeting and the sentence a reviewer sees."""
    store = f"sqlite:///{tmp_path / 'g.db'}"
    gateway = await start_gateway(
        relay=sink.url, policies=str(policies(tmp_path, 'action = "hold"')), store=store
    )
    gateways.append(gateway)
    raw = REPLY.format(opening="Thank you for your patience.").encode()
    reply = await send_message(port_of(gateway), raw, sender="ana@acme.example")
    assert reply.startswith("2.0.0 held for review ")
    held = gateway.store.get(reply.rsplit(" ", 1)[1])
    assert held.reasons == ["missing_greeting"]
    assert 'it starts "Thank you for your patience."' in held.findings[0]["detail"]
    assert sink.messages == []
    greeted = REPLY.format(opening="Hi Maria,").encode()
    assert "relayed" in await send_message(port_of(gateway), greeted, sender="ana@acme.example")
    assert len(sink.messages) == 1


async def test_large_reply_is_judged_off_the_event_loop_with_the_same_result(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """A 300 KB reply (judged in a worker thread) gets the same decision as a small one."""
    store = f"sqlite:///{tmp_path / 'g.db'}"
    gateway = await start_gateway(
        relay=sink.url, policies=str(policies(tmp_path, 'action = "hold"')), store=store
    )
    gateways.append(gateway)
    filler = "Details of your order follow in this long line of text.\r\n" * 5500
    big = REPLY.format(opening="Your refund is on its way.\r\n" + filler).encode()
    assert len(big) > 300_000
    reply = await send_message(port_of(gateway), big, sender="ana@acme.example")
    assert reply.startswith("2.0.0 held for review ")
    assert gateway.store.get(reply.rsplit(" ", 1)[1]).reasons == ["missing_greeting"]
