"""Work-item keys named in commit messages, branch names and pull requests: the one place that reads them.

``PROJ-123`` / ``ENG-42`` (Jira and Linear keys, upper case in text; any case in a branch name, which is
how Linear names branches: ``eng-42-fix-login``), and GitHub's closing keywords ``Fixes #123`` /
``closes acme/api#9``, which name the issue ``<owner>/<repo>#<number>`` (the key GitHub issues get here).
"""

from __future__ import annotations

import re

_KEY = re.compile(r"(?<![A-Za-z0-9_-])([A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,8})(?![0-9A-Za-z])")
_BRANCH_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9_]{0,9}-[1-9][0-9]{0,8})(?![0-9])")
_CLOSES = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+(?P<repo>[\w.-]+/[\w.-]+)?#(?P<number>[1-9][0-9]{0,9})\b",
    re.IGNORECASE,
)


def github_issue_key(repository: str, number: int | str) -> str:
    return f"{repository}#{number}"


def keys_in_text(text: str | None, *, repository: str | None = None) -> list[str]:
    """Keys in a commit message or a pull request's title or body, in order of first mention."""
    if not text:
        return []
    found = [match.group(1) for match in _KEY.finditer(text)]
    for match in _CLOSES.finditer(text):
        repo = match.group("repo") or repository
        if repo:
            found.append(github_issue_key(repo, match.group("number")))
    return list(dict.fromkeys(found))


def keys_in_branch(branch: str | None) -> list[str]:
    """Keys in a branch name, any case (``feature/PROJ-7-x``, ``eng-42-fix``), upper-cased."""
    if not branch:
        return []
    return list(dict.fromkeys(match.group(1).upper() for match in _BRANCH_KEY.finditer(branch)))
