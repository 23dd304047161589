"""Builds evals/support_dev.jsonl and evals/support_test.jsonl: claims about the sample abstracts for the
support check, each with the numbered papers put before the model and the verdict it should get.

Run: python evals/make_support_set.py   (deterministic: same corpus → same files)

A paper goes to the test split when sha1(title) % 3 == 0, else to dev, so no abstract is in both.
Kinds: "faithful" (a paraphrase that keeps the meaning: compressed, reordered, "The X paper reports…",
two sentences combined, GPT-style prose; rule-made here, plus the hand-written ones in
evals/support_hand.jsonl) and five corruptions of such paraphrases: "number" (a value changed),
"polarity" (a negation inserted or removed, a direction word flipped), "scope" (a quantifier or
intensifier the source lacks), "novel" (a named thing or a number with a unit from another abstract)
and "attribution" (the citation moved to a neighbouring paper of the context).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.sources.listing import parse_listing  # noqa: E402
from assistant.text import split_sentences  # noqa: E402
from assistant.types import Paper  # noqa: E402

EVALS = ROOT / "evals"
HAND = EVALS / "support_hand.jsonl"
WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]+")
STOP = frozenset([
    "a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "by", "from", "as", "at", "is", "are",
    "was", "were", "be", "been", "this", "that", "these", "those", "we", "our", "us", "it", "its", "their",
    "they", "them", "which", "while", "can", "could", "may", "will", "into", "than", "then", "also", "such",
    "via", "over", "under", "between", "both", "each", "more", "most", "other", "some", "not", "no", "only",
    "new", "using", "use", "based", "show", "shows", "propose", "proposes", "paper", "approach", "method",
    "methods", "model", "models", "results", "task", "tasks", "data",
])


def h(*parts: object) -> int:
    """A stable hash of the parts (the generator's only source of choice)."""
    return int(hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest(), 16)


def papers() -> list[Paper]:
    """The sample's unique papers, by title."""
    seen: dict[str, Paper] = {}
    for f in sorted((ROOT / "assistant" / "data" / "sample").glob("*.txt")):
        for p in parse_listing(f).papers:
            seen.setdefault(p.title, p)
    return [seen[t] for t in sorted(seen)]


def words(text: str) -> set[str]:
    """Lower-cased content words."""
    return {w.lower() for w in WORD.findall(text) if w.lower() not in STOP and len(w) > 2}


def neighbours(all_papers: list[Paper], n: int = 2) -> dict[str, list[Paper]]:
    """Each paper's n most similar papers (Jaccard of content words): the context a retriever would bring."""
    bags = {p.title: words(p.title + " " + p.abstract) for p in all_papers}
    out = {}
    for p in all_papers:
        a = bags[p.title]
        scored = sorted(((len(a & bags[q.title]) / len(a | bags[q.title]), q.title) for q in all_papers
                         if q.title != p.title), reverse=True)
        by_title = {q.title: q for q in all_papers}
        out[p.title] = [by_title[t] for _, t in scored[:n]]
    return out


# ---------------------------------------------------------------- paraphrase rules

LEAD_INS = re.compile(
    r"^(?:However|Moreover|Furthermore|Additionally|In addition|Specifically|In particular|Notably|Finally|"
    r"Importantly|Overall|Consequently|As a result|To this end|To address this|To address these (?:issues|"
    r"challenges|limitations)|In this (?:paper|work|study)|Here|Concretely|Empirically|Experimentally|"
    r"In experiments|Through extensive experiments|Extensive experiments show that|Experiments show that|"
    r"Our experiments show that|Our results show that|We show that|We find that|We demonstrate that),?\s+",
    re.IGNORECASE)
PRONOUNS = [(r"\bWe\b", "The authors"), (r"\bwe\b", "the authors"), (r"\bOur\b", "Their"), (r"\bour\b", "their"),
            (r"\bus\b", "them"), (r"\bourselves\b", "themselves")]
SYNONYMS = [("propose", "introduce"), ("proposes", "introduces"), ("proposed", "introduced"),
            ("demonstrate", "show"), ("demonstrates", "shows"), ("demonstrated", "shown"),
            ("utilize", "use"), ("utilizes", "uses"), ("utilizing", "using"), ("leverage", "exploit"),
            ("leverages", "exploits"), ("leveraging", "exploiting"), ("novel", "new"), ("enables", "allows"),
            ("enable", "allow"), ("enabling", "allowing"), ("existing", "prior"), ("employs", "uses"),
            ("employ", "use"), ("exhibit", "display"), ("exhibits", "displays"), ("remarkable", "impressive"),
            ("crucial", "essential"), ("comprehensive", "thorough"), ("investigate", "study"),
            ("investigates", "studies"), ("examine", "study"), ("examines", "studies"), ("numerous", "many"),
            ("various", "diverse"), ("approach", "method"), ("framework", "system"), ("challenging", "difficult"),
            ("capabilities", "abilities"), ("conduct", "carry out"), ("obtain", "get"), ("obtains", "gets"),
            ("facilitates", "supports"), ("facilitate", "support"), ("substantial", "considerable"),
            ("however", "yet"), ("thereby", "thus"), ("primarily", "mainly"), ("commonly", "often"),
            ("consists of", "is made of"), ("in order to", "to"), ("a variety of", "a range of"),
            ("designed to", "built to"), ("aims to", "seeks to"), ("allows", "lets"), ("tackle", "address")]
GPT_OPENERS = ["Notably, ", "In particular, ", "Importantly, ", "Put simply, ", "In short, ", "Crucially, "]


def sub_words(text: str, pairs: list[tuple[str, str]]) -> tuple[str, int]:
    """Replace whole words (case kept for a capital first letter); how many were replaced."""
    n = 0
    for old, new in pairs:
        def repl(m: re.Match[str], new: str = new) -> str:
            return new[0].upper() + new[1:] if m.group(0)[0].isupper() else new
        text, k = re.subn(rf"\b{re.escape(old)}\b", repl, text, flags=re.IGNORECASE)
        n += k
    return text, n


def third_person(text: str) -> str:
    """"We/our" → "the authors/their"."""
    for pat, new in PRONOUNS:
        text = re.sub(pat, new, text)
    return text


def body(s: str) -> str:
    """The sentence without its final full stop."""
    return s.rstrip().rstrip(".").rstrip()


def lower_first(s: str) -> str:
    """A lower-case first letter unless the first word is an acronym or a name with inner capitals or digits."""
    first = s.split(" ", 1)[0]
    return s[0].lower() + s[1:] if first[:1].isupper() and first[1:].islower() else s


def short_name(p: Paper) -> str:
    """How a writer names the paper: the part before a colon when it is short, else the quoted title."""
    head = p.title.split(":")[0].strip()
    if ":" in p.title and len(head.split()) <= 4:
        return head
    return f'"{p.title}"'


def compress(s: str) -> str | None:
    """Drop lead-ins, parentheses without numbers and a trailing subordinate clause."""
    out = LEAD_INS.sub("", s)
    out = LEAD_INS.sub("", out)
    out = re.sub(r"\s*\((?![^)]*\d)[^)]*\)", "", out)
    cut = re.search(r",\s+(?:which|while|thereby|enabling|allowing|making|leading to|resulting in|"
                    r"where|ensuring|providing|offering|highlighting|demonstrating|showing|revealing)\b", out)
    if cut and len(out[: cut.start()].split()) >= 8:
        out = out[: cut.start()]
    out = third_person(body(out))
    out = out[0].upper() + out[1:]
    if len(out.split()) > 0.85 * len(s.split()) or len(out.split()) < 7:
        return None
    return out


REORDER = re.compile(r"^(By|To|Through|Using|With|Unlike|Compared (?:to|with)|Building on|Leveraging|Across|"
                     r"Beyond|Without|Despite|On|In|For|After|When|Based on|Inspired by|Motivated by)"
                     r"\s+([^,]{4,90}),\s+(.{20,})$")


def reorder(s: str) -> str | None:
    """"By doing X, we do Y." → "The authors do Y by doing X"."""
    m = REORDER.match(body(LEAD_INS.sub("", s)))
    if not m or (m.group(1) == "In" and m.group(2).split()[0].lower() in {"this", "particular"}):
        return None
    main = third_person(m.group(3))
    main = main[0].upper() + main[1:]
    return f"{main} {m.group(1).lower()} {third_person(m.group(2))}"


def reports(s: str, p: Paper, n: int) -> str:
    """"The X paper reports that …"."""
    inner = third_person(body(LEAD_INS.sub("", s)))
    inner = lower_first(inner)
    frames = [f"The {short_name(p)} paper reports that {inner}", f"According to {short_name(p)}, {inner}",
              f"The authors of {short_name(p)} state that {inner}"]
    return frames[n % len(frames)]


def gpt(s: str, n: int) -> str | None:
    """GPT-style prose: synonyms, an opener, the third person."""
    out, k = sub_words(third_person(body(LEAD_INS.sub("", s))), SYNONYMS)
    if k < 2:
        return None
    return GPT_OPENERS[n % len(GPT_OPENERS)] + lower_first(out)


def combined(s1: str, s2: str) -> str | None:
    """Two neighbouring sentences, compressed, as one."""
    a = compress(s1) or third_person(body(LEAD_INS.sub("", s1)))
    b = compress(s2) or third_person(body(LEAD_INS.sub("", s2)))
    if len(a.split()) + len(b.split()) > 50:
        return None
    return f"{a}; {lower_first(b)}" if h(s1) % 2 else f"{a}, and {lower_first(b)}"


# ---------------------------------------------------------------- corruption rules

NUMBER = re.compile(r"(?<![A-Za-z\-.\d])(\d+(?:\.\d+)?)(?![\d.]*[A-Za-z]*-?\d)")
FLIPS = [("improves", "degrades"), ("improve", "degrade"), ("improved", "degraded"), ("improving", "degrading"),
         ("increases", "decreases"), ("increase", "decrease"), ("increased", "decreased"),
         ("increasing", "decreasing"), ("reduces", "increases"), ("reduce", "increase"), ("reduced", "increased"),
         ("reducing", "increasing"), ("decreases", "increases"), ("higher", "lower"), ("lower", "higher"),
         ("faster", "slower"), ("slower", "faster"), ("fewer", "more"), ("better", "worse"),
         ("outperforms", "underperforms"), ("outperform", "underperform"), ("outperforming", "underperforming"),
         ("surpasses", "falls behind"), ("boosts", "hurts"), ("enhances", "weakens"), ("enhance", "weaken"),
         ("mitigates", "worsens"), ("mitigate", "worsen"), ("alleviates", "aggravates"), ("accelerates", "slows"),
         ("larger", "smaller"), ("superior", "inferior"), ("efficient", "inefficient"), ("effective", "ineffective"),
         ("stable", "unstable"), ("consistent", "inconsistent"), ("robust", "fragile"), ("gains", "losses"),
         ("more", "less"), ("strong", "weak"), ("stronger", "weaker"), ("minimal", "substantial")]
VERBS = ["achieves", "improves", "outperforms", "reduces", "enables", "shows", "demonstrates", "yields",
         "provides", "requires", "allows", "learns", "generalizes", "surpasses", "matches", "captures",
         "maintains", "preserves", "supports", "produces", "generates", "leads", "exhibits", "remains",
         "introduces", "uses", "relies", "increases", "benefits", "helps", "scales", "performs"]
AUX = re.compile(r"\b(can|could|will|is|are|was|were|should|does|do)\b")
UNNEGATE = [(r"\bcannot\b", "can"), (r"\b(is|are|was|were|do|does|did|can|could|will) not\b", r"\1"),
            (r"\bdoes not (\w+)", r"\1s"), (r"\bwithout\b", "with"), (r"\bfail(s)? to\b", r"manage\1 to"),
            (r"\bno longer\b", "still"), (r"\bnever\b", "always")]
SCOPE_ADVERBS = ["consistently", "always", "significantly", "dramatically", "universally", "invariably"]
SCOPE_TAILS = [" across all benchmarks", " for every model and task", " in all settings",
               " by a wide margin", " on every evaluated dataset", " without exception"]


def base_form(verb: str) -> str:
    """"matches" → "match", "achieves" → "achieve"."""
    for suffix in ("ches", "shes", "sses", "xes"):
        if verb.endswith(suffix):
            return verb[:-2]
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    return verb[:-1] if verb.endswith("s") else verb


def number_corruption(claim: str, abstract: str, seed: int) -> str | None:
    """One number of the claim changed to a value the abstract does not state."""
    nums = [m for m in NUMBER.finditer(claim) if m.group(1) in abstract]
    if not nums:
        return None
    m = nums[seed % len(nums)]
    v = m.group(1)
    if "." in v:
        head, tail = v.split(".")
        new = f"{head}.{tail[:-1]}{(int(tail[-1]) + 3) % 10}"
    else:
        x = int(v)
        new = str([x + 1, x * 2, x + 3, max(x - 1, 0) if x > 2 else x + 5][seed % 4])
    if new == v or re.search(rf"(?<![\d.]){re.escape(new)}(?![\d])", abstract):
        new = str(int(float(v)) + 7)
        if new in abstract:
            return None
    return claim[: m.start(1)] + new + claim[m.end(1):]


def polarity_corruption(claim: str, seed: int) -> str | None:
    """A negation inserted or removed, or a direction word flipped."""
    options: list[Callable[[str], str | None]] = []

    def flip(c: str) -> str | None:
        for old, new in FLIPS:
            if re.search(rf"\b{old}\b", c, re.IGNORECASE):
                out, _ = sub_words(c, [(old, new)])
                return out
        return None

    def negate(c: str) -> str | None:
        for verb in VERBS:
            m = re.search(rf"(?<!\bnot )\b{verb}\b", c)
            if m:
                return c[: m.start()] + f"does not {base_form(verb)}" + c[m.end():]
        m = AUX.search(c)
        if m:
            return c[: m.end()] + (" not" if m.group(1) != "can" else "not") + c[m.end():]
        return None

    def unnegate(c: str) -> str | None:
        for pat, new in UNNEGATE:
            if re.search(pat, c):
                return re.sub(pat, new, c, count=1)
        return None

    options = [flip, negate] if seed % 2 else [negate, flip]
    options.insert(0, unnegate)
    for f in options:
        out = f(claim)
        if out and out != claim:
            return out
    return None


def scope_corruption(claim: str, source: str, seed: int) -> str | None:
    """A quantifier or intensifier added that the source sentence lacks."""
    low = source.lower()
    choice = seed % 4
    m = re.search(r"\b(on|across|over) (?:\w+ ){0,2}?(benchmarks|datasets|tasks|settings|languages|domains)\b", claim)
    if choice == 0 and m and "all" not in low:
        return claim[: m.start()] + f"{m.group(1)} all standard {m.group(2)}" + claim[m.end():]
    verbs = [v for v in VERBS if re.search(rf"\b{v}\b", claim)]
    if choice in (0, 1) and verbs:
        adverb = SCOPE_ADVERBS[seed % len(SCOPE_ADVERBS)]
        if adverb not in low:
            return re.sub(rf"\b{verbs[0]}\b", f"{adverb} {verbs[0]}", claim, count=1)
    if choice == 2 and re.search(r"\b(performance|results|accuracy)\b", claim) and "state-of-the-art" not in low:
        return re.sub(r"\b(performance|results|accuracy)\b", r"state-of-the-art \1", claim, count=1)
    tail = SCOPE_TAILS[seed % len(SCOPE_TAILS)]
    if tail.split()[-1] in low:
        return None
    return claim + tail


NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z][A-Za-z]*|[A-Z]{2,}[a-z]*|[A-Za-z]+-?\d+[A-Za-z]*)(?:-[A-Za-z0-9.]+)?\b")
NOVEL_TEMPLATES = [" on {x}", ", as measured on {x}", " when evaluated on {x}", " using {x}",
                   " compared with {x}", ", building on {x}"]
