"""Loading a policy directory: every file checked, every problem reported, all or nothing.

A set of policies takes effect only when every file in it is valid, so a
broken file can never leave the gateway running half its rules.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.policy.schema import Policy


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One problem in one file: the file, the key path (may be empty) and a sentence."""

    file: str
    key: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.problem}"


class PolicyError(Exception):
    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    name: str  # the file name, e.g. "10-acme.toml"
    policy: Policy

    def matches(self, candidates: list[str]) -> bool:
        """Whether any candidate address (envelope sender, From) fits a [match] glob."""
        return any(
            fnmatch.fnmatchcase(address.lower(), glob)
            for address in candidates
            for glob in self.policy.match.senders
        )


@dataclass(frozen=True, slots=True)
class PolicySet:
    """An immutable, validated set; transactions keep the set they started with."""

    directory: Path
    policies: tuple[NamedPolicy, ...]
    fingerprint: tuple[tuple[str, int, int], ...] = ()

    def select(self, candidates: list[str]) -> NamedPolicy | None:
        """First policy in file-name order whose [match] fits; None means relay unchanged."""
        for named in self.policies:
            if named.matches(candidates):
                return named
        return None


def policy_files(directory: Path) -> list[Path]:
    """`*.toml` files in name order; hidden files (editor swap files, .#locks) are ignored."""
    return sorted(path for path in directory.glob("*.toml") if not path.name.startswith("."))


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime_ns, size) per policy file: what the watcher compares."""
    found = []
    for path in policy_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _key_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def _problems_of(name: str, error: ValidationError) -> list[PolicyProblem]:
    problems = []
    for item in error.errors():
        key = _key_path(item["loc"])
        if item["type"] == "extra_forbidden":
            message = "unknown key (typo?)"
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(PolicyProblem(name, key, message))
    return problems


def load_policy_file(path: Path) -> Policy:
    """One file, validated; raises PolicyError with every problem in it."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise PolicyError([PolicyProblem(path.name, "", f"cannot read ({exc.strerror})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([PolicyProblem(path.name, "", f"not valid TOML ({exc})")]) from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_problems_of(path.name, exc)) from exc


def load_policies(directory: Path) -> PolicySet:
    """Every policy file in `directory`; raises PolicyError listing all problems in all files."""
    if not directory.is_dir():
        raise PolicyError([PolicyProblem(str(directory), "", "policy directory not found")])
    before = fingerprint(directory)
    loaded: list[NamedPolicy] = []
    problems: list[PolicyProblem] = []
    for path in policy_files(directory):
        try:
            loaded.append(NamedPolicy(path.name, load_policy_file(path)))
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(problems)
    return PolicySet(directory, tuple(loaded), before)
