"""Table fields for comparisons: what each column asks, cue words that mark an abstract sentence as
answering it, and verbatim spans cut from that sentence (a number never loses its unit)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.errors import LitReviewError

DEFAULT_FIELDS = ("task", "method", "datasets/benchmarks", "key result", "limitations")
MAX_FIELDS = 10
MAX_FIELD_CHARS = 40
SPAN_WORDS = 28  # a cell longer than this is cut at clause boundaries
STRONG_CUE = 0.15  # cues at least this heavy (names, numbers with units) decide a tight field's span

_I = re.IGNORECASE


@dataclass(frozen=True)
class FieldSpec:
    """One column: its name, what it asks (embedded), cue patterns and the not-stated threshold."""

    name: str
    descriptions: tuple[str, ...]  # compared with every abstract sentence (MiniLM); the best counts
    cues: tuple[tuple[re.Pattern[str], float], ...] = ()  # pattern, weight added when it matches
    min_score: float = 0.35  # below this the field is "not stated"
    lead: re.Pattern[str] | None = None  # words a span may skip ("we propose" before the method)
    prompt: str = ""  # how the field is explained to a model
    background: float = 0.0  # added for background: before the contribution, or about existing/prior work
    unnamed_data: float = 0.0  # added when a sentence names models or "various benchmarks" but no dataset
    # added for a sentence before, at and after the paper's contribution sentence ("we propose…")
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tight: bool = False  # the value is the shortest clauses holding the cues (benchmark names, numbers)
    # weights of similarity to the descriptions, similarity to the paper's title, and the cues
    weights: tuple[float, float, float] = (1.0, 0.0, 1.0)
    # what a cell of this field is (cell_spans.py): names, number, method, task, hedge; "" = clauses
    shape: str = ""


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _I)


_NUMBER_UNIT = (
    r"\d+(?:[.,]\d+)*\s?\\?(?:%|×|x\b|times\b|-?fold\b|points?\b|pp\b|percent\b|"
    r"(?:billion|million|trillion|thousand|[KMBT])\b|tokens\b|days\b|hours\b|ms\b|seconds\b)"
)
_DATA_WORDS = r"\b(?:datasets?|datastores?|benchmarks?|corpus|corpora|test sets?|suites?|leaderboards?|collections?)\b"
# Benchmarks common in the papers this tool is for: a name alone marks a sentence as naming its data.
_KNOWN_DATA = (
    r"\b(?:ImageNet|CIFAR|MNIST|SVHN|COCO|JFT|LAION|GLUE|SuperGLUE|SQuAD|MS ?MARCO|BEIR|MTEB|MMLU|GSM8K|MATH500|"
    r"HumanEval|MBPP|LiveCodeBench|SWE-?Bench|Hot[Pp]ot ?QA|Natural ?Questions|TriviaQA|WikiText|C4|The Pile|"
    r"RedPajama|BIG-?bench|HELM|GenEval|VBench|VerilogEval|AlpacaEval|MT-Bench|Arena|NYUD|ADE20K|Kinetics|"
    r"LibriSpeech|WMT|XSum|CNN/DailyMail|ARC|HellaSwag|Winogrande|PIQA|BoolQ|TruthfulQA|AIME|Codeforces)"
)
# A name with a digit, hyphen or plus ("CIFAR-10", "HumanEval+", "VBench 2.0") right after "on"/"using".
_DATA_AFTER_ON = r"\b(?:on|using|across|with)\s+(?:the\s+)?[A-Z][A-Za-z]*(?:[-+.]?[A-Z0-9][A-Za-z0-9]*)+\+?"
MODEL_NAMES = r"\b(?:GPT|LLaMA|Llama|Mistral|Qwen|CLIP|ViT|BERT|RoBERTa|T5|PaLM|Gemini|Claude|ResNet|OPT)[-\d.]*"

TASK = FieldSpec(
    "task",
    ("the problem or task this paper addresses", "we study the problem of", "the challenge the work tackles"),
    cues=(
        (_p(r"\b(?:problem|task|challenge|question|setting|goal)s?\b"), 0.06),
        (_p(r"\bwe (?:study|investigate|explore|consider|address|tackle|focus on|examine|revisit)\b"), 0.12),
        (_p(r"\b(?:aims? to|in order to|we ask|key question)\b"), 0.06),
    ),
    min_score=0.2,  # the dev set has no paper without a task: not calibrated, just low
    position=(0.1, 0.2, -0.1),
    weights=(0.5, 0.5, 1.0),  # the title names the problem more often than any description matches it
    lead=_p(r"^.*?\bwe (?:study|investigate|explore|consider|address|tackle|focus on|examine|revisit)\s+"),
    prompt="the problem or task the paper addresses",
    shape="task",
)
METHOD = FieldSpec(
    "method",
    ("the new method, model or framework proposed in this paper", "we propose a novel approach"),
    cues=(
        (_p(r"\bwe (?:propose|introduce|present|develop|design|build|describe)\b"), 0.25),
        (_p(r"\b(?:named|called|coined|dubbed)\b"), 0.1),
        (_p(r"\b(?:method|approach|framework|algorithm|technique|architecture|system|paradigm|model)\b"), 0.05),
    ),
    min_score=0.2,
    position=(-0.15, 0.1, 0.0),
    weights=(1.0, 0.25, 1.0),
    lead=_p(r"^.*?\bwe (?:propose|introduce|present|develop|design|build|describe)\s+"),
    prompt="the method, model or approach the paper proposes",
    shape="method",
)
DATASETS = FieldSpec(
    "datasets/benchmarks",
    ("experiments on benchmark datasets", "evaluated on the ImageNet and CIFAR-10 datasets"),
    cues=(
        (re.compile(_KNOWN_DATA), 0.45),
        (re.compile(_DATA_AFTER_ON), 0.15),
        (_p(r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten)\b[\w\s,-]{0,30}" + _DATA_WORDS), 0.3),
        (_p(_DATA_WORDS), 0.08),
        (_p(r"\b(?:workloads?|collected|curate[sd]?)\b"), 0.1),
    ),
    tight=True,
    min_score=0.6,  # calibrated on evals/compare_dev.jsonl (docs/compare.md)
    position=(-0.1, 0.0, 0.0),
    prompt="the datasets or benchmarks the paper uses (names only)",
    unnamed_data=-0.15,
    shape="names",
)
RESULT = FieldSpec(
    "key result",
    ("our method outperforms the baselines and improves accuracy by 10%", "experiments show the main result"),
    cues=(
        (_p(_NUMBER_UNIT), 0.3),
        (_p(r"\b(?:outperform\w*|surpass\w*|state[- ]of[- ]the[- ]art|SOTA|faster|speed-?up)\b"), 0.2),
        (_p(r"\b(?:improve\w*|achiev\w*|gains?|reduc\w*|better|superior|competitive|matches)\b"), 0.1),
        (_p(r"\b(?:results?|experiments?|evaluations?|we (?:show|find|demonstrate|observe))\b"), 0.06),
    ),
    tight=True,
    min_score=0.35,  # calibrated on evals/compare_dev.jsonl
    position=(-0.15, 0.0, 0.0),
    weights=(0.5, 0.25, 1.0),
    prompt="the paper's main result, with its numbers",
    shape="number",
)
LIMITATIONS = FieldSpec(
    "limitations",
    ("a limitation or weakness of the approach", "the models still fail and perform poorly"),
    cues=(
        (_p(r"\b(?:limitations?|limited|drawbacks?|weakness\w*|shortcomings?|fail\w*|struggle\w*|"
            r"suboptimal|poorly|worse|declines?|degrad\w*|biased|costly|expensive|sensitive|"
            r"remains? (?:challenging|difficult|an open|unclear)|open (?:problem|question|challenge)s?)\b"), 0.2),
        (_p(r"\b(?:however|but|although|despite|still|only)\b"), 0.05),
    ),
    min_score=0.5,  # calibrated on evals/compare_dev.jsonl
    prompt="a limitation, weakness or failure the paper states about its own approach or findings",
    background=-0.25,
    shape="hedge",
)
_DEFAULTS = {f.name: f for f in (TASK, METHOD, DATASETS, RESULT, LIMITATIONS)}
USER_MIN_SCORE = 0.3  # cosine of "the paper's <field>" with a sentence (not calibrated: no dev cells)


def field_spec(name: str) -> FieldSpec:
    """The spec for a default field, or a plain one for a user-chosen field."""
    known = _DEFAULTS.get(name.casefold())
    if known is not None:
        return known
    return FieldSpec(name, (f"the paper's {name}", f"{name} of this work"), min_score=USER_MIN_SCORE,
                     prompt=f"the paper's {name}")


def parse_fields(fields: str | Sequence[str] | None) -> list[str]:
    """Field names from "a,b,c" or a list; the five defaults when none are given."""
    if fields is None:
        return list(DEFAULT_FIELDS)
    raw = fields.split(",") if isinstance(fields, str) else [f for part in fields for f in part.split(",")]
    names: list[str] = []
    for name in (" ".join(f.split()) for f in raw):
        if not name:
            continue
        if len(name) > MAX_FIELD_CHARS:
            raise LitReviewError(f"field '{name[:20]}…' is longer than {MAX_FIELD_CHARS} characters")
        if name.casefold() not in (n.casefold() for n in names):
            names.append(name)
    if not names:
        raise LitReviewError("no fields given: e.g. --fields \"task,method,key result\"")
    if len(names) > MAX_FIELDS:
        raise LitReviewError(f"{len(names)} fields given; the limit is {MAX_FIELDS}")
    return names


_BACKGROUND = _p(r"\b(?:existing|current|prior|previous|conventional|traditional|recent|most|many)\b")
_GENERIC_DATA = _p(r"\b(?:various|several|multiple|diverse|a range of|a series of|extensive)\b[\w\s-]{0,20}"
                   r"(?:benchmarks?|datasets?|tasks?|settings)")


def cue_weight(spec: FieldSpec, text: str) -> float:
    """The weight of the field's cues in the text; a number with a unit counts up to three times."""
    total = 0.0
    for pattern, w in spec.cues:
        hits = len(pattern.findall(text)) if pattern.pattern == _NUMBER_UNIT else bool(pattern.search(text))
        total += w * min(hits, 3)
    return total


