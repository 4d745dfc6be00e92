"""Choosing the policy and deciding: first match wins, reject > hold > relay."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.message import MessageView
from gateway.policy.engine import evaluate
from gateway.policy.loader import load_policies


def policies(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text)
    return tmp_path


def message(frm: str = "Ana <ana@acme.test>", extra: str = "") -> MessageView:
    return MessageView(
        f"From: {frm}\r\n{extra}Subject: Re: hi\r\n\r\n"
        f"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n".encode()
    )


def test_first_matching_file_in_name_order_wins(tmp_path: Path) -> None:
    """10-billing matches before 50-all, whatever order the files were written in."""
    directory = policies(
        tmp_path,
        **{
            "50-all": '[match]\nsenders = ["*"]\n',
            "10-billing": '[match]\nsenders = ["billing@acme.test"]\n',
        },
    )
    loaded = load_policies(directory)
    assert evaluate(message("billing@acme.test"), "billing@acme.test", loaded).policy == (
        "10-billing.toml"
    )
    assert evaluate(message(), "ana@acme.test", loaded).policy == "50-all.toml"


def test_no_match_relays_unchanged_with_no_policy(tmp_path: Path) -> None:
    """Sieve's implicit keep: nothing matches, the message is relayed, policy is None."""
    loaded = load_policies(policies(tmp_path, a='[match]\nsenders = ["*@other.test"]\n'))
    decision = evaluate(message(), "ana@acme.test", loaded)
    assert (decision.action, decision.policy, decision.findings) == ("relay", None, ())


def test_match_uses_envelope_sender_or_from(tmp_path: Path) -> None:
    """A policy matches on the From address even when the envelope sender differs."""
    loaded = load_policies(policies(tmp_path, a='[match]\nsenders = ["*@acme.test"]\n'))
    assert evaluate(message(), "bounces@esp.test", loaded).policy == "a.toml"
    assert evaluate(message("x@else.test"), "agent@acme.test", loaded).policy == "a.toml"
    assert evaluate(message("x@else.test"), "bounces@esp.test", loaded).policy is None


@pytest.mark.parametrize(
    ("where", "mail_from", "frm", "extra"),
    [
        ("MAIL FROM", "noreply@acme.test", "Ana <ana@acme.test>", ""),
        ("From", "ana@acme.test", "ACME <No-Reply@acme.test>", ""),
        ("Sender", "ana@acme.test", "Ana <ana@acme.test>", "Sender: donotreply@acme.test\r\n"),
        (
            "Reply-To",
            "ana@acme.test",
            "Ana <ana@acme.test>",
            "Reply-To: do-not-reply@acme.test\r\n",
        ),
    ],
)
def test_noreply_sender_found_in_each_place(
    tmp_path: Path, where: str, mail_from: str, frm: str, extra: str
) -> None:
    """Envelope sender, From, Sender and Reply-To are each checked, case-insensitively."""
    loaded = load_policies(
        policies(
            tmp_path,
            a='[match]\nsenders = ["*@acme.test"]\n[rewrite]\nmonitored = "support@acme.test"\n',
        )
    )
    decision = evaluate(message(frm, extra), mail_from, loaded)
    assert decision.reasons == ["noreply_sender"]
    finding = decision.findings[0]
    assert [a["field"] for a in finding.details["addresses"]] == [where]
    assert "support@acme.test" in finding.detail
    assert decision.action == "relay"  # default action is log


@pytest.mark.parametrize(
    ("action", "verdict", "reasons"),
    [
        ("log", "relay", ["noreply_sender"]),
        ("hold", "hold", ["noreply_sender"]),
        ("reject", "reject", ["noreply_sender"]),
        ("off", "relay", []),
    ],
)
def test_action_decides(tmp_path: Path, action: str, verdict: str, reasons: list[str]) -> None:
    """A finding's action maps to the decision; 'off' does not even run the check."""
    loaded = load_policies(
        policies(
            tmp_path,
            a=f'[match]\nsenders = ["*"]\n[checks.noreply_sender]\naction = "{action}"\n',
        )
    )
    decision = evaluate(message("noreply@acme.test"), "noreply@acme.test", loaded)
    assert decision.action == verdict
    assert decision.reasons == reasons


def test_custom_noreply_globs(tmp_path: Path) -> None:
    """[rewrite] noreply globs replace the built-in list."""
    loaded = load_policies(
        policies(
            tmp_path,
            a='[match]\nsenders = ["*"]\n[rewrite]\nmonitored = "s@acme.test"\n'
            'noreply = ["notifications*"]\n',
        )
    )
    assert evaluate(message("notifications-eu@acme.test"), "", loaded).reasons == ["noreply_sender"]
    assert evaluate(message("noreply@acme.test"), "", loaded).reasons == []
