"""The estimator as it was before issue 27 (commit ``BASELINE``), loaded from git for a same-run baseline:
its ``did.py`` and ``matrix.py`` as one throwaway module pair, the rest of the service as it is now."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

BASELINE = "fc1084c"
"""main when issue 27's branch started: the calendar-window, additive-only estimator with the placebo gate."""
ROOT = Path(__file__).resolve().parent.parent


def _source(path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{BASELINE}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def load() -> ModuleType:
    """The old ``did`` module (its ``estimate``, ``Options``), importing the old ``matrix`` beside it."""
    folder = Path(tempfile.mkdtemp(prefix="old_effects_"))
    (folder / "old_matrix.py").write_text(_source("service/effects/matrix.py"), encoding="utf-8")
    did = _source("service/effects/did.py").replace("from service.effects.matrix import", "from old_matrix import")
    (folder / "old_did.py").write_text(did, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("old_did", folder / "old_did.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the estimator at {BASELINE}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["old_did"] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module