UNITS = ["with 7B parameters", "in under 3 hours of training", "on 64 GPUs", "with a 128K-token context",
         "using 1.2M training examples", "at 40% lower cost"]


def names_in(text: str) -> set[str]:
    """Named things: acronyms, CamelCase, names with digits."""
    return {m.group(0) for m in NAME.finditer(text) if len(m.group(0)) >= 3 and not m.group(0).isdigit()}


def novel_corruption(claim: str, abstract: str, others: list[str], seed: int) -> str | None:
    """A named thing (or a number with a unit) no cited source contains, added to the claim."""
    low = abstract.lower()
    if seed % 5 == 0:
        unit = UNITS[seed % len(UNITS)]
        return f"{claim} {unit}" if unit.split()[1].lower() not in low else None
    pool = sorted({n for o in others for n in names_in(o) if n.lower() not in low})
    if not pool:
        return None
    name = pool[seed % len(pool)]
    return claim + NOVEL_TEMPLATES[seed % len(NOVEL_TEMPLATES)].format(x=name)


# ---------------------------------------------------------------- assembling the cases

GOOD = re.compile(r"^[A-Z][^\n]{40,320}[.]$")


def usable(s: str) -> bool:
    """A plain declarative sentence of 8-45 words."""
    return bool(GOOD.match(s)) and 8 <= len(s.split()) <= 45 and "?" not in s and "http" not in s


