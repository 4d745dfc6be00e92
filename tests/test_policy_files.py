"""Policy files: every kind of mistake is reported with file, key path and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.policy.loader import PolicyError, load_policies
from tests.process import run_cli

REPO_POLICIES = Path(__file__).resolve().parent.parent / "policies"
VALID = '[match]\nsenders = ["*@acme.test"]\n'


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def problems(directory: Path) -> list[str]:
    with pytest.raises(PolicyError) as refused:
        load_policies(directory)
    return [str(problem) for problem in refused.value.problems]


def test_shipped_example_policies_are_valid() -> None:
    """The examples in policies/ load as they are."""
    assert [named.name for named in load_policies(REPO_POLICIES).policies] == ["50-support.toml"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID + "[checks.greeting]\nacton = 'hold'\n", "checks.greeting.acton: unknown key"),
        (VALID + "[cheks.greeting]\naction = 'hold'\n", "cheks: unknown key"),
        (VALID + "[checks.greeting]\naction = 'quarantine'\n", "checks.greeting.action: Input"),
        (VALID + "[checks.spelling]\naction = 'hold'\n", "checks.spelling: unknown key"),
        ('[match]\nsenders = "*@acme.test"\n', "match.senders: Input should be a valid list"),
        ("[match]\nsenders = []\n", "match.senders: List should have at least 1 item"),
        ('[match]\nsenders = ["acme.test"]\n', "has no '@' (write '*@acme.test'"),
        ('[match]\nsenders = ["*@[acme.test"]\n', "has an unclosed '['"),
        ('[match]\nsenders = ["*@acme .test"]\n', "whitespace"),
        ("[latency]\nsla = '24h'\n", "match: required key is missing"),
        (VALID + "[latency]\nsla = 'tomorrow'\n", "latency.sla: 'tomorrow' is not a duration"),
        (VALID + "[latency]\nticket_pattern = '#\\\\d+'\n", "needs exactly one group"),
        (VALID + "[latency]\nticket_pattern = '([0-9'\n", "not a regular expression"),
        (VALID + "[rewrite]\nnoreply = ['noreply']\n", "rewrite.monitored: required key"),
        (VALID + "[rewrite]\nmonitored = 'support'\n", "'support' is not an email address"),
        (VALID + "[rewrite]\nmonitored = 's@acme.test'\nnoreply = ['x@y']\n", "local part only"),
        (
            VALID + "[dkim]\ndomain = 'acme.test'\nselector = 'gw1'\nkey = '/nonexistent.pem'\n",
            "dkim.key: cannot read key file /nonexistent.pem",
        ),
        ('[match\nsenders = ["*@acme.test"]\n', "not valid TOML"),
    ],
)
def test_each_kind_of_mistake_is_named(tmp_path: Path, text: str, expected: str) -> None:
    """The problem line names the file, the key path and what is wrong."""
    write(tmp_path, "10-acme.toml", text)
    found = problems(tmp_path)
    assert any(line.startswith("10-acme.toml") and expected in line for line in found), found


def test_key_file_that_is_not_a_private_key(tmp_path: Path) -> None:
    """A readable file that is not a PEM private key is refused at load time."""
    key = write(tmp_path, "key.txt", "hello")
    write(tmp_path, "10.toml", VALID + f"[dkim]\ndomain='a.test'\nselector='s'\nkey='{key}'\n")
    assert any("is not an unencrypted PEM private key" in line for line in problems(tmp_path))


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    """Two files with two mistakes each: four problems, not just the first."""
    write(tmp_path, "10-a.toml", "typo = 1\n" + VALID + "[latency]\nsla = 'never'\n")
    write(tmp_path, "20-b.toml", '[match]\nsenders = ["nodomain"]\n[checks.answer]\naction = 1\n')
    found = problems(tmp_path)
    assert len(found) == 4, found
    assert {line.split(":")[0] for line in found} == {"10-a.toml", "20-b.toml"}


def test_hidden_and_non_toml_files_are_ignored(tmp_path: Path) -> None:
    """Editor swap files and notes never become policies."""
    write(tmp_path, "10-a.toml", VALID)
    write(tmp_path, ".10-a.toml.swp", "garbage")
    write(tmp_path, ".#10-a.toml", "garbage")
    write(tmp_path, "notes.txt", "garbage")
    assert [named.name for named in load_policies(tmp_path).policies] == ["10-a.toml"]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    """A mistyped --policies path must not silently disable every check."""
    assert problems(tmp_path / "nope") == [f"{tmp_path / 'nope'}: policy directory not found"]


async def test_policy_check_cli_summarises_valid_policies() -> None:
    """`gateway policy check` exits 0 with one summary line per policy."""
    status, out, err = await run_cli("policy", "check", "--policies", str(REPO_POLICIES))
    assert status == 0, err
    assert out.startswith("50-support.toml: ok; senders *@acme.example")
    assert "noreply_sender=log" in out
    assert "sla 24h" in out


async def test_policy_check_cli_lists_every_error(tmp_path: Path) -> None:
    """`gateway policy check` exits 1 and prints each problem on its own line."""
    write(tmp_path, "10-a.toml", "typo = 1\n" + VALID + "[latency]\nsla = 'never'\n")
    status, out, err = await run_cli("policy", "check", "--policies", str(tmp_path))
    assert status == 1
    assert "error: 10-a.toml: typo: unknown key" in err
    assert "error: 10-a.toml: latency.sla:" in err
    assert "2 problem(s)" in err
    assert "Traceback" not in err + out
