"""Ingest: counts, idempotence, cross-format duplicates and a batch full of bad inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import HashedWordEmbeddings
from helpers import FIXTURES, SAMPLE_DIR, SAMPLE_FILES, SMALL_COUNT, SampleBuild, make_paper_pdf, write_listing

from assistant import ingest as ingest_module
from assistant.identity import paper_id_for
from assistant.settings import ChunkSettings, load_settings
from assistant.types import Chunk, Paper
from assistant.workspace import Workspace

KC_TITLE = "Knowledge Composition using Task Vectors with Learned Anisotropic Scaling"
NEW_ABSTRACT = (
    "We measure how often retrieval-augmented assistants cite passages that do not support the claim "
    "they are attached to, and propose a verifier that flags unsupported citations before answering."
)


def test_sample_ingest_counts(sample_build: SampleBuild) -> None:
    report = sample_build.report
    assert (report.new, report.duplicates, report.updated) == (282, 51, 0)
    assert report.papers_found == 333 and not report.failed
    assert [Path(f.path).name for f in report.files] == [p.name for p in SAMPLE_FILES]
    assert all(f.status == "ok" and f.problems == [] for f in report.files)
    assert sum(f.new for f in report.files) == 282
    assert len(sample_build.papers) == 282 and report.chunks_added > 282


def test_sample_papers_seen_in_several_listings_keep_every_source(sample_build: SampleBuild) -> None:
    kc = [p for p in sample_build.papers if p.title == KC_TITLE]
    assert len(kc) == 1
    assert kc[0].sources == ("000_c4a74c416a800912.txt", "002_8b0302c22fe8a438.txt", "003_f1814a412565b5ab.txt")
    assert (kc[0].n_authors, kc[0].year, kc[0].upvotes) == (5, 2024, 3)
    assert sum(len(p.sources) for p in sample_build.papers) == 333


def test_reingest_adds_nothing(sample_ws: Workspace, sample_build: SampleBuild) -> None:
    before = sample_ws.library.fingerprint()
    report = sample_ws.ingest([SAMPLE_DIR])
    assert (report.new, report.duplicates, report.updated, report.chunks_added) == (0, 333, 0, 0)
    assert not report.failed
    assert sample_ws.papers() == list(sample_build.papers)
    assert sample_ws.stats().chunks == sample_build.report.chunks_added
    assert sample_ws.library.fingerprint() == before


def test_bibtex_and_csv_duplicates_update_a_stored_paper(sample_ws: Workspace, inputs: Path) -> None:
    bib = inputs / "refs.bib"
    bib.write_text(
        "@inproceedings{zhang2024atlas,\n"
        "  title = {Knowledge composition using task vectors with learned anisotropic scaling.},\n"
        "  author = {Zhang, Frederic and Hayes, Paul},\n  doi = {10.5555/NEURIPS.2024.1234},\n"
        "  booktitle = {Advances in Neural Information Processing Systems},\n"
        "  abstract = {A shorter abstract of the same paper about task vectors and scaling.},\n}\n",
        encoding="utf-8",
    )
    csv = inputs / "more.csv"
    csv.write_text(f'title,abstract,doi\n"aTLAS (renamed)","Task vectors again, renamed.",10.5555/neurips.2024.1234\n'
                   f'"Unsupported Citations in RAG","{NEW_ABSTRACT}",\n', encoding="utf-8")
    kc_id = paper_id_for(KC_TITLE)
    old = sample_ws.get_papers([kc_id])[kc_id]
    old_chunks = sample_ws.library.chunks_of(kc_id)

    report = sample_ws.ingest([bib, csv])
    assert (report.new, report.duplicates, report.updated) == (1, 2, 1)
    bib_rep, csv_rep = report.files
    assert (bib_rep.status, bib_rep.duplicates, bib_rep.updated, bib_rep.new) == ("ok", 1, 1, 0)
    assert (csv_rep.status, csv_rep.duplicates, csv_rep.updated, csv_rep.new) == ("ok", 1, 1, 1)

    stored = sample_ws.get_papers([kc_id])[kc_id]
    assert stored.title == KC_TITLE and stored.abstract == old.abstract  # the fuller abstract stays
    assert stored.doi == "10.5555/neurips.2024.1234"
    assert stored.authors == ("Frederic Zhang", "Paul Hayes") and stored.bibtex_key == "zhang2024atlas"
    assert stored.sources == (*old.sources, "refs.bib", "more.csv")
    assert sample_ws.library.chunks_of(kc_id) == old_chunks
    assert sample_ws.library.count() == 283
    assert sample_ws.get_papers([paper_id_for("aTLAS (renamed)")]) == {}


def test_mixed_good_and_bad_inputs(fake_ws: Workspace, small_papers: list[Paper], inputs: Path) -> None:
    extra = Paper(paper_id=paper_id_for("Unsupported Citations in RAG"), title="Unsupported Citations in RAG",
                  abstract=NEW_ABSTRACT)
    good_txt = write_listing(inputs / "good.txt", [extra])
    good_bib = FIXTURES / "zotero.bib"
    bad: dict[str, tuple[Path, str]] = {}

    def add(name: str, content: bytes | None, reason: str) -> None:
        path = inputs / name
        if content is not None:
            path.write_bytes(content)
        bad[name] = (path, reason)

    add("empty.txt", b"", "empty")
    add("binary.bib", b"@article{x,\x00\x01\x02\xff\xfe" * 20, "binary")
    add("cut.txt", f"Cut Paper\n\n{NEW_ABSTRACT} More words.\n\nTitle Without Abstract\n".encode(), "no abstract")
    add("latin1.txt", f"Caf\u00e9 Paper\n\n{NEW_ABSTRACT}\n".encode("latin-1"), "not UTF-8")
    add("broken.bib", b"@article{broken, title = {Never closed,\n  abstract = {lost}\n", "cannot parse")
    add("notitle.csv", b"name,summary\nfoo,a summary that is long enough to be an abstract\n", "no 'title' column")
    add("missing.jsonl", None, "no such file")
    add("notes.docx", b"PK\x03\x04 not really a document", "unsupported file type")
    make_paper_pdf(inputs / "locked.pdf", "A Locked Paper", NEW_ABSTRACT, encrypt=True)
    bad["locked.pdf"] = (inputs / "locked.pdf", "encrypted")
    before = {p.paper_id: p for p in fake_ws.papers()}
    chunks_before = fake_ws.stats().chunks

    report = fake_ws.ingest([good_txt, *(path for path, _ in bad.values()), good_bib])
    assert report.failed
    by_name = {Path(f.path).name: f for f in report.files}
    assert len(report.files) == len(bad) + 2 == len(by_name)
    for name, (_, reason) in bad.items():
        rep = by_name[name]
        assert len(rep.problems) == 1, (name, rep.problems)
        assert reason in rep.problems[0], (name, rep.problems)
        assert "\n" not in rep.problems[0] and "Traceback" not in rep.problems[0]
        assert rep.status == ("partial" if name == "cut.txt" else "failed"), name
    assert by_name["good.txt"].status == "ok" and by_name["good.txt"].new == 1
    assert by_name["zotero.bib"].status == "partial" and by_name["zotero.bib"].new == 4  # one entry has no abstract
    assert by_name["cut.txt"].new == 1
    assert report.new == 6 and fake_ws.library.count() == SMALL_COUNT + 6

    after = {p.paper_id: p for p in fake_ws.papers()}
    assert all(after[pid] == paper for pid, paper in before.items())
    assert fake_ws.stats().chunks == chunks_before + report.chunks_added
    assert [p.title for p in fake_ws.papers() if p.paper_id == paper_id_for("Cut Paper")] == ["Cut Paper"]
    top = {h.title for h in fake_ws.search(NEW_ABSTRACT, k=2, mode="bm25")}
    assert top == {"Unsupported Citations in RAG", "Cut Paper"}


def test_folder_ingest_and_empty_folder(fake_ws: Workspace, inputs: Path) -> None:
    (inputs / "sub").mkdir()
    (inputs / "empty-folder").mkdir()
    (inputs / "sub" / ".hidden.txt").write_text("Hidden\n\n" + NEW_ABSTRACT, encoding="utf-8")
    (inputs / "sub" / "skip.docx").write_bytes(b"ignored in folders")
    write_listing(inputs / "sub" / "one.txt", [Paper(paper_id="x", title="Folder Paper", abstract=NEW_ABSTRACT)])
    report = fake_ws.ingest([inputs / "sub", inputs / "empty-folder"])
    assert [Path(f.path).name for f in report.files] == ["empty-folder", "one.txt"]
    assert report.files[0].problems == ["the folder holds no supported files"]
    assert report.new == 1 and report.failed


def test_papers_are_chunked_as_the_batches_reach_them(monkeypatch: pytest.MonkeyPatch) -> None:
    chunked: list[str] = []
    real_chunk_paper = ingest_module.chunk_paper

    def counting(paper: Paper, settings: ChunkSettings) -> list[Chunk]:
        chunked.append(paper.paper_id)
        return real_chunk_paper(paper, settings)

    batches: list[tuple[int, list[str]]] = []  # (papers chunked so far, the batch's texts)

    class Recording(HashedWordEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            batches.append((len(chunked), list(texts)))
            return super().embed_documents(texts)

    monkeypatch.setattr(ingest_module, "chunk_paper", counting)
    monkeypatch.setattr(ingest_module, "EMBED_BATCH", 16)  # one sample file then makes several batches
    seen: list[tuple[str, int, int]] = []
    ws = Workspace(load_settings(), embedder=Recording())
    report = ws.ingest([SAMPLE_FILES[0]], progress=lambda stage, done, total: seen.append((stage, done, total)))
    n = report.new
    assert n > 20 and not report.failed
    sizes = [len(texts) for _, texts in batches]
    assert sizes[:-1] == [ingest_module.EMBED_BATCH] * (len(sizes) - 1) and 0 < sizes[-1] <= ingest_module.EMBED_BATCH
    assert len(sizes) >= 4  # several batches, so the order below means something
    # the progress total was counted first (one pass over every paper), then each batch's papers chunked as it came
    assert chunked[:n] == chunked[n:] and len(chunked) == 2 * n
    first_batch_papers = len(dict.fromkeys(t.split("\n\n")[0] for t in batches[0][1]))
    assert batches[0][0] - n <= first_batch_papers + 1  # not every paper before the first encode
    texts = [t for _, batch in batches for t in batch]
    stored = [c for p in ws.papers() for c in ws.library.chunks_of(p.paper_id)]
    assert sorted(texts) == sorted(c.embedding_text() for c in stored) and len(texts) == report.chunks_added
    embedding = [(done, total) for stage, done, total in seen if stage == "embedding"]
    assert embedding[-1] == (report.chunks_added, report.chunks_added)
    assert {total for _, total in embedding} == {report.chunks_added}
    assert [done for done, _ in embedding] == sorted({done for done, _ in embedding})
