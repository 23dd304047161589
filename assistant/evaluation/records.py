"""records.jsonl: each finished case of an eval run, one line written as soon as it finishes, so that a
run interrupted midway resumes where it stopped. A line names its suite, its case and the run key (a hash
of the dataset, the settings that shape the results, the model and the library): only lines with the
current run key are taken over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import LitReviewError
from assistant.evaluation.results import RECORDS_NAME, now


class RecordStore:
    """The finished cases of the suites written to one output directory."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / RECORDS_NAME
        self.dropped = 0  # unreadable lines (e.g. cut off by a kill) left out on the last load

    def _lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise LitReviewError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        lines: list[dict[str, Any]] = []
        self.dropped = 0
        for raw in text.splitlines():
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                self.dropped += 1
                continue
            if isinstance(line, dict) and {"suite", "run_key", "case", "record"} <= line.keys():
                lines.append(line)
            else:
                self.dropped += 1
        return lines

    def _rewrite(self, lines: list[dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        tmp.replace(self.path)

    def resume(self, suite: str, run_key: str, force: bool = False) -> dict[str, dict[str, Any]]:
        """The finished records of `suite` by case id. Records made with another run key are an error;
        `force` discards every earlier record of the suite. Unreadable lines are dropped from the file."""
        lines = self._lines()
        mine = [x for x in lines if x["suite"] == suite]
        other_keys = sorted({x["run_key"] for x in mine if x["run_key"] != run_key})
        if other_keys and not force:
            raise LitReviewError(
                f"{self.path} holds {suite} records of another run (dataset, settings, model or library "
                f"differ: run key {other_keys[0]}, now {run_key}): use another --out, or --force to start afresh"
            )
        kept = [x for x in lines if x["suite"] != suite or (x["run_key"] == run_key and not force)]
        if self.path.exists():  # also ends a line a kill cut short, before the next append
            self._rewrite(kept)
        return {x["case"]: x["record"] for x in kept if x["suite"] == suite}

    def append(self, suite: str, run_key: str, case: str, record: dict[str, Any]) -> None:
        """Write one finished case at once (flushed, so an interruption keeps it)."""
        line = {"suite": suite, "run_key": run_key, "case": case, "finished_at": now(), "record": record}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            fh.flush()
