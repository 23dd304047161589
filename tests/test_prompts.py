"""Prompt files: every one in prompts/ loads; declared variables must equal the placeholders used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.prompts import PROMPTS_ENV, load_prompt, placeholders, prompts_dir

PROMPT_FILES = sorted((Path(__file__).resolve().parents[1] / "prompts").glob("*.toml"))


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """load_prompt is cached per name: clear it so each test reads the directory it set up."""
    load_prompt.cache_clear()
    yield
    load_prompt.cache_clear()


@pytest.fixture
def prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "prompts"
    folder.mkdir()
    monkeypatch.setenv(PROMPTS_ENV, str(folder))
    return folder


def write(folder: Path, name: str, variables: list[str], system: str, user: str) -> None:
    listed = ", ".join(f'"{v}"' for v in variables)
    (folder / f"{name}.toml").write_text(
        f'variables = [{listed}]\nsystem = """{system}"""\nuser = """{user}"""\n', encoding="utf-8"
    )


def test_the_chain_prompts_exist() -> None:
    assert {p.stem for p in PROMPT_FILES} >= {"answer", "answer_local", "condense"}
    assert prompts_dir().resolve() == PROMPT_FILES[0].parent  # the package's prompt_files is prompts/


@pytest.mark.parametrize("path", PROMPT_FILES, ids=lambda p: p.stem)
def test_every_prompt_file_loads_and_renders(path: Path) -> None:
    prompt = load_prompt(path.stem)
    assert prompt.name == path.stem and prompt.variables
    assert placeholders(prompt.system) | placeholders(prompt.user) == prompt.variables
    values = {v: f"<{v.upper()}>" for v in prompt.variables}
    system, user = prompt.render(**values)
    text = system + user
    assert all(f"<{v.upper()}>" in text for v in prompt.variables)
    assert "{" not in text and "}" not in text
    messages = prompt.template().invoke(values).to_messages()
    assert [m.type for m in messages] == ["system", "human"]
    assert [m.content for m in messages] == [system, user]


def test_the_answer_prompt_states_the_rules() -> None:
    system, user = load_prompt("answer").render(question="Q?", sources="[1] T\n<<<\nS\n>>>", n_sources="1")
    assert "NOT_IN_LIBRARY" in system and "numbers 1 to 1" in system
    assert "instructions" in system  # sources are data, not instructions
    assert user.endswith("Question: Q?") and "[1] T" in user


def test_a_prompt_from_the_env_folder(prompts: Path) -> None:
    write(prompts, "answer", ["question"], "Be brief.", "Q: {question}")
    prompt = load_prompt("answer")
    assert prompt.variables == frozenset({"question"})
    assert prompt.render(question="why?") == ("Be brief.", "Q: why?")


@pytest.mark.parametrize(
    ("variables", "system", "user", "declares", "uses"),
    [
        (["question"], "Sources: {sources}", "Q: {question}", "['question']", "['question', 'sources']"),
        (["question", "sources"], "Be brief.", "Q: {question}", "['question', 'sources']", "['question']"),
        (["question"], "Be brief.", "Q: {qestion}", "['question']", "['qestion']"),
        ([], "Be brief.", "Q: {question}", "[]", "['question']"),
    ],
)
def test_declared_variables_must_match_the_placeholders(prompts: Path, variables: list[str], system: str,
                                                       user: str, declares: str, uses: str) -> None:
    write(prompts, "broken", variables, system, user)
    with pytest.raises(ConfigError) as info:
        load_prompt("broken")
    message = str(info.value)
    assert str(prompts / "broken.toml") in message
    assert f"declares {declares} but uses {uses}" in message


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('variables = ["q"]\nsystem = "x"\n', "needs 'variables'"),  # no user template
        ('variables = "q"\nsystem = "x"\nuser = "{q}"\n', "needs 'variables'"),  # variables is not a list
        ('variables = [\nsystem = "x"\n', "cannot be read"),  # not TOML
        ('variables = ["q"]\nsystem = "x {"\nuser = "{q}"\n', "bad placeholder syntax"),
    ],
)
def test_malformed_prompt_files_are_config_errors(prompts: Path, content: str, why: str) -> None:
    (prompts / "bad.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=why):
        load_prompt("bad")


def test_a_missing_prompt_file(prompts: Path) -> None:
    with pytest.raises(ConfigError, match=r"prompt file .*nothing\.toml is missing"):
        load_prompt("nothing")


def test_render_with_a_missing_or_extra_variable_raises() -> None:
    prompt = load_prompt("answer")
    with pytest.raises(ConfigError, match=r"takes \['n_sources', 'question', 'sources'\], got \['question'\]"):
        prompt.render(question="q")
    with pytest.raises(ConfigError, match="got"):
        prompt.render(question="q", sources="s", n_sources="1", extra="x")
    with pytest.raises(KeyError):  # the LangChain template refuses a missing variable too
        prompt.template().invoke({"question": "q", "sources": "s"})


def test_values_with_braces_are_inserted_verbatim() -> None:
    # a source abstract may hold "{x}" or "{{": it is data, never formatted again
    _, user = load_prompt("condense").render(history="User: what is {x}?", question="and {{y}}?")
    assert "User: what is {x}?" in user and "and {{y}}?" in user
    messages = load_prompt("condense").template().invoke(
        {"history": "User: what is {x}?", "question": "and {{y}}?"}
    ).to_messages()
    assert "User: what is {x}?" in str(messages[1].content) and "and {{y}}?" in str(messages[1].content)


def test_load_prompt_is_cached_until_cleared(prompts: Path) -> None:
    write(prompts, "p", ["a"], "S", "{a}")
    first = load_prompt("p")
    write(prompts, "p", ["b"], "S", "{b}")
    assert load_prompt("p") is first
    load_prompt.cache_clear()
    assert load_prompt("p").variables == frozenset({"b"})
