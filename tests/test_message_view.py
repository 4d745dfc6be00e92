"""The message view: new reply text, quoted history, headers and thread keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.message import MessageView
from gateway.reply import split_reply

CORPUS = Path(__file__).resolve().parent / "corpus" / "replies"
CASES = sorted(CORPUS.glob("*.eml"))


@pytest.mark.parametrize("eml", CASES, ids=lambda path: path.stem)
def test_new_reply_text_matches_corpus(eml: Path) -> None:
    """For each quoting style in the corpus, the new text is exactly what the agent wrote."""
    view = MessageView(eml.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert view.reply.new_text == eml.with_suffix(".expected").read_text().strip()


def test_corpus_covers_every_quoting_style() -> None:
    """The corpus keeps at least one case per style the splitter claims to handle."""
    names = {path.stem for path in CASES}
    for style in (
        "gmail-en",
        "gmail-wrapped-attribution",
        "outlook-original-message",
        "outlook-from-sent-block",
        "outlook-de",
        "angle-quote-top-posted",
        "bottom-posted-interleaved",
        "dash-signature",
        "mobile-signature",
        "zammad-marker",
        "html-gmail-quote",
        "html-apple-blockquote",
        "html-outlook",
        "gmail-de",
        "gmail-fr",
        "gmail-es",
        "gmail-nl",
        "gmail-it",
        "gmail-pt",
        "thanks-trap",
    ):
        assert style in names, style


def test_quoted_customer_message_is_kept() -> None:
    """The quoted history is available (the answer check needs the customer's question)."""
    view = MessageView((CORPUS / "gmail-en.eml").read_bytes())
    assert "When do I get my money back?" in view.reply.quoted
    assert "When do I get my money back?" not in view.reply.new_text


def test_signature_is_separated() -> None:
    """Text after '-- ' is the signature, not part of the reply."""
    parts = split_reply("Hi Sam,\nfixed.\n-- \nAna | ACME\n")
    assert parts.new_text == "Hi Sam,\nfixed."
    assert parts.signature == "--\nAna | ACME"


def test_greeting_on_the_quote_line_is_not_new_text() -> None:
    """A greeting only in the quoted customer message is not in the new text."""
    parts = split_reply("Thanks for reaching out.\n\n> Hi team,\n> where is my parcel?\n")
    assert parts.new_text == "Thanks for reaching out."
    assert parts.quoted.startswith("Hi team,")


ZENDESK_TOP = (
    "##- Please type your reply above this line -##\n\n"
    "{author}\n\n{stamp}\n\n"
    "Hi Jonas,\n\nYou can invite her from Settings > Team.\n\nBest,\nMarcus\n\n"
    "--------------------------------\n\n"
    "Jonas Weber\n\nMar 23, 2026, 17:40 GMT\n\nHello,\nHow can I add a second user?\n"
)


@pytest.mark.parametrize(
    ("author", "stamp"),
    [
        ("Marcus Feld (Brightdesk Support)", "Mar 24, 2026, 11:05 GMT"),
        ("Davide (Allenami)", "13 mar 2026, 10:27 CET"),
        ("Marcus Feld", "24. März 2026 um 11:05"),
        ("Priya N. (Northline Air)", "Nov 4, 2026, 09:30 GMT"),
    ],
)
def test_helpdesk_author_header_of_the_agents_comment_is_not_new_text(
    author: str, stamp: str
) -> None:
    """Zendesk puts the newest comment on top under its author and time: when that is the
    agent, the reply starts at the agent's greeting, and the older comment is history."""
    parts = split_reply(ZENDESK_TOP.format(author=author, stamp=stamp), ["Jonas Weber", "jonas"])
    assert parts.new_text.startswith("Hi Jonas,\n\nYou can invite her")
    assert author not in parts.new_text
    assert "second user" not in parts.new_text
    assert "How can I add a second user?" in parts.quoted


@pytest.mark.parametrize("recipients", [["Jonas Weber", "jw"], ["", "jonas.weber"]])
def test_helpdesk_comment_by_the_recipient_on_top_means_nothing_new(
    recipients: list[str],
) -> None:
    """The customer's own comment on top (by display name or address): the agent added
    nothing above it, so the new text is empty and the comment is the quoted history."""
    text = (
        "##- Please type your reply above this line -##\n\n"
        "Jonas Weber, 23 Mar 2026 17:40\n\nHello,\nHow can I add a second user?\n"
    )
    parts = split_reply(text, recipients)
    assert parts.new_text == ""
    assert "How can I add a second user?" in parts.quoted


@pytest.mark.parametrize(
    "notice",
    [
        "Your request (#48213) has been updated. To add additional comments, reply to this email.",
        "Ihre Anfrage (482913) wurde aktualisiert. Antworten Sie auf diese E-Mail.",
        "Votre demande (#5521) a été mise à jour. Pour ajouter un commentaire, répondez.",
    ],
)
def test_helpdesk_update_notice_above_the_newest_comment_is_not_new_text(notice: str) -> None:
    """Zendesk's "Your request (#id) has been updated" line and the rule under it are the
    system's; the agent's comment (under a long "Name (Organisation)" header) is new."""
    text = (
        "##- Please type your reply above this line -##\n\n"
        f"{notice}\n\n----------------------------------------------\n\n"
        "Ana Cristina Sousa (SMAS Vale do Sorraia)\n\n5/11/2026, 10:41 WET\n\n"
        "Hello Helena,\n\nThe meter is read on 12 November.\n\nAna\n\n"
        "----------------------------------------------\n\n"
        "Helena Rodrigues\n\n4/11/2026, 18:02 WET\n\nWhen is the meter read?\n"
    )
    parts = split_reply(text, ["Helena Rodrigues"])
    assert parts.new_text.startswith("Hello Helena,\n\nThe meter is read on 12 November.")
    assert "updated" not in parts.new_text
    assert "aktualisiert" not in parts.new_text
    assert "When is the meter read?" in parts.quoted


def test_a_reply_marker_without_dashes_is_a_marker() -> None:
    """ "## Veuillez répondre au-dessus de cette ligne ##": what is below it is history."""
    parts = split_reply(
        "Bonjour Julie,\n\nC'est fait.\n\n## Veuillez répondre au-dessus de cette ligne ##\n\n"
        "Julie Roux, 3 nov. 2026 09:12\n\nPouvez-vous annuler ma commande ?\n"
    )
    assert parts.new_text == "Bonjour Julie,\n\nC'est fait."
    assert "annuler ma commande" in parts.quoted


def test_a_dashes_marker_needs_a_this_line_word() -> None:
    """ "-- Please reply above this line --" is a marker; "-----Original Message-----" on top
    is still history, not a marker that would make the quote the new text."""
    parts = split_reply(
        "Hi Sam,\n\nDone.\n\n-- Please reply above this line --\n\n"
        "Sam Lee, 3 Nov 2026 09:12\n\nCan you cancel it?\n"
    )
    assert parts.new_text == "Hi Sam,\n\nDone."
    forwarded = split_reply("-----Original Message-----\nFrom: Sam\nSent: Monday\n\nCan you?\n")
    assert forwarded.new_text == ""


def test_a_dashes_marker_may_hold_hyphenated_words() -> None:
    """ "--- Veuillez répondre au-dessus de cette ligne ---" on top: the comment under it."""
    parts = split_reply(
        "--- Veuillez répondre au-dessus de cette ligne ---\n\n"
        "Bonjour Julie,\n\nC'est fait.\n\nLéa\n"
    )
    assert parts.new_text == "Bonjour Julie,\n\nC'est fait.\n\nLéa"


@pytest.mark.parametrize(
    "lines",
    [
        "Léa (Voyages Nord) a répondu à votre demande n° 77120.\n\nLéa, 3 juin 2026 à 10:18",
        "Sven (Rekenhulp Support) heeft gereageerd op ticket #33817\n\n"
        "Sven (Rekenhulp Support)\n3 jun 2026 10:18",
        "Ticket #61290 - Attestazione annuale\n\nSara Neri (Banca Est - Assistenza)\n"
        "10 feb 2026, 11:32",
        "[Request #4471] Refund for order 1234\n\nSam Lee (Support)\nFeb 10, 2026, 11:32",
        "Ticket #PW-630281: Parcel held at depot\n\nSam Lee (Support)\nFeb 10, 2026, 11:32",
        "Ihr Anliegen [#KK-240915] wurde aktualisiert.\n\nSam Lee (Support)\n10.02.2026, 11:32",
    ],
)
def test_helpdesk_reply_notices_and_ticket_lines_are_not_new_text(lines: str) -> None:
    """ "X has replied to your request n° ...", "Ticket #id - subject": the helpdesk's lines
    above the comment header; the agent's comment starts at the greeting."""
    parts = split_reply(f"-- Please reply above this line --\n\n{lines}\n\nHello Ana,\n\nDone.\n")
    assert parts.new_text == "Hello Ana,\n\nDone."


def test_a_sentence_about_a_ticket_is_still_new_text() -> None:
    """Only a short line that starts with the ticket reference is the helpdesk's."""
    parts = split_reply("Hello Ana,\n\nTicket #61290 was merged into #61291 - see there.\n")
    assert parts.new_text.startswith("Hello Ana,")
    plain = split_reply("Ticket #61290 was merged into #61291, so I have closed this one.\n")
    assert plain.new_text.startswith("Ticket #61290 was merged")


def test_answers_between_quotes_are_paired_with_their_question() -> None:
    """Interleaved answers: each quoted passage with the agent's text under it, and "" for
    one the agent left without an answer."""
    parts = split_reply(
        "Hi Sam,\n\nAnswers below.\n\n> Can I pay by invoice?\n\nYes, tick 'invoice'.\n\n"
        "> Do you ship to Norway?\n> And to Iceland?\n\n> Is there a student discount?\n\n"
        "Ten percent with a student card.\n\nBest,\nAna\n"
    )
    assert parts.inline == (
        ("Can I pay by invoice?", "Yes, tick 'invoice'."),
        ("Do you ship to Norway?\nAnd to Iceland?", ""),
        ("Is there a student discount?", "Ten percent with a student card.\n\nBest,\nAna"),
    )
    top_posted = split_reply("Hi Sam,\n\nYes.\n\nOn Mon, Sam wrote:\n> Can I pay later?\n")
    assert top_posted.inline == ()


def test_a_stamp_may_carry_short_words_of_its_language() -> None:
    """ "9 de abr. de 2025 15:48 BRT" is a date line: "de" is not a word of a sentence."""
    parts = split_reply(
        "##- Digite sua resposta acima desta linha -##\n\nBruno Tavares (Agendaí)\n\n"
        "9 de abr. de 2025 15:48 BRT\n\nOi, Renata,\n\nSegue a nota fiscal.\n",
        ["Renata Lima"],
    )
    assert parts.new_text.startswith("Oi, Renata,")


def test_a_greeting_above_a_dated_sentence_is_not_an_author_header() -> None:
    """Only a line of date and time (a month, "at", a zone besides numbers) is a stamp."""
    parts = split_reply("Hi Jo\n\nYour order left us on 12 Nov 2026 at 10:05.\n", ["Jo Kim"])
    assert parts.new_text.startswith("Hi Jo\n")


def test_message_view_passes_the_recipients_to_the_splitter() -> None:
    raw = (
        b"From: Brightdesk Support <support@brightdesk.example>\r\n"
        b"To: <jonas.weber@weberdesign.example>\r\nSubject: Re: seats\r\n\r\n"
        b"##- Please type your reply above this line -##\r\n\r\n"
        b"Jonas Weber, 23 Mar 2026 17:40\r\n\r\nHello,\r\nHow can I add a second user?\r\n"
    )
    assert MessageView(raw).reply.new_text == ""
    other = raw.replace(b"Jonas Weber, 23", b"Marcus Feld, 24")
    assert MessageView(other).reply.new_text.startswith("Hello,")


def test_headers_are_decoded() -> None:
    """RFC 2047 display names and subjects are decoded; raw 8-bit UTF-8 is read as UTF-8."""
    raw = (
        "From: =?utf-8?q?Acme_K=C3=BCndenservice?= <noreply@acme.test>\r\n"
        "To: Lucía Gómez <lucia@cliente.test>, ana@x.test\r\n"
        "Subject: Re: [#4711] Kündigung\r\n\r\nHola\r\n"
    ).encode()
    view = MessageView(raw)
    assert view.from_addresses[0].name == "Acme Kündenservice"
    assert view.from_addresses[0].local_part == "noreply"
    assert [a.address for a in view.to] == ["lucia@cliente.test", "ana@x.test"]
    assert view.to[0].name == "Lucía Gómez"
    assert view.subject == "Re: [#4711] Kündigung"


def test_thread_keys() -> None:
    """Message-ID, In-Reply-To, References and a policy's ticket number are extracted."""
    raw = (
        b"Message-ID: <r2@acme.test>\r\nIn-Reply-To: <c1@customer.test>\r\n"
        b"References: <c0@customer.test>\r\n <c1@customer.test>\r\n"
        b"Subject: Re: [#4711] refund\r\n\r\nHi\r\n"
    )
    view = MessageView(raw)
    assert view.message_id == "<r2@acme.test>"
    assert view.in_reply_to == ("<c1@customer.test>",)
    assert view.references == ("<c0@customer.test>", "<c1@customer.test>")
    assert view.ticket(re.compile(r"\[#(\d+)\]")) == "4711"
    assert view.ticket(None) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no headers at all",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nbroken",
        b"Subject: \xff\xfe\x00\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64",
        b"Content-Type: text/html\r\n\r\n<div><blockquote><blockquote>deep",
        b"From: <>\r\nFrom: a@b\r\n\r\n" + b"x" * 5000,
    ],
)
def test_malformed_input_still_gives_a_view(raw: bytes) -> None:
    """Broken MIME, bad encodings and missing headers yield a view, never an exception."""
    view = MessageView(raw)
    assert isinstance(view.text, str)
    assert isinstance(view.reply.new_text, str)
    assert isinstance(view.subject, str)
    assert isinstance(view.defects, tuple)


def test_text_skips_attachments_and_attached_messages() -> None:
    """Only the agent's own text parts: not a text attachment, not a forwarded message."""
    raw = (
        b"From: ana@acme.test\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi Maria,\r\nsee attached.\r\n"
        b'--b\r\nContent-Type: text/plain; name="log.txt"\r\n'
        b'Content-Disposition: attachment; filename="log.txt"\r\n\r\nERROR 42\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: x@y.test\r\nSubject: old\r\n\r\nForwarded words\r\n"
        b"--b--\r\n"
    )
    text = MessageView(raw).text
    assert "see attached." in text
    assert "ERROR 42" not in text
    assert "Forwarded words" not in text


def test_text_prefers_plain_over_html_alternative() -> None:
    """multipart/alternative: the text/plain version is the text."""
    raw = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        b"--a\r\nContent-Type: text/plain\r\n\r\nHi Maria, plain.\r\n"
        b"--a\r\nContent-Type: text/html\r\n\r\n<p>Hi Maria, <b>html</b>.</p>\r\n--a--\r\n"
    )
    assert MessageView(raw).text.strip() == "Hi Maria, plain."
