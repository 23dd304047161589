"""Citation markers: parsed, checked against the numbered sources, invented ones removed and counted."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chain import REFUSAL_MARK, _Holdback
from assistant.citations import CITE, cited_in, marker_numbers, resolve_citations, strip_markers, to_citations
from assistant.types import Source

CODE_URL = "https://github.com/example/repo"


def sources(n: int, text: str = "Some abstract text.") -> list[Source]:
    return [Source(n=i, paper_id=f"p{i}", title=f"Paper {i}", text=text) for i in range(1, n + 1)]


FIVE = sources(5, f"We release the code at {CODE_URL} for everyone.")


@pytest.mark.parametrize(
    ("marker", "numbers"),
    [
        ("[1]", [1]),
        ("[1, 3]", [1, 3]),
        ("[1,3]", [1, 3]),
        ("[1; 3]", [1, 3]),
        ("[1-3]", [1, 2, 3]),
        ("[1–3]", [1, 2, 3]),  # an en dash
        ("[Source 2]", [2]),
        ("[source #4]", [4]),
        ("[2, 4-5]", [2, 4, 5]),
        ("[3-1]", [3]),  # a backwards range is just its first number
        ("[1-500]", [1]),  # so is an absurdly long one
    ],
)
def test_marker_numbers(marker: str, numbers: list[int]) -> None:
    assert CITE.fullmatch(marker), marker
    assert marker_numbers(marker) == numbers


@pytest.mark.parametrize("text", ["[a]", "[x1]", "[]", "(1)", "[see above]", "array[i]"])
def test_text_that_is_not_a_marker_is_left_alone(text: str) -> None:
    resolved = resolve_citations(f"Words {text} here [1].", FIVE)
    assert resolved.text == f"Words {text} here [1]." and resolved.removed == 0 and resolved.cited == (1,)


@pytest.mark.parametrize(
    ("text", "expected", "cited"),
    [
        ("Attention helps [1].", "Attention helps [1].", (1,)),
        ("Both agree [1, 3].", "Both agree [1, 3].", (1, 3)),
        ("Three agree [1-3].", "Three agree [1, 2, 3].", (1, 2, 3)),
        ("One says so [Source 2].", "One says so [2].", (2,)),
        ("Mixed [Source 4; 2].", "Mixed [4, 2].", (4, 2)),
        ("Twice [2] and again [2, 2].", "Twice [2] and again [2].", (2,)),
    ],
)
def test_valid_citations_are_kept_and_normalised(text: str, expected: str, cited: tuple[int, ...]) -> None:
    resolved = resolve_citations(text, FIVE)
    assert (resolved.text, resolved.cited, resolved.removed) == (expected, cited, 0)


@pytest.mark.parametrize(
    ("text", "expected", "cited", "removed"),
    [
        ("Invented [9].", "Invented.", (), 1),
        ("Partly invented [2, 9].", "Partly invented [2].", (2,), 1),
        ("A range past the end [4-8].", "A range past the end [4, 5].", (4, 5), 3),
        ("Zero is no source [0] but one is [1].", "Zero is no source but one is [1].", (1,), 1),
        ("A year is no source [2023].", "A year is no source.", (), 1),
        ("Nested [[9]7] markers.", "Nested markers.", (), 2),  # removing [9] must not leave a new [7]
    ],
)
def test_invented_numbers_are_removed_and_counted(text: str, expected: str, cited: tuple[int, ...],
                                                  removed: int) -> None:
    resolved = resolve_citations(text, FIVE)
    assert (resolved.text, resolved.cited, resolved.removed) == (expected, cited, removed)


@pytest.mark.parametrize(
    ("text", "expected", "removed"),
    [
        ("See https://evil.example/x for details [1].", "See for details [1].", 1),
        ("Read more (https://evil.example) here [1].", "Read more here [1].", 1),
        ("Visit www.evil.example now [1].", "Visit now [1].", 1),
        ("The [full paper](https://evil.example/p) says so [1].", "The full paper says so [1].", 1),
        ("It holds [1](https://evil.example/p).", "It holds [1].", 1),  # a linked citation stays a citation
        ("Two links https://a.example and https://b.example [2].", "Two links and [2].", 2),
    ],
)
def test_invented_links_are_removed_and_counted(text: str, expected: str, removed: int) -> None:
    resolved = resolve_citations(text, FIVE)
    assert (resolved.text, resolved.removed) == (expected, removed)
    assert "evil" not in resolved.text and "http" not in resolved.text


@pytest.mark.parametrize(
    "text",
    [
        f"The code is at {CODE_URL} [1].",
        f"The code is released at {CODE_URL}. [1]",  # the full stop is not part of the link
        f"The code is released at {CODE_URL}, openly [1].",
        f"The code is released ({CODE_URL}) [1].",
        f"The [code]({CODE_URL}) is released [1].",
    ],
)
def test_links_the_sources_hold_are_kept(text: str) -> None:
    resolved = resolve_citations(text, FIVE)
    assert resolved.removed == 0 and CODE_URL in resolved.text and resolved.text == text


def test_a_link_is_checked_against_the_sources_text_not_its_domain() -> None:
    resolved = resolve_citations(f"See {CODE_URL}-fork and {CODE_URL}/../evil [1].", FIVE)
    assert resolved.removed == 2 and "github" not in resolved.text


def test_cited_is_in_order_of_first_appearance() -> None:
    resolved = resolve_citations("B [3]. A [1, 3]. C [9]. D [2].", FIVE)
    assert resolved.cited == (3, 1, 2) and resolved.removed == 1


def test_no_sources_means_every_citation_is_removed() -> None:
    resolved = resolve_citations("Claim [1]. Other claim [2-3].", [])
    assert (resolved.text, resolved.cited, resolved.removed) == ("Claim. Other claim.", (), 3)


def test_to_citations_order_dedupe_and_unknown_numbers() -> None:
    srcs = [
        Source(n=1, paper_id="a", title="Paper A", text="x"),
        Source(n=2, paper_id="b", title="Paper B", text="y"),
        Source(n=3, paper_id="a", title="Paper A", text="z"),  # the same paper shown twice
    ]
    cites = to_citations([2, 3, 9, 1, 2], srcs)
    assert [(c.n, c.paper_id, c.title) for c in cites] == [(2, "b", "Paper B"), (3, "a", "Paper A")]
    assert to_citations([], srcs) == []


def test_cited_in_and_strip_markers() -> None:
    sentence = "Scaling helps [2, 1] and more [1-3]."
    assert cited_in(sentence) == [2, 1, 3]
    assert " ".join(strip_markers(sentence).split()) == "Scaling helps and more."
    assert cited_in("No citations here.") == []


# -- properties --------------------------------------------------------------------------------------

_TOKENS = st.one_of(
    st.sampled_from(["word", "the", "model", "scales", ".", ",", " ", "  ", "\n", "[", "]", "-", ";", "(", ")",
                     "Source", "source #", "https://evil.example/x", " www.evil.example", CODE_URL, "](", "–"]),
    st.integers(min_value=0, max_value=40).map(str),
    st.builds(lambda ns: "[" + ", ".join(map(str, ns)) + "]", st.lists(st.integers(0, 40), min_size=1, max_size=4)),
    st.builds(lambda a, b: f"[{a}-{b}]", st.integers(0, 30), st.integers(0, 30)),
    st.builds(lambda n: f"[Source {n}]", st.integers(0, 30)),
    st.builds(lambda label, n: f"[{label}](https://evil.example/{n})", st.sampled_from(["x", "1", "9"]),
              st.integers(0, 9)),
)
_TEXTS = st.lists(_TOKENS, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, n_sources=st.integers(min_value=0, max_value=8))
def test_resolved_text_never_cites_outside_the_sources(text: str, n_sources: int) -> None:
    srcs = sources(n_sources, f"Shown text with {CODE_URL} in it.")
    valid = set(range(1, n_sources + 1))
    resolved = resolve_citations(text, srcs)
    left = [n for m in CITE.finditer(resolved.text) for n in marker_numbers(m.group(0))]
    assert set(left) <= valid, (text, resolved.text)
    assert set(resolved.cited) <= valid
    assert set(left) == set(resolved.cited)
    assert "evil" not in resolved.text
    # resolving again changes nothing: the result is already clean
    again = resolve_citations(resolved.text, srcs)
    assert (again.text, again.removed, set(again.cited)) == (resolved.text, 0, set(resolved.cited))


@settings(max_examples=200, deadline=None)
@given(
    numbers=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=12),
    n_sources=st.integers(min_value=1, max_value=8),
)
def test_removed_counts_exactly_the_invented_numbers(numbers: list[int], n_sources: int) -> None:
    text = " ".join(f"Claim {i} [{n}]." for i, n in enumerate(numbers))  # one number per marker
    resolved = resolve_citations(text, sources(n_sources))
    invented = [n for n in numbers if not 1 <= n <= n_sources]
    assert resolved.removed == len(invented)
    assert list(resolved.cited) == list(dict.fromkeys(n for n in numbers if 1 <= n <= n_sources))
    assert re.findall(r"\[(\d+)\]", resolved.text) == [str(n) for n in numbers if 1 <= n <= n_sources]


# -- what is streamed is what the answer says ---------------------------------------------------------


def stream(text: str, cuts: list[int], srcs: list[Source]) -> list[str]:
    """The pieces a token sink receives when the text arrives cut at the given offsets."""
    got: list[str] = []
    held = _Holdback(got.append, srcs)
    bounds = [0, *sorted({c % (len(text) + 1) for c in cuts}), len(text)]
    for a, b in itertools.pairwise(bounds):
        held.feed(text[a:b])
    held.close()
    return got


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
       n_sources=st.integers(min_value=0, max_value=8))
def test_streamed_text_is_the_resolved_text(text: str, cuts: list[int], n_sources: int) -> None:
    srcs = sources(n_sources, f"Shown text with {CODE_URL} in it.")
    assert "".join(stream(text, cuts, srcs)) == resolve_citations(text, srcs).text


def test_invented_citations_and_links_are_never_streamed() -> None:
    text = "Attention helps [1, 9] a lot [Source 7]. See [this](https://evil.example/x) and https://evil.example/y [2]."
    pieces = stream(text, list(range(0, len(text), 3)), FIVE)  # three characters at a time
    assert len(pieces) > 5
    assert "".join(pieces) == "Attention helps [1] a lot. See this and [2]."
    assert not any("9" in p or "7" in p or "evil" in p for p in pieces)


@pytest.mark.parametrize("text", [REFUSAL_MARK, f"  {REFUSAL_MARK}.", f"Some text. {REFUSAL_MARK}"])
def test_the_refusal_mark_is_never_streamed(text: str) -> None:
    pieces = stream(text, list(range(len(text))), FIVE)  # one character at a time
    assert REFUSAL_MARK not in "".join(pieces) and "NOT_IN" not in "".join(pieces)


def test_text_that_only_starts_like_the_mark_is_streamed_at_the_end() -> None:
    assert "".join(stream("NOT", [1, 2], FIVE)) == "NOT"
    assert "".join(stream("NOT quite [1].", [1, 2, 5], FIVE)) == "NOT quite [1]."
