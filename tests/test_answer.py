"""missing_answer: a reply answers what the customer asked, in seven languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.answer.evidence import evidence
from gateway.answer.fitted import FittedMatcher
from gateway.answer.judge import DEFAULT_QUESTION_COVERAGE, AnswerSettings, judge
from gateway.answer.matching import Context, ReplyTerms, cue
from gateway.answer.questions import customer_message, questions
from gateway.answer.text import fold
from gateway.app import Gateway
from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import PolicyError, load_policies
from tests.process import run_cli
from tests.support import Sink, port_of, send_message, start_gateway

# --- what the customer asked ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, I returned it. When do I get my money back?", ["When do I get my money back?"]),
        (
            "Hola, ¿el plan incluye soporte? Gracias.",
            ["¿el plan incluye soporte?"],
        ),
        ("¿Puedo pagar con tarjeta", ["¿Puedo pagar con tarjeta"]),
        (
            "Please tell me how to export my data. Thanks!",
            ["Please tell me how to export my data."],
        ),
        (
            "Bitte teilen Sie mir mit, wann das Paket kommt. Danke.",
            ["Bitte teilen Sie mir mit, wann das Paket kommt."],
        ),
        ("Merci de me renvoyer la facture.", ["Merci de me renvoyer la facture."]),
        (
            "Graag ontvang ik een kopie van de factuur.",
            ["Graag ontvang ik een kopie van de factuur."],
        ),
        ("Vorrei sapere lo stato del rimborso.", ["Vorrei sapere lo stato del rimborso."]),
        ("Gostaria de saber o prazo de entrega.", ["Gostaria de saber o prazo de entrega."]),
        (
            "I have two questions:\n1. Do you ship to Norway\n2. Is there a student discount\n",
            ["Do you ship to Norway", "Is there a student discount"],
        ),
    ],
)
def test_questions_and_requests_are_found_verbatim(text: str, expected: list[str]) -> None:
    """Sentences ending in '?', Spanish '¿...', imperative requests and listed asks, verbatim."""
    assert questions(text) == expected


@pytest.mark.parametrize(
    ("text", "ask"),
    [
        (
            "Where is my parcel? Also please send me the invoice.",
            "Also please send me the invoice.",
        ),
        (
            "Wann kommt es? Und bitte schicken Sie mir die Rechnung.",
            "Und bitte schicken Sie mir die Rechnung.",
        ),
        (
            "Quand arrive-t-il ? Et merci de m'envoyer la facture.",
            "Et merci de m'envoyer la facture.",
        ),
    ],
)
def test_a_request_after_a_connective_is_a_request(text: str, ask: str) -> None:
    """A connective before it ("Also please ...", "Und bitte ...") leaves a request a request."""
    assert ask in questions(text)


@pytest.mark.parametrize(
    "text",
    ["Please get back to me soon.", "Merci de me répondre vite.", "Bitte antworten Sie mir bald."],
)
def test_asking_for_a_reply_is_not_a_question_to_answer(text: str) -> None:
    """Any reply answers "please reply soon"; a request that also asks for something is
    kept ("Please reply to confirm the new address for order 5521.")."""
    assert questions(f"Where is my parcel? {text}") == ["Where is my parcel?"]
    kept = "Please reply to confirm the new address for order 5521 and the delivery date."
    assert questions(kept) == [kept]


def test_small_talk_and_statements_are_not_questions() -> None:
    """'How are you?' and a plain complaint ask nothing that needs an answer."""
    assert questions("Oi, tudo bem? O pedido chegou quebrado.") == []
    assert questions("How are you? The parcel arrived damaged and I am upset.") == []
    assert questions("Please note that I moved last month.") == []


def test_older_history_inside_the_customer_quote_does_not_count() -> None:
    """The customer quoting an older company mail: its questions are not the customer's."""
    quoted = (
        "Can I change the flight to Thursday?\n\n"
        "On Fri, 6 Nov 2026 at 10:02, Air <info@air.example> wrote:\n"
        "> Would you like to add checked baggage?\n"
    )
    assert questions(customer_message(quoted)) == ["Can I change the flight to Thursday?"]


