"""Monitored senders and DKIM: rewrite exactly the no-reply addresses, sign exactly what leaves."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from gateway.app import Gateway
from gateway.dkim_sign import Signer, generate_key, load_signing_key
from gateway.message import MessageView
from gateway.outgoing import prepare
from gateway.policy.engine import evaluate
from gateway.policy.loader import PolicyError, load_policies
from tests.process import run_cli
from tests.support import Sink, port_of, send_message, start_gateway

REWRITE = '[match]\nsenders = ["*@acme.example"]\n[rewrite]\nmonitored = "support@acme.example"\n'


def policy_dir(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir(exist_ok=True)
    (directory / "10-acme.toml").write_text(text)
    return directory


def outgoing_for(
    tmp_path: Path, raw: bytes, mail_from: str, text: str = REWRITE
) -> tuple[str, bytes]:
    policies = load_policies(policy_dir(tmp_path, text))
    decision = evaluate(MessageView(raw), mail_from, policies)
    result = prepare(raw, mail_from, decision)
    return result.mail_from, result.content


def test_rewrites_envelope_and_each_header_keeping_everything_else(tmp_path: Path) -> None:
    """MAIL FROM, From, Sender and Reply-To change; names, order and other bytes stay."""
    raw = (
        b"Received: by helpdesk.acme.example\r\n"
        b"From: =?utf-8?q?Acme_K=C3=BCndenservice?= <noreply@acme.example>\r\n"
        b"Sender: No-Reply@ACME.example\r\n"
        b"To: Maria <maria@customer.test>\r\n"
        b'Reply-To: "Do not reply" <do-not-reply@acme.example>,\r\n team@acme.example\r\n'
        b"Subject: Re: refund\r\n\r\nHi Maria,\r\nno-reply@acme.example stays in the body.\r\n"
    )
    sender, content = outgoing_for(tmp_path, raw, "noreply+4711@acme.example")
    assert sender == "support@acme.example"
    assert content == (
        b"Received: by helpdesk.acme.example\r\n"
        b"From: =?utf-8?q?Acme_K=C3=BCndenservice?= <support@acme.example>\r\n"
        b"Sender: support@acme.example\r\n"
        b"To: Maria <maria@customer.test>\r\n"
        b'Reply-To: "Do not reply" <support@acme.example>,\r\n team@acme.example\r\n'
        b"Subject: Re: refund\r\n\r\nHi Maria,\r\nno-reply@acme.example stays in the body.\r\n"
    )


def test_monitored_reply_to_and_real_senders_stay(tmp_path: Path) -> None:
    """A Reply-To that is already monitored, and a real agent sender, are left alone."""
    raw = (
        b"From: ACME <noreply@acme.example>\r\nReply-To: support@acme.example\r\n"
        b"Subject: x\r\n\r\nHi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n"
    )
    sender, content = outgoing_for(tmp_path, raw, "ana@acme.example")
    assert sender == "ana@acme.example"
    assert content.startswith(
        b"From: ACME <support@acme.example>\r\nReply-To: support@acme.example"
    )


def test_per_address_override(tmp_path: Path) -> None:
    """[rewrite.overrides] sends billing-noreply@ to billing@, others to the monitored address."""
    text = (
        REWRITE + '[rewrite.overrides]\n"billing-noreply@acme.example" = "billing@acme.example"\n'
    )
    raw = (
        b"From: Billing <billing-noreply@acme.example>\r\nSubject: x\r\n\r\n"
        b"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n"
    )
    sender, content = outgoing_for(tmp_path, raw, "noreply@acme.example", text)
    assert sender == "support@acme.example"
    assert content.startswith(b"From: Billing <billing@acme.example>\r\n")


def test_no_rewrite_section_means_no_rewrite(tmp_path: Path) -> None:
    """Without [rewrite] the finding is reported but nothing is changed."""
    raw = (
        b"From: noreply@acme.example\r\nSubject: x\r\n\r\n"
        b"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n"
    )
    sender, content = outgoing_for(
        tmp_path, raw, "noreply@acme.example", '[match]\nsenders = ["*@acme.example"]\n'
    )
    assert (sender, content) == ("noreply@acme.example", raw)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (b"From: a@acme.example, b@acme.example\r\n", "multiple_from"),
        (b"From: a@acme.example\r\nFrom: b@acme.example\r\n", "multiple_from"),
        (b"To: maria@customer.test\r\n", "missing_from"),
    ],
)
def test_several_or_no_from_is_held_never_guessed(
    tmp_path: Path, headers: bytes, code: str
) -> None:
    """Several From addresses or none: hold, with the reason."""
    policies = load_policies(policy_dir(tmp_path, REWRITE))
    decision = evaluate(
        MessageView(
            headers
            + b"Subject: x\r\n\r\nHi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n"
        ),
        "a@acme.example",
        policies,
    )
    assert decision.action == "hold"
    assert code in decision.reasons
    assert decision.rewrites == ()


@pytest.mark.parametrize(
    "phrase",
    [
        "Please do not reply to this message.",
        "This mailbox is not monitored.",
        "Bitte antworten Sie nicht auf diese E-Mail.",
        "Merci de ne pas répondre à ce message.",
        "Por favor, no responda a este correo.",
        "Gelieve niet te antwoorden op deze e-mail.",
        "Si prega di non rispondere a questa email.",
        "Por favor, não responda a este e-mail.",
    ],
)
def test_noreply_phrases_in_several_languages(tmp_path: Path, phrase: str) -> None:
    """A reply that tells the customer not to answer yields noreply_phrase (default: log)."""
    policies = load_policies(policy_dir(tmp_path, REWRITE))
    raw = (
        f"From: ana@acme.example\r\nSubject: x\r\n\r\n"
        f"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n\r\n{phrase}\r\n"
    )
    decision = evaluate(MessageView(raw.encode()), "ana@acme.example", policies)
    assert decision.reasons == ["noreply_phrase"]
    assert decision.action == "relay"


def test_phrase_only_in_quoted_history_does_not_count(tmp_path: Path) -> None:
    """The customer quoting an old no-reply notice is not the agent saying it."""
    policies = load_policies(policy_dir(tmp_path, REWRITE))
    raw = (
        b"From: ana@acme.example\r\nSubject: x\r\n\r\n"
        b"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n\r\n"
        b"> Please do not reply to this message.\r\n"
    )
    assert evaluate(MessageView(raw), "ana@acme.example", policies).reasons == []


def key_and_policy(tmp_path: Path, key_type: str, extra: str = "") -> tuple[Path, bytes]:
    key_path = tmp_path / f"acme.example.gw1.{key_type}.pem"
    key = generate_key(key_type, key_path)
    text = (
        REWRITE + extra + f'[dkim]\ndomain = "acme.example"\nselector = "gw1"\nkey = "{key_path}"\n'
    )
    return policy_dir(tmp_path, text), key.dns_record().encode()


def verifies(message: bytes, record: bytes) -> bool:
    return bool(dkim.verify(message, dnsfunc=lambda name, timeout=5: record))


ORIGINAL = (
    b"From: ACME Support <noreply@acme.example>\r\nTo: Maria <maria@customer.test>\r\n"
    b"Subject: Re: [#4711] refund\r\nMessage-ID: <d1@acme.example>\r\n\r\n"
    b"Hi Maria,\r\nyour refund was issued today.\r\n"
)


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
async def test_signed_through_the_gateway_and_verified(
    tmp_path: Path, sink: Sink, gateways: list[Gateway], key_type: str
) -> None:
    """After the real gateway and a real sink, dkimpy verifies the signature; tampering fails it."""
    directory, record = key_and_policy(tmp_path, key_type)
    gateway = await start_gateway(relay=sink.url, policies=str(directory))
    gateways.append(gateway)
    with capture_logs() as logs:
        await send_message(port_of(gateway), ORIGINAL, sender="noreply@acme.example")
    relayed = sink.messages[0]
    assert relayed.mail_from == "support@acme.example"
    assert relayed.content.startswith(b"DKIM-Signature: v=1; a=" + key_type.encode())
    assert b"From: ACME Support <support@acme.example>\r\n" in relayed.content
    assert verifies(relayed.content, record)
    assert not verifies(relayed.content.replace(b"issued today", b"issued never"), record)
    rewritten = [e for e in logs if e["event"] == "sender_rewritten"]
    assert {(e["field"], e["before"], e["after"]) for e in rewritten} == {
        ("MAIL FROM", "noreply@acme.example", "support@acme.example"),
        ("From", "noreply@acme.example", "support@acme.example"),
    }
    message_event = next(e for e in logs if e["event"] == "message")
    assert message_event["dkim"].startswith("d=acme.example s=gw1")


def test_signature_broken_by_rewrite_is_removed_others_kept(tmp_path: Path) -> None:
    """The helpdesk's own signature over From goes; an ESP signature not covering From stays."""
    directory, record = key_and_policy(tmp_path, "rsa")
    helpdesk_key = generate_key("rsa", tmp_path / "helpdesk.pem")
    presigned = Signer("acme.example", "helpdesk", helpdesk_key).sign(ORIGINAL)
    esp_field = b"DKIM-Signature: v=1; a=rsa-sha256; d=esp.test; s=x; h=to:subject; bh=x; b=y\r\n"
    policies = load_policies(directory)
    raw = esp_field + presigned
    decision = evaluate(MessageView(raw), "noreply@acme.example", policies)
    result = prepare(raw, "noreply@acme.example", decision)
    assert result.removed_signatures == 1
    assert b"s=helpdesk" not in result.content
    assert esp_field in result.content
    assert verifies(result.content, record)


