"""The walkthrough notebook runs top to bottom on the embedded default."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_walkthrough_executes() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    summary_cell = nb.cells[6]
    text = "".join(o.get("data", {}).get("text/plain", "") for o in summary_cell.outputs)
    assert "covered_pct" in text