def test_outlook_header_block_and_helpdesk_history_are_skipped() -> None:
    """The customer's text starts after From:/Sent:/Subject: or a 'Name, date' entry header."""
    outlook = "-----Original Message-----\nFrom: Maria\nSent: Monday\nSubject: x\n\nWhere is it?\n"
    assert questions(customer_message(outlook)) == ["Where is it?"]
    zendesk = "--------------------------------\n\nMaria Lopez, 23 Nov 2026, 09:14\n\nIs it lost?\n"
    assert questions(customer_message(zendesk)) == ["Is it lost?"]


# --- the verdict ------------------------------------------------------------

QUOTE = "\n\nOn Mon, 23 Nov 2026 at 09:14, Maria <maria@customer.test> wrote:\n> {}\n"


def verdict(reply: str, customer: str, **settings: object) -> tuple[str, tuple[str, ...]]:
    result = judge(reply, customer, AnswerSettings(**settings))  # type: ignore[arg-type]
    return result.kind, result.unanswered


def test_empty_reply_has_every_question_open() -> None:
    """Only the quoted history: 'empty', every question named."""
    assert verdict("", "Where is my parcel?") == ("empty", ("Where is my parcel?",))


@pytest.mark.parametrize(
    "reply",
    [
        "Hi Maria,\n\nBest regards,\nAna",
        "Hi Maria,\n\nThanks!\n\nAna",
        "Hello,\n\nSorry for the inconvenience.\n\nKind regards\nACME Support",
        "Hallo Frau Becker,\n\nvielen Dank für Ihre Nachricht.\n\nMit freundlichen Grüßen\nAnna",
    ],
)
def test_greeting_and_closing_alone_are_no_content(reply: str) -> None:
    """Nothing said beyond greeting, pleasantries and closing."""
    assert verdict(reply, "")[0] == "no_content"


@pytest.mark.parametrize(
    "reply",
    [
        "Hi Tom,\n\nWe truly value your loyalty and it is always great to hear from our "
        "customers.\n\nHave a lovely evening!\n\nWarm wishes,\nSue Reed\nHomewares Team",
        "Guten Tag Herr Roth,\n\nwir freuen uns sehr über Ihr Vertrauen.\n\nWir wünschen "
        "Ihnen ein schönes Wochenende.\n\nBeste Grüße\nIhr Kundenservice",
        "Bonjour Madame Petit,\n\nNous vous remercions sincèrement de votre fidélité et "
        "restons à votre entière disposition.\n\nExcellente soirée à vous,\nLéa Martin",
        "Hola Pablo:\n\nEs siempre un placer atender a nuestros clientes. ¡Que tengas una "
        "excelente semana!\n\nUn saludo,\nMarta",
        "Beste Sanne,\n\nWij waarderen uw vertrouwen enorm en wensen u een fijne dag.\n\n"
        "Met vriendelijke groet,\nDaan",
        "Gentile Sig. Rossi,\n\nla ringraziamo molto per la fiducia, restiamo sempre a sua "
        "completa disposizione.\n\nCordiali saluti,\nGiulia",
        "Olá João,\n\nAgradecemos imenso a sua preferência e desejamos-lhe uma ótima "
        "semana.\n\nCumprimentos,\nRita",
    ],
)
def test_thanks_and_wishes_in_any_wording_are_no_content(reply: str) -> None:
    """Sentences of social vocabulary only (thanks, appreciation, wishes, availability) are
    no answer however they are worded; a sign-off line ending in a comma ("Warm wishes,")
    ends the text, so the signature under it is not counted as words either."""
    assert verdict(reply, "When will the blue lamp be back in stock?")[0] == "no_content"