async def test_messages_without_rewrite_are_signed_too(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """With [dkim], a reply from a real agent address is signed as well."""
    directory, record = key_and_policy(tmp_path, "rsa")
    gateway = await start_gateway(relay=sink.url, policies=str(directory))
    gateways.append(gateway)
    message = ORIGINAL.replace(b"noreply@acme.example", b"ana@acme.example")
    await send_message(port_of(gateway), message, sender="ana@acme.example")
    assert sink.messages[0].mail_from == "ana@acme.example"
    assert sink.messages[0].content.endswith(message)
    assert verifies(sink.messages[0].content, record)


async def test_signing_failure_is_451_never_unsigned(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """The key turns unreadable after load: 451 4.7.0, and nothing unsigned leaves."""
    directory, _record = key_and_policy(tmp_path, "rsa")
    gateway = await start_gateway(relay=sink.url, policies=str(directory))
    gateways.append(gateway)
    key_path = gateway.policies.current.policies[0].policy.dkim.key  # type: ignore[union-attr]
    key_path.write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    os.utime(key_path, ns=(1, 1))
    with pytest.raises(Exception, match="451") as refused:
        await send_message(port_of(gateway), ORIGINAL, sender="noreply@acme.example")
    assert "4.7.0 DKIM signing failed" in str(refused.value)
    assert sink.messages == []


def test_weak_rsa_key_is_a_policy_error(tmp_path: Path) -> None:
    """RSA below 2048 bits is refused when the policy loads, not when mail is sent."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key is the point
    key_path = tmp_path / "weak.pem"
    key_path.write_bytes(
        weak.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    text = REWRITE + f'[dkim]\ndomain = "acme.example"\nselector = "s"\nkey = "{key_path}"\n'
    with pytest.raises(PolicyError) as refused:
        load_policies(policy_dir(tmp_path, text))
    assert "1024 bits; DKIM needs >= 2048" in str(refused.value)


async def test_dkim_keygen_writes_private_key_and_record(tmp_path: Path) -> None:
    """`gateway dkim keygen`: key file mode 0600, a TXT record that verifies its signatures."""
    status, out, err = await run_cli(
        "dkim", "keygen", "--domain", "acme.example", "--selector", "gw2", "--out", str(tmp_path)
    )
    assert status == 0, err
    key_path = tmp_path / "acme.example.gw2.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert "gw2._domainkey.acme.example. IN TXT" in out
    record = "".join(part for part in out.split('"')[1::2]).encode()
    signed = Signer("acme.example", "gw2", load_signing_key(key_path)).sign(ORIGINAL)
    assert verifies(signed, record)
    status, _out, err = await run_cli(
        "dkim", "keygen", "--domain", "acme.example", "--selector", "gw2", "--out", str(tmp_path)
    )
    assert status == 1
    assert "refusing to overwrite" in err


async def test_check_json_lists_rewrites(tmp_path: Path) -> None:
    """`gateway check --json` shows the rewrites the gateway would make."""
    directory = policy_dir(tmp_path, REWRITE)
    eml = tmp_path / "m.eml"
    eml.write_bytes(ORIGINAL)
    status, out, _err = await run_cli("check", str(eml), "--policies", str(directory), "--json")
    assert status == 0
    assert json.loads(out)["rewrites"] == [
        {"field": "MAIL FROM", "from": "noreply@acme.example", "to": "support@acme.example"},
        {"field": "From", "from": "noreply@acme.example", "to": "support@acme.example"},
    ]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable",
            b"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n\r\n"
            b"Dieses Postfach wird nicht =C3=BCberwacht.\r\n",
        ),
        (
            b"Content-Type: text/html; charset=utf-8",
            b"<p>Hi Maria,</p><p>your refund of 49.90 EUR was issued today.</p>"
            b"<p><i>Please do <b>not</b> reply to this message.</i></p>",
        ),
        (
            b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit",
            (
                "Hi Maria,\r\nIhre Erstattung über 49,90 EUR wurde heute angewiesen.\r\n"
                "Dieses Postfach wird nicht überwacht.\r\n"
            ).encode("latin-1"),
        ),
        (
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
            b"SGkgTWFyaWEsCmRvbmUuClRoaXMgbWFpbGJveCBpcyBub3QgbW9uaXRvcmVkLgo=\r\n",
        ),
    ],
    ids=["quoted-printable", "html", "latin-1", "base64"],
)
def test_noreply_phrase_found_through_encodings(
    tmp_path: Path, headers: bytes, body: bytes
) -> None:
    """The cheap byte screen never hides a phrase behind QP, base64, HTML or another charset."""
    policies = load_policies(policy_dir(tmp_path, REWRITE))
    raw = (
        b"From: ana@acme.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        + headers
        + b"\r\n\r\n"
        + body
    )
    decision = evaluate(MessageView(raw), "ana@acme.example", policies)
    assert decision.reasons == ["noreply_phrase"]


def test_byte_screen_skips_the_parse_only_when_safe() -> None:
    """Plain UTF-8 without the phrase: no parse needed; anything encoded: parse."""
    plain = MessageView(b"Subject: x\r\n\r\nHi Maria,\r\nall done.\r\n")
    assert not plain.may_say_any(("do not reply",))
    assert plain.may_say_any(("all done",))
    encoded = MessageView(b"Content-Transfer-Encoding: base64\r\n\r\nSGk=\r\n")
    assert encoded.may_say_any(("do not reply",))


async def test_envelope_rewrite_goes_to_the_relay_at_mail_from(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """The rewritten sender is known at MAIL FROM: the relay sees one MAIL, no replay."""
    gateway = await start_gateway(relay=sink.url, policies=str(policy_dir(tmp_path, REWRITE)))
    gateways.append(gateway)
    await send_message(port_of(gateway), ORIGINAL, sender="noreply@acme.example")
    assert sink.handler.mail_commands == ["support@acme.example"]
    assert sink.messages[0].mail_from == "support@acme.example"


async def test_wrong_envelope_guess_is_replayed(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """An earlier policy matched by From (no rewrite) wins: the relay gets the original sender."""
    directory = policy_dir(tmp_path, REWRITE)
    (directory / "05-brand.toml").write_text('[match]\nsenders = ["*@brand.test"]\n')
    gateway = await start_gateway(relay=sink.url, policies=str(directory))
    gateways.append(gateway)
    message = ORIGINAL.replace(
        b"From: ACME Support <noreply@acme.example>", b"From: ana@brand.test"
    )
    await send_message(port_of(gateway), message, sender="noreply@acme.example")
    assert sink.handler.mail_commands == ["support@acme.example", "noreply@acme.example"]
    assert sink.messages[0].mail_from == "noreply@acme.example"
    assert sink.messages[0].content == message


def mail_dkim(record: str, message: bytes, tmp_path: Path) -> str:
    """Mail::DKIM's verdict on `message` (tests/tools/mail_dkim_verify.pl, key given inline)."""
    perl = shutil.which("perl")
    assert perl is not None
    path = tmp_path / "verify.eml"
    path.write_bytes(message)
    script = Path(__file__).resolve().parent / "tools" / "mail_dkim_verify.pl"
    result = subprocess.run(
        [perl, str(script), "gw1._domainkey.acme.example", record, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if "Can't locate Mail/DKIM" in result.stderr:
        pytest.fail("Mail::DKIM is not installed; run `make test`, which installs it")
    return result.stdout.strip()


async def test_independent_verifier_accepts_the_gateways_rsa_signature(
    tmp_path: Path, sink: Sink, gateways: list[Gateway]
) -> None:
    """Mail::DKIM (Perl, not dkimpy) says pass for what left the gateway, fail once tampered."""
    directory, record = key_and_policy(tmp_path, "rsa")
    gateway = await start_gateway(relay=sink.url, policies=str(directory))
    gateways.append(gateway)
    await send_message(port_of(gateway), ORIGINAL, sender="noreply@acme.example")
    relayed = sink.messages[0].content
    assert mail_dkim(record.decode(), relayed, tmp_path) == "pass pass"
    tampered = relayed.replace(b"issued today", b"issued never")
    assert mail_dkim(record.decode(), tampered, tmp_path).startswith("fail")
