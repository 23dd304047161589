"""Prompt files from prompts/: TOML with system and user templates and their declared variables."""

from __future__ import annotations

import os
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

from assistant.errors import ConfigError

PROMPTS_ENV = "LITREVIEW_PROMPTS_DIR"
# In a checkout assistant/prompt_files is a symlink to the top-level prompts/ (the files you edit);
# building the wheel copies every prompts/*.toml through it into the package.
PACKAGED_PROMPTS = Path(__file__).resolve().parent / "prompt_files"


def prompts_dir() -> Path:
    """The prompts folder: $LITREVIEW_PROMPTS_DIR, or the one inside the package."""
    env = os.environ.get(PROMPTS_ENV)
    return Path(env) if env else PACKAGED_PROMPTS


@dataclass(frozen=True)
class Prompt:
    """A chat prompt loaded from a file, its variables checked."""

    name: str
    variables: frozenset[str]
    system: str
    user: str

    def template(self) -> ChatPromptTemplate:
        """The prompt as a LangChain chat template."""
        return ChatPromptTemplate.from_messages([("system", self.system), ("human", self.user)])

    def render(self, **values: str) -> tuple[str, str]:
        """System and user text with the variables filled in; a missing or extra one is an error."""
        given = set(values)
        if given != self.variables:
            raise ConfigError(
                f"prompt '{self.name}' takes {sorted(self.variables)}, got {sorted(given)}"
            )
        return self.system.format(**values), self.user.format(**values)


def placeholders(template: str) -> set[str]:
    """The {names} an f-string template uses."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field}
    except ValueError as exc:
        raise ConfigError(f"bad placeholder syntax: {exc}") from None


@cache
def load_prompt(name: str) -> Prompt:
    """prompts/NAME.toml, checked: declared variables equal the placeholders used."""
    path = prompts_dir() / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"prompt file {path} is missing") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"prompt file {path} cannot be read: {exc}") from None
    system, user, declared = data.get("system"), data.get("user"), data.get("variables")
    if not isinstance(system, str) or not isinstance(user, str) or not isinstance(declared, list):
        raise ConfigError(f"prompt file {path} needs 'variables' (a list), 'system' and 'user' (strings)")
    try:
        used = placeholders(system) | placeholders(user)
    except ConfigError as exc:
        raise ConfigError(f"prompt file {path}: {exc}") from None
    if used != set(declared):
        raise ConfigError(
            f"prompt file {path}: declares {sorted(declared)} but uses {sorted(used)}"
        )
    return Prompt(name=name, variables=frozenset(declared), system=system, user=user)
