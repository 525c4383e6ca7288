"""The data-quality section (数据说明) as text: one place for the XLSX, the PDF, the map and the CLI.

``summary["quality"]`` (:mod:`routing.quality`) holds one entry per input and ``warnings``; this
module turns them into translated lines and table rows, so every output says the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.i18n import LABELS, Lang, label
from routing.quality import INPUTS

#: Column keys of the quality table (labels ``q_<key>``).
QUALITY_COLUMNS: tuple[str, ...] = ("input", "level", "held", "assumed", "missing", "weakens", "notes")


@dataclass(frozen=True)
class WarningLine:
    """One warning, translated: ``severity`` is ``error``, ``warning`` or ``info``."""

    severity: str
    text: str


def quality_section(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The ``quality`` section of a summary ({} when the summary has none)."""
    q = summary.get("quality")
    return dict(q) if isinstance(q, Mapping) else {}


def warning_lines(summary: Mapping[str, Any], lang: Lang = "zh") -> list[WarningLine]:
    """The warnings of ``summary["quality"]``, errors first, in ``lang``.

    A warning whose ``code`` has a label (``qm.<code>``) is shown translated; a reader's note
    (code ``note``) by its ``label`` when it has one, else in its own words.
    """
    out = []
    for w in quality_section(summary).get("warnings", []):
        code = str(w.get("code", ""))
        key = f"qm.{w['label']}" if w.get("label") else f"qm.{code}"
        count = w.get("count")
        if key in LABELS:
            status = label(str(w.get("status", "in_service")), lang)
            text = label(key, lang, count=count if count is not None else "", status=status)
        else:
            text = str(w.get("message", code))
        out.append(WarningLine(severity=str(w.get("severity", "warning")), text=text))
    return sorted(out, key=lambda w: w.severity != "error")


def _counts(counts: Mapping[str, Any], lang: Lang) -> str:
    """``name: n`` pairs; zero counts other than the total are left out (they say nothing)."""
    sep = "，" if lang == "zh" else ", "
    colon = "：" if lang == "zh" else ": "
    return sep.join(
        f"{label('qk.' + str(k), lang)}{colon}{v}" for k, v in counts.items()
        if v or k in ("total", "edges")
    )


def input_rows(summary: Mapping[str, Any], lang: Lang = "zh") -> list[dict[str, str]]:
    """One row per input of ``summary["quality"]`` (in :data:`routing.quality.INPUTS` order):
    the :data:`QUALITY_COLUMNS` as text."""
    rows = []
    sep = "；" if lang == "zh" else "; "
    section = quality_section(summary)
    order = [*(k for k in INPUTS if k in section), *sorted(k for k in section if k not in INPUTS)]
    for name in order:
        entry = section[name]
        if name == "warnings" or not isinstance(entry, Mapping):
            continue
        held = dict(entry.get("held", {}))
        level = str(entry.get("level", ""))
        empty = not held.get("total", held.get("edges", 1))
        rows.append({
            "input": label(f"qi.{name}", lang) if f"qi.{name}" in LABELS else name,
            "level": label(f"ql.{level}", lang),
            "held": label("no_data", lang) if empty else _counts(held, lang),
            "assumed": _counts(entry.get("assumed", {}), lang),
            "missing": _counts(entry.get("missing", {}), lang),
            "weakens": sep.join(label(f"qr.{r}", lang) for r in entry.get("weakens", [])),
            "notes": sep.join(str(n) for n in entry.get("notes", [])),
        })
    return rows


def has_errors(summary: Mapping[str, Any]) -> bool:
    """Whether the quality section holds a warning of severity ``error``."""
    return any(w.get("severity") == "error" for w in quality_section(summary).get("warnings", []))


def coverage_computed(summary: Mapping[str, Any]) -> bool:
    """Whether the street coverage was computed (False without any hydrant data)."""
    cov = summary.get("coverage", {})
    return not (isinstance(cov, Mapping) and "covered_pct" in cov and cov["covered_pct"] is None)