@pytest.mark.parametrize(
    "reply",
    [
        "Hi Tom,\n\nWe truly value your loyalty. The blue lamp is back on 4 May.\n\nSue",
        "Hi Tom,\n\nThanks so much for your patience! The restock is due next month.\n\nSue",
        "Hi Tom,\n\nWe really appreciate your support since 2019.\n\nSue",
        "Hallo Herr Roth,\n\nwir freuen uns über Ihr Vertrauen. Die Lampe kommt im Mai wieder"
        ".\n\nGrüße\nAnna",
    ],
)
def test_thanks_beside_something_concrete_is_an_answer(reply: str) -> None:
    """One sentence that says something (a date, a thing, a number) is substance."""
    assert verdict(reply, "")[0] == "answered"


CANNED = [
    "We have received your request and will get back to you within 48 hours.",
    "This is an automated response. A member of our team will be in touch shortly.",
    "Your ticket [#4711] has been closed.",
    "I have forwarded your message to the right team.",
    "Thanks for your feedback!",
    "Wir haben Ihre Anfrage erhalten und melden uns so schnell wie möglich bei Ihnen.",
    "Nous avons bien reçu votre demande et reviendrons vers vous sous 48 heures.",
    "Hemos recibido su solicitud y nos pondremos en contacto con usted en breve.",
    "Wij hebben uw vraag goed ontvangen en nemen zo snel mogelijk contact met u op.",
    "Abbiamo ricevuto la sua richiesta e la contatteremo al più presto.",
    "Recebemos a sua mensagem e entraremos em contato em breve.",
]


@pytest.mark.parametrize("sentence", CANNED)
def test_canned_acknowledgements_answer_nothing(sentence: str) -> None:
    """Acknowledgements, hand-offs and auto-replies in seven languages: 'canned' (a reply
    that says it is automatic: 'auto_reply')."""
    kind, unanswered = verdict(f"Hi Maria,\n\n{sentence}\n\nBest regards,\nAna", "Where is it?")
    assert kind == ("auto_reply" if "automated" in sentence else "canned")
    assert unanswered == ("Where is it?",)


def test_canned_opener_followed_by_a_real_answer_is_an_answer() -> None:
    """An acknowledgement sentence does not spoil a reply that goes on to answer."""
    reply = (
        "Hi Maria,\n\nWe have received your request. Your refund of 49.90 EUR was issued "
        "today and reaches your card within 3-5 working days.\n\nBest regards,\nAna"
    )
    assert verdict(reply, "When do I get my money back?") == ("answered", ())


def test_policy_canned_phrases_extend_the_builtin_ones() -> None:
    """A team's own macro counts as canned once the policy lists it."""
    reply = "Hi Maria,\n\nYour case is in our priority lane and is handled by specialists.\n"
    assert verdict(reply, "")[0] == "answered"
    assert verdict(reply, "", canned_phrases=("priority lane",))[0] == "canned"


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        (
            "When do I get my money back?",
            "your refund was issued today; it reaches your card in 3-5 days.",
        ),
        (
            "Can I pay by invoice?",
            "yes, choose 'invoice' at checkout and we send it with the parcel.",
        ),
        ("How much is the express delivery?", "express delivery is 9.90 EUR and arrives next day."),
        ("Do you ship to Canada?", "we deliver to all Canadian provinces within a week."),
        ("¿Cuándo llega mi pedido?", "tu paquete sale hoy y lo recibirás el jueves 26."),
        ("Wann kommt meine Rechnung?", "die Rechnung geht Ihnen morgen per E-Mail zu."),
        ("Pouvez-vous me renvoyer la facture ?", "je vous la renvoie en pièce jointe."),
        # a "why" question is taken up by a reason, in other words than the question's
        (
            "Why did my card get declined?",
            "the bank's fraud filter stopped it because the order came from abroad.",
        ),
        (
            "Warum dauert es diesmal so lange?",
            "das liegt daran, dass unser Lager wegen der Inventur zwei Tage geschlossen war.",
        ),
        # "what can I do" is taken up by steps, numbered lines being sentences of their own
        (
            "What can I do about the rattling from the fan?",
            "two things help:\n1. Switch the unit off.\n2. Clean the filter under the cover.",
        ),
        # "nothing to pay" answers a question about a fee
        ("Des frais de dossier sont-ils prélevés ?", "rien ne vous sera facturé pour l'ouverture."),
        # a connective does not hide a yes/no question; a phone call is one concept
        (
            "Also, do I need to stay in all day?",
            "no, the courier texts you a one-hour slot the evening before.",
        ),
        ("Will the driver call before coming?", "he rings you about 30 minutes ahead."),
        # German and Dutch compounds share their parts
        ("Waar vind ik de laadpaal?", "de paal staat naast de garage, links van de ingang."),
        ("Welche Lieferadresse habt ihr gespeichert?", "bei uns steht die Adresse Hauptstraße 5."),
        # appointments and bookings are one concept
        (
            "Moet ik een afspraak maken of kan ik gewoon langskomen?",
            "u kunt het beste online een tijdslot reserveren.",
        ),
    ],
)
def test_paraphrased_answers_count(question: str, reply: str) -> None:
    """Stems, synonyms and answer cues (yes/no, dates, amounts, 'attached') take up a question."""
    assert verdict(f"Hi Maria,\n\n{reply.capitalize()}\n\nBest,\nAna", question) == ("answered", ())


