"""Papers out to reference managers: BibTeX, RIS, CSL-JSON or CSV, each readable again by `ingest`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from assistant.choices import RefFormat
from assistant.types import Paper, name_parts

SUFFIX: dict[RefFormat, str] = {"bib": ".bib", "ris": ".ris", "csljson": ".json", "csv": ".csv"}
MIME: dict[RefFormat, str] = {"bib": "application/x-bibtex", "ris": "application/x-research-info-systems",
                              "csljson": "application/vnd.citationstyles.csl+json", "csv": "text/csv"}
CSV_COLUMNS = ("title", "authors", "year", "doi", "arxiv_id", "url", "venue", "abstract")


def arxiv_url(arxiv_id: str) -> str:
    """The abstract page of an arXiv id."""
    return f"https://arxiv.org/abs/{arxiv_id}"


def last_first(name: str) -> str:
    """'Last, First[, Suffix]', as RIS and Zotero's CSV write names (a one-word name stays as it is)."""
    given, family, suffix = name_parts(name)
    return f"{family}, {given}" + (f", {suffix}" if suffix else "") if given else name


def _urls(paper: Paper) -> list[str]:
    urls = [paper.url] if paper.url else []
    if paper.arxiv_id and not any(paper.arxiv_id in u for u in urls):
        urls.append(arxiv_url(paper.arxiv_id))
    return urls


def to_bib(papers: Sequence[Paper]) -> str:
    """@misc entries with the abstract; keys are the papers' own or made as the related-work job makes them."""
    from assistant.writing.common import bibtex_key
    from assistant.writing.latex import bib_entry

    taken: set[str] = set()
    return "\n".join(bib_entry(paper, bibtex_key(paper, taken)) for paper in papers)


def to_ris(papers: Sequence[Paper]) -> str:
    """RIS records (TY GEN, or JOUR with a venue); authors as 'Last, First'."""
    import rispy

    records: list[dict[str, Any]] = []
    for paper in papers:
        record: dict[str, Any] = {"type_of_reference": "JOUR" if paper.venue else "GEN", "title": paper.title}
        if paper.authors:
            record["authors"] = [last_first(a) for a in paper.authors]
        if paper.year:
            record["year"] = str(paper.year)
        if paper.venue:
            record["secondary_title"] = paper.venue
        if paper.doi:
            record["doi"] = paper.doi
        if urls := _urls(paper):
            record["urls"] = urls
        record["abstract"] = paper.abstract
        records.append({k: _one_line(v) for k, v in record.items()})
    return str(rispy.dumps(records, skip_unknown_tags=True))


def _one_line(value: Any) -> Any:
    if isinstance(value, list):
        return [_one_line(v) for v in value]
    return " ".join(str(value).split())


def to_csljson(papers: Sequence[Paper]) -> str:
    """A CSL-JSON array, as Zotero exports it (arXiv ids as "number": "arXiv:ID")."""
    from assistant.writing.common import bibtex_key

    taken: set[str] = set()
    items = []
    for paper in papers:
        item: dict[str, Any] = {"id": bibtex_key(paper, taken), "type": "article" if not paper.venue
                                else "article-journal", "title": paper.title}
        if paper.authors:
            item["author"] = [_csl_name(a) for a in paper.authors]
        if paper.year:
            item["issued"] = {"date-parts": [[paper.year]]}
        if paper.venue:
            item["container-title"] = paper.venue
        if paper.doi:
            item["DOI"] = paper.doi
        if paper.url or paper.arxiv_id:
            item["URL"] = _urls(paper)[0]
        if paper.arxiv_id:
            item["number"] = f"arXiv:{paper.arxiv_id}"
        item["abstract"] = paper.abstract
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def _csl_name(name: str) -> dict[str, str]:
    given, family, suffix = name_parts(name)
    if not given:
        return {"literal": name}
    return {"family": family, "given": given, **({"suffix": suffix} if suffix else {})}


def to_csv(papers: Sequence[Paper]) -> str:
    """One row per paper with a header; authors as Zotero writes them ('Last, First; Last, First')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in papers:
        authors = "; ".join(last_first(a) for a in p.authors)
        writer.writerow([p.title, authors, p.year or "", p.doi or "", p.arxiv_id or "", p.url or "", p.venue or "",
                         p.abstract])
    return buffer.getvalue()


WRITERS: dict[RefFormat, Callable[[Sequence[Paper]], str]] = {
    "bib": to_bib, "ris": to_ris, "csljson": to_csljson, "csv": to_csv,
}


def export_papers(papers: Sequence[Paper], fmt: RefFormat) -> str:
    """The papers as text in one of the formats (`ingest` reads each back)."""
    return WRITERS[fmt](papers)
