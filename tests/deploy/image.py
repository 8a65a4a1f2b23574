"""The Dockerfile read by BuildKit's own parser (the ``dockerfile`` package), split into stages,
and the ``.dockerignore`` rules that decide what its COPY instructions can see."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import dockerfile

from tests.deploy.contract import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass
class Stage:
    image: str
    name: str | None
    commands: list[dockerfile.Command] = field(default_factory=list)

    def all(self, cmd: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == cmd]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for command in self.all("ENV"):
            pairs = command.value
            values.update(zip(pairs[::2], pairs[1::2], strict=True))
        return values

    def runs(self) -> list[str]:
        return [" ".join(c.value) for c in self.all("RUN")]


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    found: list[Stage] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            image, *rest = command.value
            name = rest[1] if len(rest) == 2 and rest[0].upper() == "AS" else None
            found.append(Stage(image, name))
        else:
            assert found, f"{command.original}: before the first FROM"
            found[-1].commands.append(command)
    return found


def flag(command: dockerfile.Command, name: str) -> str | None:
    for item in command.flags:
        key, _, value = item.partition("=")
        if key == f"--{name}":
            return value
    return None


# --- .dockerignore ------------------------------------------------------------------------------


def ignore_rules(path: Path = DOCKERIGNORE) -> list[tuple[bool, str]]:
    """(excluded, pattern) pairs in file order; ``!`` lines re-include."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((exclude, str(PurePosixPath(pattern))))
    return rules


def ignored(relative: str, rules: list[tuple[bool, str]]) -> bool:
    """Docker's rule, as its documentation states it: the last pattern that matches the path or
    one of its parent folders decides. Patterns are Go ``filepath.Match`` globs (``*`` and ``?``
    stop at ``/``) plus ``**`` for any number of folders; this covers the forms used here."""
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for exclude, pattern in rules:
        regex = _glob_regex(pattern)
        if any(regex.fullmatch(candidate) for candidate in candidates):
            verdict = exclude
    return verdict


def _glob_regex(pattern: str) -> re.Pattern[str]:
    if "[" in pattern or "\\" in pattern:
        raise ValueError(f"{pattern}: character classes and escapes are not handled here")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            out.append({"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i])))
            i += 1
    return re.compile("".join(out))
