"""OCR benchmark: our pipeline against plain `tesseract -l vie` on the same generated photos.

For each document type and level: field exact-match, document-type accuracy and seconds per
photo: median CPU seconds (one thread, so one core's worth of work, and not inflated when other
jobs share the machine) and median wall seconds. The baseline runs the same classifier and field extractors on plain
Tesseract's full-page text, so the difference is what flattening, line crops, QR and
vocabularies buy. One core: OMP_THREAD_LIMIT=1.

    .venv/bin/python bench/ocr.py [--per-cell 10] [--no-baseline] [--seed-base 1000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from bot.ocr import read_document_sync  # noqa: E402
from bot.ocr.classify import classify  # noqa: E402
from bot.ocr.engine import Line, Word  # noqa: E402
from bot.ocr.fields import birth_certificate, death_notice, id_card  # noqa: E402
from tests.ocr_docs import DOC_TYPES, LEVELS, make_sample  # noqa: E402


def baseline(jpeg: bytes) -> tuple[str, dict[str, object]]:
    """Plain `tesseract IMAGE - -l vie`, then our classifier and extractors on its text."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(jpeg)
        f.flush()
        text = subprocess.run(["tesseract", f.name, "-", "-l", "vie"], capture_output=True,
                              text=True, check=False).stdout
    lines = [Line((Word(t, 0.5, (0, 60 * i, 10 * len(t), 60 * i + 40)),))
             for i, t in enumerate(x for x in text.splitlines() if x.strip())]
    kind, _ = classify(text)
    if kind == "id_card":
        ex = id_card.extract(lines, None)
    elif kind == "birth_certificate":
        ex = birth_certificate.extract(lines)
    elif kind == "death_notice":
        ex = death_notice.extract(lines)
    else:
        return kind, {}
    return kind, ex.fields


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-cell", type=int, default=10, help="photos per type and level")
    ap.add_argument("--seed-base", type=int, default=1000, help="first seed (tests use 0-5)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--types", default=",".join(DOC_TYPES))
    ap.add_argument("--levels", default=",".join(LEVELS))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    args = ap.parse_args()
    cv2.setNumThreads(1)                                          # one core, as in a worker
    read_document_sync(make_sample("id_card", "flat", 0).jpeg)   # warm up (lists, model)
    rows = []
    fails: Counter[tuple[str, str]] = Counter()
    counts: Counter[tuple[str, str]] = Counter()
    conf_right: list[float] = []
    conf_wrong: list[float] = []
    for doc_type in args.types.split(","):
        for level in args.levels.split(","):
            ok = total = types_ok = 0
            b_ok = b_types = 0
            secs: list[float] = []
            cpu: list[float] = []
            b_secs: list[float] = []
            for i in range(args.per_cell):
                s = make_sample(doc_type, level, args.seed_base + i)
                t0, c0 = time.perf_counter(), time.process_time()
                r = read_document_sync(s.jpeg)
                secs.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                types_ok += r.doc_type == doc_type
                for k, v in s.truth.items():
                    total += 1
                    counts[(doc_type, k)] += 1
                    if k in r.confidence:
                        (conf_right if r.fields.get(k) == v else conf_wrong).append(
                            r.confidence[k])
                    if r.fields.get(k) == v:
                        ok += 1
                    else:
                        fails[(doc_type, k)] += 1
                        if args.verbose:
                            print(f"  miss {doc_type}/{level}/{s.seed} {s.layout} {k}: "
                                  f"{r.fields.get(k)!r} != {v!r}", file=sys.stderr)
                if not args.no_baseline:
                    c0 = _children_cpu()
                    kind, fields = baseline(s.jpeg)
                    b_secs.append(_children_cpu() - c0)
                    b_types += kind == doc_type
                    b_ok += sum(fields.get(k) == v for k, v in s.truth.items())
            rows.append((doc_type, level, ok / total, types_ok / args.per_cell,
                         statistics.median(cpu), statistics.median(secs),
                         None if args.no_baseline else b_ok / total,
                         None if args.no_baseline else b_types / args.per_cell,
                         None if args.no_baseline else statistics.median(b_secs)))
            print(_row(rows[-1]), flush=True)
    print()
    print(_table(rows))
    if conf_right and conf_wrong:
        print(f"\nconfidence: right values median {statistics.median(conf_right):.2f}, "
              f"wrong values median {statistics.median(conf_wrong):.2f}; "
              f"{sum(c < 0.8 for c in conf_wrong)}/{len(conf_wrong)} wrong and "
              f"{sum(c < 0.8 for c in conf_right)}/{len(conf_right)} right values under 0.8")
    print("\nfields missed most (misses / photos):")
    for (doc_type, k), n in fails.most_common(12):
        print(f"  {doc_type:18} {k:22} {n:3d} / {counts[(doc_type, k)]}")
    return 0


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _row(r: tuple) -> str:
    return (f"| {r[0]:17} | {r[1]:4} | {r[2]:.3f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | "
            f"{_fmt(r[6], '.3f')} | {_fmt(r[7], '.2f')} | {_fmt(r[8], '.2f')} |")


def _table(rows: list[tuple]) -> str:
    head = ("| type | level | fields exact | type acc | CPU s (median) | wall s (median) | "
            "tesseract fields | tesseract type | tesseract CPU s |\n"
            "|---|---|---|---|---|---|---|---|---|")
    body = "\n".join(
        f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | "
        f"{_fmt(r[6], '.3f')} | {_fmt(r[7], '.2f')} | {_fmt(r[8], '.2f')} |" for r in rows)
    return head + "\n" + body


if __name__ == "__main__":
    raise SystemExit(main())