def cite(text: str, n: int) -> str:
    """The claim with a capital first letter, its citation and full stop."""
    text = body(text)
    return f"{text[0].upper()}{text[1:]} [{n}]."


def build() -> dict[str, list[dict[str, object]]]:
    """Cases per split."""
    all_papers = papers()
    near = neighbours(all_papers)
    out: dict[str, list[dict[str, object]]] = {"dev": [], "test": []}
    counters: dict[str, int] = {}
    for p in all_papers:
        split = "test" if h(p.title) % 3 == 0 else "dev"
        context = [p, *near[p.title]]
        order = sorted(context, key=lambda q: h(p.title, q.title))
        titles = [q.title for q in order]
        n_of = {q.title: i + 1 for i, q in enumerate(order)}
        sents = [s for s in split_sentences(p.abstract) if usable(s)]
        if not sents:
            continue
        others = [q.abstract for q in all_papers if q.title not in titles]
        others = [others[(h(p.title, i) % len(others))] for i in range(6)]

        def add(kind: str, style: str, claim: str, origin: list[str], cited: int | None = None,
                split: str = split, titles: list[str] = titles, own: int = n_of[p.title]) -> None:
            counters[kind] = counters.get(kind, 0) + 1
            out[split].append({"id": f"{kind[:3]}{counters[kind]:04d}", "kind": kind, "style": style,
                               "claim": cite(claim, cited or own), "sources": titles,
                               "cited": [cited or own], "from": origin, "made": "rule"})

        # faithful: up to two styles per paper, on different sentences
        made: list[tuple[str, str]] = []
        styles: list[tuple[str, Callable[[str], str | None]]] = [
            ("compressed", compress), ("reordered", reorder), ("reports", lambda s, p=p: reports(s, p, h(s))),
            ("gpt", lambda s: gpt(s, h(s)))]
        start = h(p.title) % len(styles)
        for i, s in enumerate(sents[:4]):
            for j in range(len(styles)):
                style, f = styles[(start + i + j) % len(styles)]
                para = f(s)
                if para and para != body(s):
                    made.append((s, para))
                    if len([m for m in made]) <= 2:
                        add("faithful", style, para, [s])
                    break
        idx = [i for i in range(len(sents) - 1)]
        if idx and h(p.title, "combine") % 2 == 0:
            i = idx[h(p.title) % len(idx)]
            para = combined(sents[i], sents[i + 1])
            if para:
                add("faithful", "combined", para, [sents[i], sents[i + 1]])
        # corruptions of the rule-made paraphrases (or of the sentence itself, third person)
        bases = made or [(s, third_person(body(s))) for s in sents[:2]]
        bases += [(s, third_person(body(LEAD_INS.sub("", s)))) for s in sents if s not in {b[0] for b in bases}]
        seed = h(p.title, "corrupt")
        for s, para in bases:
            bad = number_corruption(para, p.abstract, seed)
            if bad:
                add("number", "rule", bad, [s])
                break
        s, para = bases[seed % len(bases)]
        bad = polarity_corruption(para, seed)
        if bad:
            add("polarity", "rule", bad, [s])
        s, para = bases[(seed + 1) % len(bases)]
        bad = scope_corruption(para, s, seed)
        if bad:
            add("scope", "rule", bad, [s])
        s, para = bases[(seed + 2) % len(bases)]
        bad = novel_corruption(para, p.abstract, others, seed)
        if bad:
            add("novel", "rule", bad, [s])
        s, para = bases[(seed + 3) % len(bases)]
        wrong = near[p.title][seed % 2]
        add("attribution", "rule", para, [s], cited=n_of[wrong.title])
    by_title = {p.title: p for p in all_papers}
    for i, hand in enumerate(load_hand(), start=1):
        p = by_title[hand["paper"]]
        split = "test" if h(p.title) % 3 == 0 else "dev"
        order = sorted([p, *near[p.title]], key=lambda q: h(p.title, q.title))
        titles = [q.title for q in order]
        target = near[p.title][0] if hand.get("cite") == "neighbour" else p
        n = titles.index(target.title) + 1
        out[split].append({"id": f"hand{i:03d}", "kind": hand["kind"], "style": "hand",
                           "claim": hand["claim"].replace("[*]", f"[{n}]"), "sources": titles, "cited": [n],
                           "from": [], "made": "hand"})
    return out


def load_hand() -> list[dict[str, str]]:
    """The hand-written cases: a paper's title, the kind, the claim with "[*]" for its citation and
    "cite": "neighbour" when it is to cite the paper's nearest neighbour instead."""
    return [json.loads(line) for line in HAND.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    """Write both splits and print their counts per kind."""
    data = build()
    for split, cases in data.items():
        path = EVALS / f"support_{split}.jsonl"
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
        counts: dict[str, int] = {}
        for c in cases:
            counts[str(c["kind"])] = counts.get(str(c["kind"]), 0) + 1
        print(split, len(cases), counts)


if __name__ == "__main__":
    main()
