"""The DejaVu Serif faces the forms print in, trimmed once per process to Vietnamese text.

The fonts stay out of git: they come from the system (Debian package fonts-dejavu-core).
Parsing and subsetting the full 380 kB faces costs ~50 ms per face per PDF, so the first
call trims each face to the Latin and Vietnamese letters (~350 glyphs) into a private
temporary directory; every later PDF loads the small files.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu"),  # Fedora, Alpine
)
DEBIAN_PACKAGE = "fonts-dejavu-core"
# Serif, as Vietnamese administrative papers are set in a serif face (Nghị định 30/2020:
# Times New Roman). Regular and bold come with fonts-dejavu-core; italic only with
# fonts-dejavu-extra, so it is optional and falls back to regular.
REQUIRED = {"": "DejaVuSerif.ttf", "B": "DejaVuSerif-Bold.ttf"}
OPTIONAL = {"I": "DejaVuSerif-Italic.ttf"}

_VIETNAMESE_LATIN = "ĂăĐđĨĩŨũƠơƯư"
# Printable ASCII, Latin-1, the Vietnamese letters, dashes/quotes/ellipsis, the đồng sign.
_CODEPOINTS = sorted(
    set(range(0x20, 0x7F))
    | set(range(0xA0, 0x100))
    | {ord(c) for c in _VIETNAMESE_LATIN}
    | set(range(0x1EA0, 0x1EFA))
    | set(range(0x2010, 0x2027))
    | {0x20AB, 0x2116}
)


class FontsMissing(RuntimeError):
    """The DejaVu fonts are not installed."""


_lock = threading.Lock()
_files: dict[str, Path] | None = None


def _find(name: str) -> Path | None:
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def _trim(source: Path, target: Path) -> None:
    font = TTFont(source)
    options = subset.Options()
    # fpdf2 does no text shaping (precomposed NFC letters need none), and the hinting
    # bytecode is for screens: dropping both keeps the faces small and fast to load.
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "GPOS", "GSUB", "GDEF", "kern", "hdmx"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_CODEPOINTS)
    subsetter.subset(font)
    font.save(target)


def font_files() -> dict[str, Path]:
    """Style ("", "B", "I") → trimmed font file; builds them on the first call."""
    global _files
    with _lock:
        if _files is None:
            _files = _build()
        return _files


def _build() -> dict[str, Path]:
    sources = {style: _find(name) for style, name in {**REQUIRED, **OPTIONAL}.items()}
    missing = [REQUIRED[s] for s in REQUIRED if sources[s] is None]
    if missing:
        raise FontsMissing(
            f"Thiếu phông chữ {', '.join(missing)} để in biểu mẫu: "
            f"cài gói Debian '{DEBIAN_PACKAGE}' (apt-get install {DEBIAN_PACKAGE}); "
            f"tìm trong {', '.join(str(d) for d in FONT_DIRS)}"
        )
    workdir = Path(tempfile.mkdtemp(prefix="motcua-fonts-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    files: dict[str, Path] = {}
    for style, source in sources.items():
        if source is not None:
            files[style] = workdir / source.name
            _trim(source, files[style])
    files.setdefault("I", files[""])
    return files


def warm_up() -> None:
    """Trim the fonts now (e.g. at app start) so the first citizen's PDF is not slower."""
    font_files()
