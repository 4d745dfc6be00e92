"""`gateway check MESSAGE.eml`: the dry run admins use before deploying a policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.process import run_cli

TESTS = Path(__file__).resolve().parent
# The split-reply corpus whole, and every 8th reply of the quality corpus: each is a
# CLI process; tests/test_quality_corpus.py runs all of them in-process.
CORPUS = (
    sorted((TESTS / "corpus" / "replies").glob("*.eml"))
    + sorted((TESTS / "corpus" / "quality").rglob("*.eml"))[::8]
)
REPO_POLICIES = TESTS.parent / "policies"


async def test_check_json_on_every_corpus_message() -> None:
    """Every test message gets a decision with the contract's JSON keys."""
    for eml in CORPUS:
        status, out, err = await run_cli(
            "check", str(eml), "--policies", str(REPO_POLICIES), "--json"
        )
        assert status == 0, (eml.name, err)
        result = json.loads(out)
        assert {"action", "reasons", "findings", "rewrites"} <= set(result), eml.name
        assert result["action"] in {"relay", "hold", "reject"}


async def test_check_human_output_names_policy_and_findings(tmp_path: Path) -> None:
    """The text output says the decision, the policy and each finding's sentence."""
    eml = tmp_path / "noreply.eml"
    eml.write_bytes(
        b"From: ACME <noreply@acme.example>\r\nSubject: Re: x\r\n\r\n"
        b"Hi Maria,\r\nyour refund of 49.90 EUR was issued today.\r\n"
    )
    status, out, _err = await run_cli("check", str(eml), "--policies", str(REPO_POLICIES))
    assert status == 0
    assert "decision: relay" in out
    assert "policy:   50-support.toml" in out
    assert (
        "noreply_sender (log): Sent from a no-reply address (MAIL FROM <noreply@acme.example>"
        in out
    )
    assert "replies should go to support@acme.example" in out


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02 binary junk \xff",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--",
        b"From: " + b"a" * 5000 + b"\r\n\r\nbody",
    ],
    ids=["empty", "binary", "broken-multipart", "huge-header"],
)
async def test_check_malformed_files_never_trace_back(tmp_path: Path, content: bytes) -> None:
    """Malformed files get a decision (exit 0) or a clear error (exit 1), never a traceback."""
    eml = tmp_path / "bad.eml"
    eml.write_bytes(content)
    status, out, err = await run_cli("check", str(eml), "--policies", str(REPO_POLICIES), "--json")
    assert status in {0, 1}
    assert "Traceback" not in out + err
    if status == 0:
        assert json.loads(out)["action"] in {"relay", "hold", "reject"}


async def test_check_missing_file_is_exit_1(tmp_path: Path) -> None:
    """A file that cannot be read: one line, exit 1."""
    status, _out, err = await run_cli("check", str(tmp_path / "nope.eml"))
    assert status == 1
    assert err.startswith("gateway: cannot read")