def cue_score(spec: FieldSpec, sentence: str, where: int) -> float:
    """How strongly the sentence's wording (and place: -1/0/1 = before/at/after the contribution) marks the field."""
    score = spec.weights[2] * cue_weight(spec, sentence) + spec.position[where + 1]
    if spec.unnamed_data and not re.search(_KNOWN_DATA, sentence):
        score += spec.unnamed_data * (bool(re.search(MODEL_NAMES, sentence)) + bool(_GENERIC_DATA.search(sentence)))
    if spec.background and (where < 0 or _BACKGROUND.search(sentence)):
        score += spec.background
    return score


# ---- spans -----------------------------------------------------------------------------------------

_CLAUSE_END = re.compile(r"[,;:](?=\s)|\s(?=--\s|—|\((?:\d|[ivx]+|[a-d])\)\s)|\s(?=(?:while|whereas|which|thereby)\b)")
_UNIT_AFTER = re.compile(
    r"^\s?\\?(?:%|×|x\b|times\b|-?fold\b|points?\b|pp\b|percent\b|billion\b|million\b|trillion\b|thousand\b|"
    r"[KMBT]\b|tokens?\b|parameters?\b|GB\b|TB\b|MB\b|ms\b|s\b|seconds?\b|hours?\b|days?\b|GPUs?\b)"
)
_NUMBER_AT_END = re.compile(r"\d(?:[.,]\d+)*$")
_WORD = re.compile(r"\S+")


