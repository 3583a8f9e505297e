"""Readers for the deployment files, so the tests can check them without Docker or a network.

`docker compose config` and `docker build` in CI remain the authority; these helpers implement
just enough of Compose (YAML 1.2 scalars, interpolation, merging), Dockerfile and .dockerignore
syntax to check the files statically.
"""

from __future__ import annotations

import importlib.resources
import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
COMPOSE_OVERRIDE = ROOT / "compose.override.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_SCRIPT = ROOT / ".ci" / "run"
PRISMA_CONFIG = ROOT / "deploy" / "prisma.config.ts"

# Values for the variables the compose files require, as the CI job sets them.
DUMMY_ENV = {
    "SECRET_KEY": "dummy-secret-key-for-tests-0123456789abcdef",
    "POSTGRES_PASSWORD": "dummy-password",
}


# --- YAML -------------------------------------------------------------------------------------


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, as Compose and GitHub Actions read YAML.

    PyYAML follows YAML 1.1, where `on`, `no` and `yes` are booleans: the workflow's `on:` key
    would become `True`.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


# --- JSON schemas -----------------------------------------------------------------------------


def vendored_schema(name: str) -> dict[str, Any]:
    """A schema shipped by check-jsonschema (`compose-spec`, `github-workflows`)."""
    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / f"{name}.json"
    return json.loads(resource.read_text(encoding="utf-8"))


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation, as `path: message` lines (empty when the document is valid)."""
    validator_class = validator_for(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in errors
    ]


# --- Compose ----------------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class RequiredVariableError(ValueError):
    """A `${NAME:?message}` variable is unset (Compose stops with the message)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value: {message}")
        self.name = name


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose interpolation of every string in `value`: `${X}`, `${X:-d}`, `${X:?m}`, `$$`…"""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"] or "", match["arg"] or ""
        current = env.get(name)
        is_set = current is not None and (current != "" or not op.startswith(":"))
        if op.endswith("-"):
            return current if is_set and current is not None else arg
        if op.endswith("?"):
            if not is_set or current is None:
                raise RequiredVariableError(name, arg)
            return current
        if op.endswith("+"):
            return arg if is_set else ""
        return current or ""

    return _VARIABLE.sub(substitute, value)


# Keys whose value an override file replaces instead of extending.
_REPLACED_SEQUENCES = frozenset({"command", "entrypoint", "test"})


def merge_compose(base: Any, override: Any, key: str | None = None) -> Any:
    """The subset of the Compose merge rules these files use: mappings merge recursively,
    `command`/`entrypoint`/`healthcheck.test` are replaced, other sequences are extended."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = merge_compose(base[name], value, name) if name in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list) and key not in _REPLACED_SEQUENCES:
        return base + [item for item in override if item not in base]
    return override


def merged_compose() -> dict[str, Any]:
    return merge_compose(load_yaml(COMPOSE), load_yaml(COMPOSE_OVERRIDE))


@dataclass(frozen=True)
class VolumeMount:
    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/", "~"))


def volume_mounts(service: dict[str, Any]) -> list[VolumeMount]:
    """A service's `volumes`, short syntax (`source:target[:mode]`) or long syntax."""
    mounts: list[VolumeMount] = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts.append(
                VolumeMount(
                    str(entry.get("source", "")), str(entry["target"]), bool(entry.get("read_only"))
                )
            )
            continue
        source, target, *mode = str(entry).split(":")
        mounts.append(VolumeMount(source, target, "ro" in ",".join(mode).split(",")))
    return mounts


# --- Dockerfile -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str

    @property
    def tokens(self) -> list[str]:
        return shlex.split(self.value)

    @property
    def flags(self) -> list[str]:
        """The leading `--name=value` options (`--from=…`, `--mount=…`)."""
        flags: list[str] = []
        for token in self.tokens:
            if not token.startswith("--"):
                break
            flags.append(token)
        return flags

    @property
    def arguments(self) -> list[str]:
        return self.tokens[len(self.flags) :]

    def flag(self, name: str) -> str | None:
        prefix = f"--{name}="
        return next((flag[len(prefix) :] for flag in self.flags if flag.startswith(prefix)), None)

    def exec_form(self) -> list[str]:
        """The JSON array of CMD/ENTRYPOINT, or of HEALTHCHECK's CMD."""
        text = self.value
        if self.keyword == "HEALTHCHECK":
            text = text.split("CMD", 1)[1]
        parsed = json.loads(text)
        if not isinstance(parsed, list):
            raise ValueError(f"{self.keyword} is not in exec form: {self.value}")
        return [str(item) for item in parsed]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list[Instruction])

    def all(self, keyword: str) -> list[Instruction]:
        return [item for item in self.instructions if item.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    @property
    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for token in instruction.tokens:
                name, _, value = token.partition("=")
                values[name] = value
        return values


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, value = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip()))
        pending = ""
    return instructions


def dockerfile_stages(text: str) -> list[Stage]:
    """The build stages, `ARG` defaults declared before the first FROM substituted."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in dockerfile_instructions(text):
        if instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.value.partition("=")
            args[name] = default
        elif instruction.keyword == "FROM":
            words = interpolate(instruction.value, args).split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


# --- .dockerignore ----------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go filepath.Match plus `**`, as Docker reads it)."""
    out, i = "^", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + "$")


def dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def is_excluded(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves `path` (relative, `/`-separated) out of the build context.

    The last matching pattern wins; a pattern matches a path or any of its parent directories.
    """
    parents = path.split("/")
    candidates = ["/".join(parents[: depth + 1]) for depth in range(len(parents))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = posixpath.normpath(pattern.removeprefix("!").strip().lstrip("/"))
        regex = _glob_regex(body)
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


# --- Shell scripts ----------------------------------------------------------------------------

_SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")"})


def make_invocations(script: str) -> list[str]:
    """The `make …` commands of a shell script, in order, without make's own options:
    `TEST_DATABASE_URL=… make -s test MODE=full && make smoke` → ["test MODE=full", "smoke"]."""
    invocations: list[str] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token not in _SHELL_OPERATORS:
                command.append(token)
                continue
            if "make" in command:
                arguments = command[command.index("make") + 1 :]
                invocations.append(" ".join(arg for arg in arguments if not arg.startswith("-")))
            command = []
    return invocations
