"""Speed work that must not change behaviour: lazy imports, the process's vector memory, the streamed BM25 build.

Timings live in benchmarks/ (docs/benchmarks.md); these tests check what the speed-ups promise:
commands that do not need a heavy package never import it, and remembered vectors or a streamed
index give the very same rankings and answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings import CachedEmbeddings, NamedEmbeddings
from assistant.lexical import BM25Index
from assistant.settings import HOME_ENV
from assistant.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "sklearn", "langchain", "langchain_core",
         "langchain_openai", "ranx", "matplotlib", "llama_cpp")
MODEL = ("torch", "sentence_transformers", "transformers")
QUERIES = ("how can a small model learn to call external tools", "transformers", "retrieval augmented generation",
           "Cybench capture the flag tasks", "quantization of large language models to 4 bits")


def imported_by(argv: list[str], home: Path) -> tuple[int, set[str]]:
    """Run `litreview ARGV` in a new interpreter; its exit code and the top-level modules it imported."""
    script = (
        "import json, sys\n"
        "from assistant.cli import main\n"
        f"code = main({argv!r})\n"
        "print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules})]))\n"
    )
    env = {**os.environ, HOME_ENV: str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT,
                          check=True)
    code, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(code), set(modules)


@pytest.mark.parametrize("argv", [["--help"], ["search", "--help"], ["related-work", "--help"], ["eval", "--help"]])
def test_help_imports_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    code, modules = imported_by(argv, tmp_path / "home")
    assert code == 0
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_reading_the_library_does_not_load_the_embedding_model(sample_ws: Workspace) -> None:
    home = sample_ws.settings.home
    (sample_ws.settings.cache_dir / "papers.json").unlink(missing_ok=True)  # no saved paper list yet
    for argv in (["papers", "--json"], ["stats"], ["remove", "no such paper at all"]):
        code, modules = imported_by(argv, home)
        assert code == (1 if argv[0] == "remove" else 0), argv
        assert "chromadb" in modules or argv[0] == "remove"  # it read the library (remove: the list just saved)
        assert not modules & set(MODEL), (argv, sorted(modules & set(MODEL)))
    code, modules = imported_by(["papers", "--json"], home)  # nothing written since: the saved list
    assert code == 0 and not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_search_encodes_its_query_without_torch(sample_ws: Workspace) -> None:
    code, modules = imported_by(["search", "transformers", "-k", "3"], sample_ws.settings.home)
    assert code == 0
    assert {"tokenizers", "safetensors", "chromadb", "bm25s"} <= modules  # it did encode the query and search
    assert not modules & {"torch", "sentence_transformers", "transformers", "sklearn", "pandas"}, sorted(modules)


def run_console(argv: list[str], home: Path) -> tuple[int, str, bool]:
    """Run the console script's `run()` on ARGV in a new interpreter: exit code, stdout, whether it left quickly."""
    script = (
        "import os, sys\n"
        "from assistant.cli import run\n"
        "real = os._exit\n"
        "def quick(code):\n"
        "    sys.stderr.write('quick exit\\n'); sys.stderr.flush(); real(code)\n"
        "os._exit = quick\n"
        f"sys.argv = ['litreview', *{argv!r}]\n"
        "run()\n"
    )
    env = {**os.environ, HOME_ENV: str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    return proc.returncode, proc.stdout, "quick exit" in proc.stderr


def test_a_reader_leaves_quickly_with_its_output_whole_and_a_writer_the_usual_way(
        sample_ws: Workspace, tmp_path: Path) -> None:
    home = sample_ws.settings.home
    code, out, quick = run_console(["search", "transformers", "-k", "5", "--json"], home)
    expected = [h.title for h in sample_ws.search("transformers", k=5)]
    assert (code, quick) == (0, True)
    assert [h["title"] for h in json.loads(out)] == expected  # every byte of the piped output arrived
    code, out, quick = run_console(["remove", "no such paper at all"], home)
    assert (code, quick) == (1, True)  # a failure's exit code survives the quick exit
    title = "Leaving a command-line process without tearing its modules down"
    listing = tmp_path / "one.txt"
    listing.write_text(f"{title}\n\nWe measure how long an interpreter spends freeing what a finished command "
                       "imported, and skip it for processes that wrote nothing.\n", encoding="utf-8")
    code, out, quick = run_console(["ingest", str(listing)], home)
    assert (code, quick) == (0, False)  # it wrote to Chroma: Python's own exit closes the store
    code, out, quick = run_console(["papers", "--json"], home)
    assert code == 0 and quick
    assert title in {p["title"] for p in json.loads(out)}


def test_a_vector_does_not_depend_on_its_batch(embedder: NamedEmbeddings) -> None:
    texts = ["Short.", "A longer sentence about retrieval augmented generation with many more words in it.",
             "Transformers use attention.", "We propose a method that calls external tools through an API."]
    together = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    alone = np.asarray([embedder.embed_documents([t])[0] for t in texts], dtype=np.float32)
    query = np.asarray(embedder.embed_query(texts[1]), dtype=np.float32)
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    np.testing.assert_allclose(query, together[1], rtol=0, atol=1e-6)


def test_remembered_vectors_are_the_models_and_are_made_once(embedder: NamedEmbeddings) -> None:
    calls: list[list[str]] = []

    class Counting(NamedEmbeddings):
        name = "counting-" + embedder.name
        dimension = embedder.dimension

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            calls.append(list(texts))
            return embedder.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    cached = CachedEmbeddings(Counting())
    texts = ["Alpha beta.", "Gamma delta.", "Alpha beta."]
    first = cached.embed_documents(texts)
    assert calls == [["Alpha beta.", "Gamma delta."]]  # one batch, each text once
    again = CachedEmbeddings(cached).embed_documents(["Gamma delta.", "Epsilon."])  # shared memory, not nested
    assert calls[1:] == [["Epsilon."]]
    assert again[0] == first[1]
    np.testing.assert_allclose(first, embedder.embed_documents(texts), rtol=0, atol=1e-6)
    assert cached.embed_query("Alpha beta.") == first[0] and len(calls) == 2
    cached.forget(["Alpha beta."])
    cached.embed_query("Alpha beta.")
    assert calls[2:] == [["Alpha beta."]]
    cached.forget()


@pytest.mark.slow  # every search and answer three times, once with nothing remembered
def test_the_vector_memory_changes_no_search_or_answer(sample_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def run() -> tuple[dict[tuple[str, str], object], dict[str, object]]:
        hits = {(q, m): sample_ws.search(q, k=10, mode=m) for q in QUERIES for m in ("hybrid", "dense", "rrf")}
        answers = {q: (a.answer, a.citations, a.sentences, a.refused, a.strength, a.contexts)
                   for q in QUERIES for a in [sample_ws.ask(q)]}
        return hits, answers

    sample_ws.embedder.forget()
    with monkeypatch.context() as mp:
        mp.setattr(CachedEmbeddings, "capacity", 0)  # nothing remembered: every call encodes all it is given
        without = run()
    first = run()  # the memory filled as it goes
    again = run()  # every vector remembered
    assert first == without
    assert again == without
    sample_ws.embedder.forget()


def test_the_streamed_bm25_build_is_the_whole_library_build(sample_ws: Workspace) -> None:
    library = sample_ws.library
    whole = BM25Index(library.list_papers())
    streamed = BM25Index.build(library.lexical_pages())
    assert streamed.paper_ids == whole.paper_ids
    for query in (*QUERIES, "zzzz unknown words", library.list_papers()[7].title):
        assert streamed.search(query, 20) == whole.search(query, 20)
        assert streamed.ideal_score(query) == pytest.approx(whole.ideal_score(query))
    assert streamed._idf == pytest.approx(whole._idf)