def test_partial_answer_names_the_open_question_verbatim() -> None:
    """Two asks, one answered: the other is named exactly as the customer wrote it."""
    customer = (
        "I ordered the corner sofa, order NF-2103. When will the sofa be delivered? "
        "Can the delivery team take the old sofa away when they bring the new one?"
    )
    reply = (
        "Hi Maria,\n\nYour sofa will be delivered on Saturday 5 December between 8 and 12; "
        "the driver calls you 30 minutes before.\n\nBest regards,\nAna"
    )
    assert verdict(reply, customer) == (
        "unanswered",
        ("Can the delivery team take the old sofa away when they bring the new one?",),
    )


def test_off_topic_reply_takes_up_none_of_the_questions() -> None:
    """A substantive reply about something else: off_topic, every question named; a reply
    that takes up one question of two is only `unanswered`."""
    reply = "Hi Maria,\n\nTo reset your router, hold the button on the back for ten seconds.\n"
    question = "Why is there a roaming charge on my November bill?"
    assert verdict(reply, question) == ("off_topic", (question,))
    two = f"{question} And how do I reset the router?"
    assert verdict(reply, two) == ("unanswered", (question,))


def test_off_topic_replies_are_held_by_default_and_have_their_own_knob(tmp_path: Path) -> None:
    view = MessageView(
        reply_message(
            "Hi Maria,\r\n\r\nTo reset your router, hold the button on the back for ten "
            "seconds.\r\n\r\nOn Mon, 23 Nov 2026 at 09:14, Maria <maria@customer.test> wrote:"
            "\r\n> Why is there a roaming charge on my November bill?\r\n"
        )
    )
    held = evaluate(view, "ana@acme.example", load_policies(policy_dir(tmp_path / "a")))
    assert held.action == "hold"
    assert held.findings[0].details["kind"] == "off_topic"
    assert held.findings[0].detail.startswith("The reply takes up none of what the customer asked")
    logged = load_policies(policy_dir(tmp_path / "b", 'action = "hold"\noff_topic = "log"'))
    assert evaluate(view, "ana@acme.example", logged).action == "relay"


def test_complaint_without_question_needs_substance_only() -> None:
    """A complaint is answered by what happens next, not by matching words."""
    complaint = "The parcel arrived crushed and the vase is broken. I am very disappointed."
    substantive = (
        "Hello,\n\nI am so sorry. A replacement vase leaves our warehouse tomorrow and you "
        "can keep the broken one.\n\nBest,\nAna"
    )
    assert verdict(substantive, complaint) == ("answered", ())
    apology = "Hello,\n\nWe're sorry for the inconvenience this has caused.\n\nBest,\nAna"
    assert verdict(apology, complaint)[0] == "no_content"


