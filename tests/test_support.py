"""The support check: each answer sentence must be backed by the sources it cites (real MiniLM, real idf)."""

from __future__ import annotations

import pytest
from helpers import SAMPLE_FILES

from assistant.embeddings import NamedEmbeddings
from assistant.evidence import TermWeights
from assistant.lexical import BM25Index
from assistant.settings import AnswerSettings
from assistant.sources.listing import parse_listing
from assistant.support import SupportChecker, answer_sentences
from assistant.text import split_sentences
from assistant.types import Paper, SentenceCheck, Source

INVERSE = "Inverse Scaling: When Bigger Isn't Better"
REWARD = "RewardDance: Reward Scaling in Visual Generation"
COPIED = ("We present empirical evidence of inverse scaling on 11 datasets collected by running a public contest, "
          "the Inverse Scaling Prize, with a substantial prize pool")


@pytest.fixture(scope="module")
def papers() -> dict[str, Paper]:
    """The sample library's papers by title, parsed from the listings (no embedding needed)."""
    return {p.title: p for f in SAMPLE_FILES for p in parse_listing(f).papers}


@pytest.fixture(scope="module")
def checker(papers: dict[str, Paper], embedder: NamedEmbeddings) -> SupportChecker:
    return SupportChecker(embedder, TermWeights(BM25Index(list(papers.values()))), AnswerSettings())


def excerpt(paper: Paper, *keys: str) -> str:
    """The abstract's sentences holding any of the keys, as evidence packing shows them (short: fast to embed)."""
    return " ".join(s for s in split_sentences(paper.abstract) if any(k in s for k in keys))


@pytest.fixture(scope="module")
def sources(papers: dict[str, Paper]) -> list[Source]:
    texts = [excerpt(papers[INVERSE], "Work on scaling laws", "11 datasets", "potential causes"),
             excerpt(papers[REWARD], "26 billion", "we introduce RewardDance")]
    return [Source(n=i, paper_id=papers[t].paper_id, title=t, text=text)
            for i, (t, text) in enumerate(zip([INVERSE, REWARD], texts, strict=True), start=1)]


def one(checker: SupportChecker, text: str, sources: list[Source]) -> SentenceCheck:
    checks = checker.check(text, sources)
    assert len(checks) == 1, checks
    return checks[0]


def test_the_sources_are_the_expected_papers(sources: list[Source]) -> None:
    assert f"{COPIED}." in sources[0].text and "26 billion parameters" in sources[1].text
    assert [len(split_sentences(s.text)) for s in sources] == [3, 2]


def test_a_copied_sentence_with_its_citation_passes(checker: SupportChecker, sources: list[Source]) -> None:
    check = one(checker, f"{COPIED} [1].", sources)
    assert check.supported and check.cites == [1] and check.reason == ""
    assert check.overlap == 1.0 and check.similarity > 0.95


def test_a_faithful_paraphrase_passes(checker: SupportChecker, sources: list[Source]) -> None:
    check = one(checker, "Language models show inverse scaling on 11 datasets from a public contest [1].", sources)
    assert check.supported, check


def test_an_invented_number_fails_naming_the_number(checker: SupportChecker, sources: list[Source]) -> None:
    check = one(checker, f"{COPIED.replace('11 datasets', '12 datasets')} [1].", sources)
    assert not check.supported
    assert check.reason == "number 12 is not in the cited source"


def test_a_number_written_with_another_scale_fails(checker: SupportChecker, sources: list[Source]) -> None:
    assert one(checker, "RewardDance scales reward models up to 26 billion parameters [2].", sources).supported
    check = one(checker, "RewardDance scales reward models up to 26 parameters [2].", sources)
    assert not check.supported and "26" in check.reason and "does not match" in check.reason


@pytest.mark.parametrize("text", [f"{COPIED}.", f"{COPIED} [7]."])  # [7] is no source: it cites nothing
def test_a_sentence_without_a_valid_citation_fails(checker: SupportChecker, sources: list[Source],
                                                   text: str) -> None:
    check = one(checker, text, sources)
    assert not check.supported and check.cites == [] and check.reason == "cites no source"


def test_a_sentence_citing_the_wrong_source_fails(checker: SupportChecker, sources: list[Source]) -> None:
    check = one(checker, f"{COPIED} [2].", sources)
    assert not check.supported and check.cites == [2]
    assert check.check == "attribution"
    assert check.reason == "attribution: it fits source [1] better than the one it cites"
    # without a number to give it away, the wording alone sinks it
    check = one(checker, "Language models can get worse at some tasks as they grow larger [2].", sources)
    assert not check.supported and check.check in ("attribution", "coverage")


@pytest.mark.parametrize(
    ("text", "check", "said"),
    [
        ("The authors do not present empirical evidence of inverse scaling on 11 datasets [1].", "polarity", "'not'"),
        ("Work on scaling laws has found that language models show predictable degradation of overall loss with "
         "increased scale [1].", "polarity", "degrad"),
        ("Language models consistently show inverse scaling on 11 datasets from a public contest [1].", "scope",
         "'consistently'"),
        ("RewardDance significantly surpasses state-of-the-art methods by a wide margin on every benchmark [2].",
         "scope", "'significantly'"),
        ("Language models show inverse scaling on 11 datasets from a public contest, including MMLU [1].", "novel",
         "'MMLU'"),
        ("Language models show inverse scaling on eleven datasets from the Inverse Scaling Prize [1].", "", ""),
        ("The contest gathered twelve datasets showing inverse scaling [1].", "number", "number 12"),
    ],
)
def test_each_meaning_check_names_itself(checker: SupportChecker, sources: list[Source], text: str, check: str,
                                         said: str) -> None:
    verdict = one(checker, text, sources)
    assert verdict.check == check and verdict.supported == (not check), verdict
    assert said in verdict.reason and verdict.why.startswith(check)


