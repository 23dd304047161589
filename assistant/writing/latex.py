"""Rendering a related-work draft (Markdown with [n], LaTeX with \\cite{key}), and the one BibTeX entry writer."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.citations import CITE, marker_numbers
from assistant.types import Paper, name_parts
from assistant.writing.models import Reference, Theme

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$", "≈": r"$\approx$", "±": r"$\pm$", "→": r"$\rightarrow$",
}
# In a .bib value BibTeX counts every brace, escaped or not: write braces as commands that balance.
_BIB_SPECIAL = {**_SPECIAL, "{": r"\textbraceleft{}", "}": r"\textbraceright{}"}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))


# LaTeX left in abstracts (listings copy it as typed; MathJax's "$\\times$" reaches them as "times").
# Not pylatexenc: a bare "%" in an abstract ("42%") would be read as a comment and cut the rest off.
_DISPLAY = (
    (re.compile(r"\$?\\times(?![A-Za-z])\$?"), "×"),
    (re.compile(r"(?<=\d)times(?=[\sA-Z\d]|$)"), "×"),  # "2times faster", "8timesH100"
    (re.compile(r"\$?\\sim(?![A-Za-z])\$?\s?|(?<![A-Za-z])sim(?=\d)"), "~"),  # "sim30B" → "~30B"
    (re.compile(r"\$?\\(?:geq|ge)(?![A-Za-z])\$?"), "≥"),
    (re.compile(r"\$?\\(?:leq|le)(?![A-Za-z])\$?"), "≤"),
    (re.compile(r"\$?\\approx(?![A-Za-z])\$?"), "≈"),
    (re.compile(r"\$?\\pm(?![A-Za-z])\$?"), "±"),
    (re.compile(r"\$?\\rightarrow(?![A-Za-z])\$?|\$?\\to\$?(?=\s)"), "→"),
    (re.compile(r"``"), "“"),
    (re.compile(r"''"), "”"),
    (re.compile(r"\\([%&_$#{}])"), r"\1"),
)


def display_text(text: str) -> str:
    """Text with the LaTeX escapes of abstracts decoded for reading ("3.2\\%" → "3.2%", "2times" → "2×")."""
    for pattern, repl in _DISPLAY:
        text = pattern.sub(repl, text)
    return text


def escape_latex(text: str, bib: bool = False) -> str:
    """Text with LaTeX's special characters escaped (braces written as commands inside .bib values)."""
    table = _BIB_SPECIAL if bib else _SPECIAL
    return _SPECIAL_RE.sub(lambda m: table[m.group(0)], text)


def cite_text(text: str, keys: dict[int, str]) -> str:
    """A paragraph with its text escaped and each [n, m] turned into ~\\cite{key_n,key_m}."""
    out: list[str] = []
    last = 0
    for m in CITE.finditer(text):
        before = escape_latex(text[last : m.start()])
        cite = r"\cite{" + ",".join(keys[n] for n in marker_numbers(m.group(0))) + "}"
        if before.endswith(" "):  # a tie: the citation never starts a line
            before = before[:-1] + "~"
        out += [before, cite]
        last = m.end()
    out.append(escape_latex(text[last:]))
    return "".join(out)


def to_latex(themes: Sequence[Theme], refs: Sequence[Reference]) -> str:
    """The draft as LaTeX: a \\paragraph per theme, citations as \\cite with the BibTeX keys."""
    keys = {r.n: r.key for r in refs}
    blocks = [r"\paragraph{" + escape_latex(t.name) + "}\n" + cite_text(t.paragraph, keys) for t in themes]
    return "\n\n".join(blocks) + "\n"


def bib_entry(paper: Paper, key: str) -> str:
    """One @misc entry: every field `ingest` reads back (title, authors, year, venue, DOI, URL, arXiv, abstract)."""
    fields = [("title", "{" + bib_text(paper.title) + "}")]  # inner braces keep the title's capitals
    if paper.authors:
        fields.append(("author", " and ".join(bib_text(_bib_name(a)) for a in paper.authors)))
    if paper.year:
        fields.append(("year", str(paper.year)))
    if paper.venue:
        fields.append(("howpublished", bib_text(paper.venue)))
    if paper.doi:
        fields.append(("doi", _verbatim(paper.doi)))
    if paper.url:
        fields.append(("url", _verbatim(paper.url)))
    if paper.arxiv_id:
        fields += [("eprint", _verbatim(paper.arxiv_id)), ("archivePrefix", "arXiv")]
    fields.append(("abstract", bib_text(paper.abstract)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def _bib_name(name: str) -> str:
    """BibTeX reads 'First Last' as it is; a suffix needs its 'Last, Jr., First' form."""
    given, family, suffix = name_parts(name)
    return f"{family}, {suffix}, {given}" if suffix and given else name


def bib_text(value: str) -> str:
    """Text as a .bib value: LaTeX escaped, on one line, and the ligatures -- `` '' kept apart (else – “ ”)."""
    text = " ".join(escape_latex(value, bib=True).split())
    for pair in ("--", "``", "''"):
        while pair in text:
            text = text.replace(pair, pair[0] + "{}" + pair[1])
    return text


def _verbatim(value: str) -> str:
    """A DOI, URL or arXiv id as a .bib value: kept as written (url/doi fields are not LaTeX text), no braces."""
    return re.sub(r"[{}\\\s]", "", value)


def to_bibtex(papers: Sequence[Paper], refs: Sequence[Reference]) -> str:
    """One entry per reference, in reference order, keyed as the LaTeX cites them."""
    by_id = {p.paper_id: p for p in papers}
    return "\n".join(bib_entry(by_id[r.paper_id], r.key) for r in refs)


def renumber(text: str, mapping: dict[int, int]) -> str:
    """Citation markers rewritten with new numbers."""
    return CITE.sub(lambda m: "[" + ", ".join(str(mapping[n]) for n in marker_numbers(m.group(0))) + "]", text)


def to_markdown(themes: Sequence[Theme], refs: Sequence[Reference]) -> str:
    """The draft as Markdown: a heading and paragraph per theme, then the numbered references."""
    lines = ["## Related work", ""]
    for theme in themes:
        lines += [f"### {theme.name}", "", theme.paragraph, ""]
    lines += ["### References", ""]
    lines += [f"- [{r.n}] {r.title}" + (f" ({r.year})" if r.year else "") for r in refs]
    return "\n".join(lines) + "\n"
