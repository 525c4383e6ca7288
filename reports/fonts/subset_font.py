"""Rebuild ``wqy-microhei-subset.ttf`` from Debian's ``fonts-wqy-microhei`` package.

Run once by a maintainer, never at run time (it needs fontTools, which FireReach does not)::

    apt-get download fonts-wqy-microhei
    dpkg-deb -x fonts-wqy-microhei_*_all.deb wqy
    python reports/fonts/subset_font.py wqy/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

The subset keeps face 0 of the collection (WenQuanYi Micro Hei, proportional) with: ASCII, Latin-1,
Latin Extended-A, general punctuation, letter-like symbols, arrows, mathematical operators, box and
geometric shapes, every character of GB 2312 (hanzi and symbols), every CJK Unified Ideograph the
font has (U+4E00–U+9FFF, which covers GBK's hanzi: compound and street names often use characters
outside GB 2312, such as 璟, 堃, 喆), CJK symbols and punctuation and the full-width forms, plus
every character of :mod:`reports.i18n`'s labels. Hinting is dropped (the font has none worth
keeping at report sizes).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

HERE = Path(__file__).resolve().parent
TARGET = HERE / "wqy-microhei-subset.ttf"

RANGES = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1
    (0x0100, 0x017F),  # Latin Extended-A (street names in Europe)
    (0x2000, 0x206F),  # general punctuation
    (0x2100, 0x214F),  # letter-like symbols (℃, №)
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators (≤, ≥, −)
    (0x2460, 0x24FF),  # enclosed alphanumerics (①)
    (0x2500, 0x25FF),  # box drawing, block elements, geometric shapes (■, ●, ▲)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs (all the font has)
    (0xFF00, 0xFFEF),  # half-width and full-width forms
)


def gb2312_characters() -> set[int]:
    """Every code point of GB 2312 (rows 0xA1–0xF7, cells 0xA1–0xFE)."""
    out: set[int] = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes([row, cell]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return out


def label_characters() -> set[int]:
    """Every character of the report labels."""
    sys.path.insert(0, str(HERE.parent.parent))
    from reports.i18n import all_label_text

    return {ord(c) for c in all_label_text()}


def main(source: str) -> None:
    """Write the subset next to this script."""
    font = TTCollection(source).fonts[0]
    wanted = gb2312_characters() | label_characters()
    for lo, hi in RANGES:
        wanted.update(range(lo, hi + 1))
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    options.drop_tables = [*options.drop_tables, "FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted & set(font.getBestCmap()))
    subsetter.subset(font)
    font.save(str(TARGET))


if __name__ == "__main__":
    main(sys.argv[1])