def keep_units(sentence: str, start: int, end: int) -> int:
    """The span's end, moved past the rest of a number cut short ("42" of "42.9") and past a unit or
    scale word after a number ("8.7" → "8.7%", "560" → "560 billion")."""
    while 0 < end < len(sentence) and sentence[end - 1].isdigit() and re.match(r"[.,]?\d", sentence[end:]):
        end += 1 + (sentence[end] in ".,")
    while _NUMBER_AT_END.search(sentence[start:end]):
        unit = _UNIT_AFTER.match(sentence[end:])
        if not unit:
            break
        end += unit.end()
    return end


def clause_bounds(sentence: str) -> list[tuple[int, int]]:
    """Character ranges of the sentence's clauses (cut after , ; : and before which/while/whereas/--)."""
    bounds, start = [], 0
    for m in _CLAUSE_END.finditer(sentence):
        cut = m.end()
        if sentence[start:cut].strip():
            bounds.append((start, cut))
        start = cut
    if sentence[start:].strip():
        bounds.append((start, len(sentence)))
    return bounds


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def extractive_span(spec: FieldSpec, sentence: str) -> str:
    """A verbatim span of the sentence for the field: the clauses around its cue, at most ~SPAN_WORDS words."""
    text = sentence.strip()
    lo = _lead_end(spec, text)
    hi = len(text)
    if spec.tight and (tight := _tight_window(spec, text, lo)):
        lo, hi = tight
    elif _words(text[lo:hi]) > SPAN_WORDS:
        lo, hi = _best_window(spec, text, lo)
    hi = keep_units(text, lo, hi)
    return trim_span(text[lo:hi]) or text


def _lead_end(spec: FieldSpec, text: str) -> int:
    """Where the span may start: after "…we propose " for a method, else at the start."""
    if spec.lead is not None and (m := spec.lead.match(text)) and _words(text[m.end():]) >= 3:
        return m.end()
    return 0


def trim_span(span: str) -> str:
    """The span without surrounding space and a trailing comma, colon or full stop (kept after "al." or "etc.")."""
    span = span.strip().rstrip(",;:").strip()
    if span.endswith(".") and not re.search(r"\b(?:al|etc|e\.g|i\.e)\.$", span):
        span = span[:-1].rstrip()
    return span