@pytest.mark.parametrize(
    "text",
    [
        "A public competition, the Inverse Scaling Prize, produced 11 datasets on which larger language models do "
        "worse [1].",
        "The Inverse Scaling paper reports evidence of inverse scaling on 11 datasets gathered through a public "
        "contest with a substantial prize pool [1].",
        "Notably, RewardDance scales reward models to as many as 26 billion parameters [2].",
    ],
)
def test_faithful_paraphrases_in_other_words_pass(checker: SupportChecker, sources: list[Source], text: str) -> None:
    verdict = one(checker, text, sources)
    assert verdict.supported, verdict


def test_the_reason_leads_with_the_check() -> None:
    low = SentenceCheck(text="x", supported=False, check="coverage", reason="too little of it is in the cited source")
    assert low.why == "coverage check: too little of it is in the cited source"
    assert SentenceCheck(text="x", supported=False, check="number", reason="number 3 is not in the cited source"
                         ).why == "number 3 is not in the cited source"


def test_added_claims_sink_a_sentence(checker: SupportChecker, sources: list[Source]) -> None:
    check = one(checker, "Inverse scaling appears on 11 datasets, and bananas cure quantum gravity in pineapples [1].",
                sources)
    assert not check.supported and check.overlap < 0.5


def test_a_sentence_may_draw_on_every_source_it_cites(checker: SupportChecker, sources: list[Source]) -> None:
    text = "Inverse scaling shows up on 11 datasets, and reward models were scaled up to 26 billion parameters"
    assert one(checker, f"{text} [1, 2].", sources).supported
    assert not one(checker, f"{text} [1].", sources).supported  # 26 is not in source 1


def test_every_sentence_gets_a_verdict(checker: SupportChecker, sources: list[Source]) -> None:
    text = (f"{COPIED} [1]. RewardDance scales reward models up to 26 billion parameters [2]. "
            "It also cures the common cold in 3 days [1].")
    checks = checker.check(text, sources)
    assert [c.supported for c in checks] == [True, True, False]
    assert [c.cites for c in checks] == [[1], [2], [1]]
    assert checks[2].reason == "number 3 is not in the cited source"
    assert checker.check("", sources) == []


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One claim [1].", ["One claim [1]."]),
        ("One claim [1]. Another one [2].", ["One claim [1].", "Another one [2]."]),
        ("One claim. [1]", ["One claim. [1]"]),
        ("One claim.\n[1].", ["One claim. [1]."]),
        ("One claim. [1] Another one. [2, 3]", ["One claim. [1]", "Another one. [2, 3]"]),  # markers after the stop
        ("- First point [1].\n- Second point [2].", ["First point [1].", "Second point [2]."]),
        ("1. First point [1].\n2) Second point [2].", ["First point [1].", "Second point [2]."]),
        ("Scores rose by 3.5 points [1]. Then 4 more [2].", ["Scores rose by 3.5 points [1].", "Then 4 more [2]."]),
        ("", []),
    ],
)
def test_answer_sentences(text: str, sentences: list[str]) -> None:
    assert answer_sentences(text) == sentences


def test_markers_after_the_full_stop_count_for_the_sentence_before(checker: SupportChecker,
                                                                   sources: list[Source]) -> None:
    # the extractive answer writes "Sentence. [1] Sentence. [2]": each sentence keeps its own citation
    text = f"{COPIED}. [1] RewardDance scales reward models up to 26 billion parameters. [2]"
    checks = checker.check(text, sources)
    assert [(c.cites, c.supported) for c in checks] == [([1], True), ([2], True)]


@pytest.mark.parametrize(("claim", "bad"), [
    ("Cybench has 4 professional-level tasks.", True),  # the source's 4 counts competitions, not tasks
    ("Cybench has 40 professional-level tasks.", False),
    ("The tasks come from 4 distinct competitions.", False),
    ("The benchmark holds 40 tasks in all.", False),  # the counted word may stand a few words later
])
def test_a_number_must_count_what_the_source_counts(claim: str, bad: bool) -> None:
    from assistant.support_checks import number_problem

    source = "Cybench includes 40 professional-level Capture the Flag (CTF) tasks from 4 distinct CTF competitions."
    assert bool(number_problem(claim, source)) is bad


@pytest.mark.parametrize(("text", "check"), [
    ("Both papers study scaling [1, 2].", ""),
    ("The two papers study scaling [1, 2].", ""),
    ("Two of the papers study scaling [1, 2].", ""),
    ("All three papers study scaling [1, 2].", "number"),  # a count the citations do not bear out
    ("All papers study scaling [1, 2].", "scope"),
])
def test_a_count_of_the_cited_papers_is_borne_out_by_the_citations(checker: SupportChecker, sources: list[Source],
                                                                    text: str, check: str) -> None:
    verdict = one(checker, text, sources)
    assert (verdict.supported, verdict.check) == (not check, check), verdict


def test_an_x_free_word_the_source_holds_negates_nothing(checker: SupportChecker) -> None:
    source = Source(n=1, paper_id="a", title="ALLoRA",
                    text="We propose a Dropout-free, scaling-free LoRA with an adaptive learning rate.")
    assert one(checker, "The paper proposes a Dropout-free, scaling-free LoRA with an adaptive learning rate [1].",
               [source]).supported
    invented = one(checker, "The paper proposes a LoRA that is not scaling-free [1].", [source])
    assert not invented.supported and invented.check == "polarity"
