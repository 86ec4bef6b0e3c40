"""Write the README's screenshots of the main pages to docs/images/ (PNG, 1280 wide; the
self-report form at phone size), from the demo clinic served by the browser tests' live server.

Run from the repository root: ``.venv/bin/python -m tests.e2e.screenshots`` (after
``make e2e-setup``). The accessibility tour takes them, so every page shown has passed axe-core.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
TEST = "tests/e2e/test_accessibility.py::" + (
    "test_every_main_page_has_no_serious_or_critical_accessibility_violation"
)


def shrink(images: list[Path]) -> None:
    """Quantise to 256 colours with Debian's pngquant when it is there (about a third the size,
    text stays sharp); without it the PNGs are kept as Chromium wrote them."""
    pngquant = shutil.which("pngquant")
    if pngquant is None:
        print("pngquant not found (apt-get install pngquant): screenshots left unquantised")
        return
    for image in images:
        subprocess.run(
            [pngquant, "--force", "--skip-if-larger", "--strip", "--ext", ".png", str(image)],
            check=False,
        )


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    os.environ["ACUKNEE_SCREENSHOTS"] = str(IMAGES)
    os.chdir(ROOT)
    code = int(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", TEST]))
    if code == 0:
        shrink(sorted(IMAGES.glob("*.png")))
        for image in sorted(IMAGES.glob("*.png")):
            print(f"{image.relative_to(ROOT)}  {image.stat().st_size // 1024} KiB")
    return code


if __name__ == "__main__":
    sys.exit(main())