def test_thresholds_are_policy_knobs() -> None:
    """min_words and question_coverage change the verdict as documented."""
    reply = "Hi Maria,\n\nYes, it ships today.\n"
    assert verdict(reply, "Has it shipped?") == ("answered", ())
    assert verdict(reply, "Has it shipped?", min_words=10)[0] == "no_content"
    assert verdict(reply, "Has it shipped?", question_coverage=1.01)[0] == "unanswered"


def test_auto_submitted_reply_is_an_auto_reply() -> None:
    """RFC 3834 Auto-Submitted on the reply: an automatic response, whatever it says."""
    result = judge("Hi Maria,\n\nYour parcel is on its way.\n", "", auto_submitted=True)
    assert result.kind == "auto_reply"


AUTO_PADDING = (
    "Opening hours are Monday to Friday, 9 to 17; many answers about orders, returns and "
    "subscriptions are in the help centre at https://shop.example/help."
)


@pytest.mark.parametrize(
    "declaration",
    [
        "This is an automated response to confirm that we have received your email.",
        "This message was generated automatically.",
        "Dies ist eine automatische Eingangsbestätigung.",
        "Diese Nachricht wurde automatisch erstellt.",
        "Ceci est une réponse automatique.",
        "Ce courriel a été généré automatiquement.",
        "Esta es una respuesta automática.",
        "Este mensaje ha sido generado automáticamente.",
        "Dit is een automatisch gegenereerd bericht.",
        "Questa è una risposta automatica.",
        "Questo messaggio è stato generato automaticamente.",
        "Esta é uma mensagem automática.",
    ],
)
def test_a_reply_that_says_it_is_automatic_is_an_auto_reply(declaration: str) -> None:
    """However much else it says: a receipt with opening hours and links answers nothing."""
    reply = f"Dear customer,\n\n{declaration} {AUTO_PADDING}\n\nShop Support\n"
    assert judge(reply, "").kind == "auto_reply"


@pytest.mark.parametrize(
    "sentence",
    [
        "Refunds are processed automatically to the original payment method.",
        "You will get an automatic confirmation e-mail once the parcel ships.",
        "Die Erstattung erfolgt automatisch innerhalb von 5 Tagen.",
        "Le remboursement est envoyé automatiquement sur votre carte.",
    ],
)
def test_automatic_things_in_an_answer_are_not_an_auto_reply(sentence: str) -> None:
    reply = f"Hi Maria,\n\nyes, your order was cancelled. {sentence}\n\nBest,\nJo\n"
    assert judge(reply, "").kind == "answered"


# --- through the policy engine ----------------------------------------------


def policy_dir(tmp_path: Path, answer: str = 'action = "hold"') -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "10.toml").write_text(
        f'[match]\nsenders = ["*@acme.example"]\n[checks.answer]\n{answer}\n'
    )
    return tmp_path


def reply_message(body: str, headers: str = "") -> bytes:
    return (
        "From: Ana <ana@acme.example>\r\nTo: Maria Lopez <maria@customer.test>\r\n"
        f"Subject: Re: [#4711] Order 1234\r\n{headers}\r\n{body}"
    ).encode()


def test_inbound_record_supplies_the_questions_when_nothing_is_quoted(tmp_path: Path) -> None:
    """No quote: the customer's text recorded by the inbound leg tells what was asked."""
    loaded = load_policies(policy_dir(tmp_path))
    view = MessageView(reply_message("Hi Maria,\r\n\r\nYour invoice is attached.\r\n"))
    assert evaluate(view, "ana@acme.example", loaded).reasons == []
    decision = evaluate(
        view,
        "ana@acme.example",
        loaded,
        customer_text="Where is my parcel? Also please send me the invoice.",
    )
    finding = decision.findings[0]
    assert finding.code == "missing_answer"
    assert finding.action == "hold"  # an open question is held by default
    assert finding.details["question_source"] == "inbound"
    assert finding.details["unanswered"] == ["Where is my parcel?"]
    assert finding.details["untouched"] == ["Where is my parcel?"]


