"""What a `dance run` did, read back from the stage records and reports it left.

Per stage: ran, skipped (and why) or not part of the config, wall time and throughput;
failures by reason; where the outputs are; and the headline numbers (test accuracy of
DANCE and of the linear probe, explanation fidelity, the reversal rate). Every figure is
read from a record or report a stage wrote, never recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dance import storage
from dance.config import DanceConfig
from dance.workdir import model_dir, read_record, reports_dir, summary_uri

# The record count each stage's throughput is measured in.
_THROUGHPUT_COUNT = {"preprocess": "processed_this_run",
                     "discover": "videos", "train": "videos", "sanity": "reversed_videos"}


@dataclass
class StageOutcome:
    """What happened to one stage in this run."""

    name: str
    status: str  # "ran", "skipped", "not configured", "left out"
    reason: str = ""
    seconds: float | None = None
    throughput: str = ""


def _read_json(uri: str) -> dict[str, Any] | None:
    """A JSON report, or None when the stage did not write it."""
    return storage.read_json(uri) if storage.exists(uri) else None


@dataclass
class RunReport:
    """A run's stages, failures, outputs and headline numbers."""

    workdir: str
    stages: list[StageOutcome] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    headline: dict[str, float] = field(default_factory=dict)

    def collect(self, cfg: DanceConfig) -> None:
        """Fill throughput, failures, outputs and headline numbers from the workdir."""
        for outcome in self.stages:
            record = read_record(cfg.workdir, outcome.name)
            unit = _THROUGHPUT_COUNT.get(outcome.name)
            if outcome.status == "ran" and record and unit and record.seconds:
                count = record.counts.get(unit) or 0
                outcome.throughput = f"{count / record.seconds:.2f} videos/s"
        preprocess = _read_json(summary_uri(cfg.workdir, "preprocess")) or {}
        self.failures = dict(preprocess.get("failed_by_reason") or {})
        self._collect_outputs(cfg)
        self._collect_headline(cfg)

    def _collect_outputs(self, cfg: DanceConfig) -> None:
        """Where the model, the metrics and the report are, as their records say."""
        report = read_record(cfg.workdir, "report")
        if report is not None and report.done and "index" in report.facts:
            self.outputs["report"] = str(report.facts["index"])
        train = read_record(cfg.workdir, "train")
        if train is not None and train.done:
            self.outputs["model"] = model_dir(cfg.workdir)
        if storage.exists(storage.join(reports_dir(cfg.workdir), "metrics.json")):
            self.outputs["metrics"] = storage.join(reports_dir(cfg.workdir), "metrics.json")

    def _collect_headline(self, cfg: DanceConfig) -> None:
        """Test accuracies, explanation fidelity and reversal rate from the reports."""
        reports = reports_dir(cfg.workdir)
        metrics = _read_json(storage.join(reports, "metrics.json")) or {}
        test = (metrics.get("splits") or {}).get("test") or {}
        if "top1" in test:
            self.headline[f"{metrics.get('kind', 'model')} test top-1"] = test["top1"]
        table = _read_json(storage.join(reports, "table.json")) or {}
        for row in table.get("rows", []):
            if row.get("row") == "linear probe" and "test" in row:
                self.headline["linear probe test top-1"] = row["test"]
        sanity = _read_json(storage.join(reports, "sanity.json")) or {}
        if "share" in (sanity.get("fidelity") or {}):
            self.headline["explanation fidelity"] = sanity["fidelity"]["share"]
        if "pair_rate" in (sanity.get("reversal") or {}):
            self.headline["reversal-pair rate"] = sanity["reversal"]["pair_rate"]

    def describe(self) -> str:
        """The run summary printed at the end of `dance run`."""
        lines = ["stages:"]
        for s in self.stages:
            took = f"{s.seconds:7.1f} s" if s.seconds is not None else " " * 9
            note = "; ".join(part for part in (s.throughput, s.reason) if part)
            lines.append(f"  {s.name:<13}{s.status:<15}{took}  {note}".rstrip())
        failed = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.failures.items()))
        lines.append(f"failed videos: {failed or 'none'}")
        lines += [f"{name}: {value:.3f}" for name, value in self.headline.items()]
        lines += [f"{name}: {uri}" for name, uri in self.outputs.items()]
        lines.append(f"outputs written to {self.workdir}")
        return "\n".join(lines)
