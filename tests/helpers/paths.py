"""Where the tests find the code they run and the data beside the repository."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "main.py"
SHARED = REPO.parent / "shared"  # reference data kept outside the repository
MIMIC_CSV = SHARED / "data" / "mimic2_s00001_numerics_1min.csv"