def test_auto_submitted_header_is_read_by_the_check(tmp_path: Path) -> None:
    """The check reads Auto-Submitted from the message headers."""
    loaded = load_policies(policy_dir(tmp_path))
    raw = reply_message(
        "Hi Maria,\r\n\r\nYour order 1234 left our warehouse today with DHL.\r\n",
        "Auto-Submitted: auto-replied\r\n",
    )
    decision = evaluate(MessageView(raw), "ana@acme.example", loaded)
    assert decision.findings[0].details["kind"] == "auto_reply"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("question_coverage = 1.5", "checks.answer.question_coverage"),
        ("min_words = 0", "checks.answer.min_words"),
        ('canned_phrases = ["ok"]', "checks.answer.canned_phrases"),
        ("coverage = 0.3", "checks.answer.coverage"),
    ],
)
def test_bad_answer_settings_are_policy_errors(tmp_path: Path, answer: str, problem: str) -> None:
    """Out-of-range thresholds, too-short phrases and unknown keys are refused with the key."""
    with pytest.raises(PolicyError) as caught:
        load_policies(policy_dir(tmp_path, answer))
    assert any(problem in str(p) for p in caught.value.problems)


PARTIAL = (
    "Hi Maria,\r\n\r\nYour refund of 49.90 EUR was issued today and reaches your card "
    "within 3-5 working days.\r\n\r\nBest regards,\r\nAna\r\n\r\n"
    "On Mon, 23 Nov 2026 at 09:14, Maria Lopez <maria@customer.test> wrote:\r\n"
    "> Hello, I returned order 1234. When do I get my money back?\r\n"
    "> And can I order the same jacket in a larger size?\r\n>\r\n> Maria\r\n"
)


PARTLY_TOUCHED = PARTIAL.replace(
    "working days.", "working days. The jacket now also comes in navy."
)


@pytest.mark.parametrize(
    ("reply", "setting", "outcome"),
    [
        # the jacket question is untouched (nothing of it in the reply): held by default, and
        # still held when only open questions are set to log
        (PARTIAL, "", "hold"),
        (PARTIAL, 'open_questions = "log"', "hold"),
        (PARTIAL, 'open_questions = "log"\nuntouched_questions = "log"', "relay"),
        (PARTIAL, 'untouched_questions = "off"\nopen_questions = "off"', "relay"),
        # "jacket" is taken up (score above 0), so only open_questions and the threshold count
        (PARTLY_TOUCHED, "question_coverage = 0.99", "hold"),
        (PARTLY_TOUCHED, 'question_coverage = 0.99\nopen_questions = "log"', "relay"),
        (PARTLY_TOUCHED, 'question_coverage = 0.99\nuntouched_questions = "off"', "hold"),
        (PARTLY_TOUCHED, "question_coverage = 0.01", "relay"),
    ],
)
def test_untouched_and_partly_taken_up_questions_are_separate_knobs(
    tmp_path: Path, reply: str, setting: str, outcome: str
) -> None:
    """A question the reply takes up nothing of (untouched_questions) and one it takes up in
    part but scores under `question_coverage` (open_questions) are held by default, and each
    can be lowered on its own."""
    loaded = load_policies(policy_dir(tmp_path, f'action = "hold"\n{setting}'))
    decision = evaluate(MessageView(reply_message(reply)), "ana@acme.example", loaded)
    assert decision.action == outcome
    jacket = "And can I order the same jacket in a larger size?"
    if decision.findings:
        details = decision.findings[0].details
        assert jacket in details["unanswered"]
        assert details["untouched"] == ([jacket] if reply is PARTIAL else [])
        assert decision.findings[0].action == ("log" if outcome == "relay" else "hold")
    else:
        assert "off" in setting or "0.01" in setting


def test_question_settings_never_go_above_the_check_action(tmp_path: Path) -> None:
    view = MessageView(reply_message(PARTIAL))
    capped = load_policies(
        policy_dir(
            tmp_path, 'action = "log"\nopen_questions = "hold"\nuntouched_questions = "reject"'
        )
    )
    assert evaluate(view, "ana@acme.example", capped).findings[0].action == "log"


