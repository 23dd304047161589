"""The writing rules without a library: phrase-length cells, no span reused in a row, LaTeX decoded for
display, the writing suite's counts (template phrases, verbs, dangling pronouns, misplaced citations)."""

from __future__ import annotations

from assistant.evaluation.writing import dangling, has_verb, misplaced_markers, template_phrases
from assistant.writing.cell_spans import MAX_CELL_WORDS, overlaps, phrase_span
from assistant.writing.compare_fields import field_spec
from assistant.writing.latex import display_text, escape_latex
from assistant.writing.phrases import noun_phrases

ATTS = ("Across experiments on the MATH, AMC23, AIME24, and AIME25 datasets and across multiple draft-target model "
        "families, we show that ATTS delivers up to 56.7x speedup in test-time scaling and a 4.14x throughput "
        "improvement, while maintaining accurate control of the rejection rate.")
HNSW = ("We present a new approach for the approximate K-nearest neighbor search based on navigable small world "
        "graphs with controllable hierarchy (Hierarchical NSW, HNSW).")


def _cell(field: str, sentence: str, title: str = "", taken: tuple[tuple[int, int], ...] = ()) -> str:
    where = phrase_span(field_spec(field), sentence, title, taken)
    assert where is not None
    return sentence[where[0]:where[1]]


def test_a_dataset_cell_is_the_list_of_names() -> None:
    assert _cell("datasets/benchmarks", ATTS) == "MATH, AMC23, AIME24, and AIME25 datasets"


def test_a_result_cell_is_the_clause_with_the_numbers() -> None:
    value = _cell("key result", ATTS)
    assert "56.7x" in value and "4.14x" in value and len(value.split()) <= MAX_CELL_WORDS
    assert "MATH" not in value


def test_task_and_method_of_one_sentence_share_no_span() -> None:
    title = "Efficient and robust approximate nearest neighbor search using Hierarchical Navigable Small World graphs"
    method = phrase_span(field_spec("method"), HNSW, title)
    assert method is not None and "navigable small world graphs" in HNSW[method[0]:method[1]]
    assert not HNSW[method[0]:method[1]].startswith("We present")
    task = phrase_span(field_spec("task"), HNSW, title, (method,))
    assert task is not None and not overlaps(task, method, HNSW)


def test_a_cell_keeps_a_benchmark_version_and_does_not_end_on_a_pronoun() -> None:
    text = "Experiments on text-to-video benchmarks show a 15% gain on VBench 2.0."
    assert _cell("datasets/benchmarks", text) == "VBench 2.0"
    sentence = "We propose an iterative reinforced fine-tuning strategy to continually guide the model to alleviate it."
    assert not _cell("method", sentence).endswith(" it")


def test_a_name_inside_a_result_clause_is_not_a_reused_span() -> None:
    text = "Experiments show a notable 8.7% GenEval score improvement (from 0.69 to 0.75)."
    name = (text.index("GenEval"), text.index("GenEval") + len("GenEval"))
    assert not overlaps(name, (text.index("a notable"), len(text) - 1), text)
    assert overlaps((0, len(text)), (5, len(text) - 2), text)


def test_latex_escapes_are_decoded_for_display_and_escaped_again_for_latex() -> None:
    raw = r"gains of 3.2\% and a 2times speed-up over ``Weight Guide'' at sim30B; R\&D"
    shown = display_text(raw)
    assert shown == "gains of 3.2% and a 2× speed-up over “Weight Guide” at ~30B; R&D"
    assert r"3.2\%" in escape_latex(shown) and r"R\&D" in escape_latex(shown)
    assert display_text("42% of 10 times") == "42% of 10 times"  # a bare % and "10 times" stay


def test_noun_phrases_end_in_a_noun_and_may_join_two_runs() -> None:
    found = noun_phrases("We propose tool learning for language models, which improves robust retrieval.")
    assert "tool learning for language models" in found and "tool learning" in found
    assert not [p for p in found if p.endswith(("robust", "improves"))]


def test_the_writing_rules() -> None:
    assert template_phrases("Tool is what [1, 2, 3] are about.")
    assert template_phrases("Where [1] is about X, [2] is about Y.")
    assert not template_phrases("All three papers study tool learning for language models [1, 2, 3].")
    assert not has_verb("Agent and complex [1, 2].") and has_verb("The papers differ in approach: X [1].")
    assert dangling("It enables faster search [2].") and not dangling("The authors of [2] propose X.")
    assert misplaced_markers("Where [1] is about X, [2] is about Y.") == 2
    assert misplaced_markers("The authors of [1] propose X, as in [2] and [3].") == 0