def _best_window(spec: FieldSpec, text: str, lo: int) -> tuple[int, int]:
    """The run of clauses (from `lo`, within SPAN_WORDS words) holding the most cue weight; ties go to
    the earliest run, then the longest. One clause longer than that is cut around its strongest cue."""
    clauses = [(max(a, lo), b) for a, b in clause_bounds(text) if b > lo]
    best, best_key = clauses[0], (-9.0, 0, 0)
    for i in range(len(clauses)):
        for j in range(i, len(clauses)):
            a, b = clauses[i][0], clauses[j][1]
            words = _words(text[a:b])
            if j > i and words > SPAN_WORDS:
                break
            weight = sum(w for p, w in spec.cues if p.search(text[a:b]))
            key = (round(weight, 6), -a, words)
            if key > best_key:
                best, best_key = (a, b), key
    a, b = best
    if _words(text[a:b]) > SPAN_WORDS:  # one long clause: SPAN_WORDS words from just before its strongest cue
        starts = [m.start() for m in _WORD.finditer(text, a, b)]
        cue = max(((w, m.start()) for p, w in spec.cues if (m := p.search(text, a, b))), default=(0.0, a))[1]
        first = max(0, sum(1 for s in starts if s <= cue) - 1 - 6)
        first = min(first, max(0, len(starts) - SPAN_WORDS))
        a = starts[first]
        if first + SPAN_WORDS + 3 < len(starts):  # a tail of three words or fewer is kept
            b = starts[first + SPAN_WORDS]
    return a, b


def _tight_window(spec: FieldSpec, text: str, lo: int) -> tuple[int, int] | None:
    """The clauses from the first to the last match of a strong cue (benchmark names, numbers with units),
    or None when there is none; a short clause naming the benchmarks beats the whole sentence."""
    hits = [m.span() for p, w in spec.cues if w >= STRONG_CUE for m in p.finditer(text, lo)]
    clauses = [(max(a, lo), b) for a, b in clause_bounds(text) if b > lo]
    if not hits or not clauses:
        return None
    first, last = min(h[0] for h in hits), max(h[1] for h in hits)
    a = max(c[0] for c in clauses if c[0] <= first)
    b = min(c[1] for c in clauses if c[1] >= last)
    return (a, b) if _words(text[a:b]) <= SPAN_WORDS else None  # cues far apart: the usual window


def normalise_space(text: str) -> str:
    """Whitespace collapsed to single spaces."""
    return " ".join(text.split())


def find_verbatim(span: str, sentence: str) -> tuple[int, int] | None:
    """Where the span occurs in the sentence, whitespace-normalised (character range in the sentence)."""
    words = span.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, sentence)
    return (m.start(), m.end()) if m else None


_STOP = frozenset(["the", "a", "an", "of", "in", "on", "for", "to", "and", "or", "with", "by", "from", "that", "this",
                   "these", "we", "our", "is", "are", "be", "as", "at", "it", "its"])


def span_options(spec: FieldSpec, sentence: str) -> list[str]:
    """The spans a small model may choose for a cell, in reading order: runs of whole clauses of the
    sentence (after "we propose" for a method) of 3 to SPAN_WORDS words, and the extractive span;
    none holding a quote or backslash (escaped in JSON)."""
    text = sentence.strip()
    lo = _lead_end(spec, text)
    clauses = [(max(a, lo), b) for a, b in clause_bounds(text) if b > lo]
    found: list[tuple[int, str]] = []
    for i in range(len(clauses)):
        for j in range(i, len(clauses)):
            piece = trim_span(text[clauses[i][0]:clauses[j][1]])
            words = _words(piece)
            if words > SPAN_WORDS:
                break
            if words >= 3 or strong_hits(spec, piece):
                found.append((clauses[i][0], piece))
    extractive = extractive_span(spec, text)
    found.append((text.find(extractive), extractive))
    ordered = [piece for _, piece in sorted(found, key=lambda f: (f[0], len(f[1])))]
    usable = [o for o in ordered if informative(o) and '"' not in o and "\\" not in o]
    return list(dict.fromkeys(usable))


def strong_hits(spec: FieldSpec, text: str) -> list[str]:
    """The text's matches of the field's strong cues: numbers with units, benchmark names."""
    return [m.group(0).strip() for p, w in spec.cues if w >= STRONG_CUE for m in p.finditer(text)]


def informative(span: str) -> bool:
    """True when the span holds a number or a word that is not a stop word."""
    tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9.%-]*", span)
    return any(any(ch.isdigit() for ch in t) or (len(t) > 2 and t.casefold() not in _STOP) for t in tokens)