async def test_check_cli_names_the_open_question(tmp_path: Path) -> None:
    """`gateway check --json` on a partial answer: missing_answer naming the open question."""
    eml = tmp_path / "partial.eml"
    eml.write_bytes(reply_message(PARTIAL))
    strict = policy_dir(tmp_path / "p", 'action = "hold"\nopen_questions = "hold"')
    status, out, _ = await run_cli("check", str(eml), "--policies", str(strict), "--json")
    assert status == 0
    result = json.loads(out)
    assert result["action"] == "hold"
    assert result["reasons"] == ["missing_answer"]
    assert result["findings"][0]["details"]["unanswered"] == [
        "And can I order the same jacket in a larger size?"
    ]


async def test_canned_reply_is_held_over_smtp_with_the_reviewer_sentence(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """End to end: a canned acknowledgement is held with missing_answer; a real answer leaves."""
    gateway = await start_gateway(
        relay=sink.url,
        policies=str(policy_dir(tmp_path / "p", 'action = "hold"\nopen_questions = "hold"')),
        store=f"sqlite:///{tmp_path / 'g.db'}",
    )
    gateways.append(gateway)
    canned = reply_message(
        "Hi Maria,\r\n\r\nThank you for contacting us. We have received your request and "
        "will get back to you within 48 hours.\r\n\r\nBest regards,\r\nAna\r\n\r\n"
        "On Mon, 23 Nov 2026 at 09:14, Maria Lopez <maria@customer.test> wrote:\r\n"
        "> When do I get my money back?\r\n"
    )
    reply = await send_message(port_of(gateway), canned, sender="ana@acme.example")
    assert reply.startswith("2.0.0 held for review ")
    held = gateway.store.get(reply.rsplit(" ", 1)[1])
    assert held.reasons == ["missing_answer"]
    detail = held.findings[0]["detail"]
    assert detail.startswith("The reply is a canned acknowledgement")
    assert '"When do I get my money back?"' in detail
    assert sink.messages == []
    answered = reply_message(PARTIAL.replace("> And can I order", "> I also wonder: can I order"))
    assert "held for review" in await send_message(
        port_of(gateway), answered, sender="ana@acme.example"
    )
    fixed = reply_message(PARTIAL.split("\r\n> And can I", maxsplit=1)[0] + "\r\n")
    assert "relayed" in await send_message(port_of(gateway), fixed, sender="ana@acme.example")
    assert len(sink.messages) == 1


INTERLEAVED = (
    "Hi Maria,\r\n\r\nAnswers below.\r\n\r\n"
    "On Mon, 23 Nov 2026 at 09:14, Maria Lopez <maria@customer.test> wrote:\r\n"
    "> Can I pay the annual plan by invoice?\r\n\r\n"
    "Yes, choose invoice at checkout; it is due in 30 days.\r\n\r\n"
    "> Is there a discount for charities?\r\n\r\n"
    "> When does my renewal come up?\r\n\r\n"
    "On 18 June 2027.\r\n\r\nBest regards,\r\nAna\r\n"
)


async def test_question_skipped_between_quotes_is_held_over_smtp_by_default(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """End to end, default answer settings: the question the agent left with nothing under
    it is held and named; with an answer written under it, the reply leaves."""
    gateway = await start_gateway(
        relay=sink.url,
        policies=str(policy_dir(tmp_path / "p", 'action = "hold"')),
        store=f"sqlite:///{tmp_path / 'g.db'}",
    )
    gateways.append(gateway)
    reply = await send_message(
        port_of(gateway), reply_message(INTERLEAVED), sender="ana@acme.example"
    )
    assert reply.startswith("2.0.0 held for review ")
    held = gateway.store.get(reply.rsplit(" ", 1)[1])
    assert held.findings[0]["details"]["unanswered"] == ["Is there a discount for charities?"]
    answered = INTERLEAVED.replace(
        "charities?\r\n\r\n", "charities?\r\n\r\nYes, 20 % with a registry number.\r\n\r\n"
    )
    assert "relayed" in await send_message(
        port_of(gateway), reply_message(answered), sender="ana@acme.example"
    )
    assert len(sink.messages) == 1


# --- the evidence the answer model weighs --------------------------------------


SOFA = (
    "When will the sofa be delivered?",
    "Could you also take the old sofa away?",
)
SOFA_REPLY = (
    "Your sofa will be delivered on Saturday 5 December between 8 and 12.",
    "Yes, the driver calls you 30 minutes before he arrives.",
)


def test_evidence_looks_for_the_sentence_about_each_question() -> None:
    """The skipped question shares the thread's words ("sofa") and the reply has a "Yes"
    for it to borrow; the evidence sees that no sentence is about it and its own words
    ("old", "away") are nowhere."""
    delivered, taken_away = evidence(SOFA, SOFA_REPLY, "en", Context("\n".join(SOFA)))
    assert delivered.own_sentence > 0
    assert delivered.local_cue == 1.0  # the date is in the sentence about the delivery
    assert taken_away.coverage > 0  # whole-reply coverage alone takes it for answered
    assert taken_away.own_sentence == 0.0
    assert taken_away.distinctive == 0.0
    assert taken_away.local_cue == 0.0  # the "Yes" is in a sentence without its words
    assert (delivered.position, taken_away.position) == (0.0, 1.0)
    assert delivered.questions == taken_away.questions == 2.0


def test_the_model_holds_the_skipped_question_and_passes_the_answered_one() -> None:
    delivered, taken_away = FittedMatcher().scores(SOFA, SOFA_REPLY, "en", Context("\n".join(SOFA)))
    assert delivered >= DEFAULT_QUESTION_COVERAGE > taken_away


def test_reading_rules_come_before_the_model() -> None:
    """Nothing of the question in the reply: 0; answered or skipped between quotes: 1 or 0."""
    inline = (
        ("When does my renewal come up?", "18 June 2026."),
        ("Do you ship to Norway?", ""),
        ("Is there a student discount?", "Thanks,\nACME Support"),
    )
    asked = tuple(passage for passage, _ in inline)
    reply = ("18 June 2026.", "Thanks,", "ACME Support")
    scores = FittedMatcher().scores(asked, reply, "en", Context("\n".join(asked), "", inline))
    assert scores == [1.0, 0.0, 0.0]  # a closing under a quote is no answer
    untouched = FittedMatcher().scores(["Is the bowl glass?"], ["It ships today."], "en", Context())
    assert untouched == [0.0]


def test_a_lead_in_to_a_list_of_asks_is_not_an_ask() -> None:
    text = "The bill is wrong. Could you please:\n1. Check the meter reading\n2. Refund the fee\n"
    assert questions(text) == ["Check the meter reading", "Refund the fee"]


@pytest.mark.parametrize(
    "question",
    [
        "Lastly, when does our annual renewal come up?",
        "Außerdem: wann kommt die Rechnung?",
        "Por último, ¿cuándo llega el técnico?",
    ],
)
def test_a_closing_connective_keeps_the_question_kind(question: str) -> None:
    """ "Lastly, when ...?" still wants a date: the reply's date takes it up."""
    terms = ReplyTerms.of(["On 18 June 2026."], "en")
    assert cue(fold(question), terms) == 1.0


@pytest.mark.parametrize(
    ("sentence", "language"),
    [
        ("A lease car is no problem, just add the lease contract.", "en"),
        ("Een leaseauto is geen probleem; voeg de verklaring toe.", "nl"),
        ("Ein Firmenwagen ist kein Problem.", "de"),
        ("Une voiture de location n'est pas un problème.", "fr"),
    ],
)
def test_no_problem_inside_a_sentence_is_a_yes(sentence: str, language: str) -> None:
    assert ReplyTerms.of([sentence], language).opens_yes_no
    assert not ReplyTerms.of(["The lease car is the problem."], "en").opens_yes_no
