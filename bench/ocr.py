"""OCR engines on pages rendered here (issue 16): character error rate and pages/s of
tesseract as ragstream runs it (ragstream.ingest.ocr: libtesseract in the tesserocr wheel,
and the `tesseract` command it falls back to, where installed) and rapidocr-onnxruntime
on an A4 page of text at 150 dpi, clean and degraded (blur, 3 degree rotation, noise); the
chosen engine's cost by image size; and ingest throughput of scanned PDFs and images
through the real pipeline (OCR + chunking + embedding + store).

    apt-get install tesseract-ocr   # optional: the fallback command, compared too
    # optional, for the comparison (its wheel wants the GUI opencv-python, hence --no-deps):
    pip install --no-deps --target /tmp/ocrlib rapidocr-onnxruntime==1.4.4 \\
        opencv-python-headless pyclipper shapely pyyaml six
    PYTHONPATH=src:.:/tmp/ocrlib python bench/ocr.py

Writes bench/results/ocr.json. Images are rendered at run time, never stored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ragstream.ingest import ocr

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = [
    "backup",
    "restore",
    "snapshot",
    "folder",
    "timeout",
    "retry",
    "index",
    "chunk",
    "search",
    "answer",
    "citation",
    "page",
    "manifest",
    "embedding",
    "rerank",
    "store",
    "collection",
    "window",
    "schedule",
    "archive",
    "policy",
    "report",
    "window",
    "access",
    "token",
    "budget",
    "limit",
    "scanner",
    "contract",
    "invoice",
    "delivery",
    "amount",
    "total",
]


def page_lines(seed: int, n_lines: int = 24) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        " ".join(rng.choice(WORDS, size=7)).capitalize() + f" {int(rng.integers(1, 999))}."
        for _ in range(n_lines)
    ]


def render(lines: list[str], size: tuple[int, int] = (1240, 1754), pt: int = 26) -> Image.Image:
    """An A4 page at 150 dpi (1240 x 1754) with `lines` of 11-point-like text."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, pt)
    for i, line in enumerate(lines):
        draw.text((90, 120 + i * int(pt * 2.2)), line, fill=0, font=font)
    return image


def degraded(image: Image.Image) -> dict[str, Image.Image]:
    rng = np.random.default_rng(7)
    pixels = np.asarray(image, dtype=np.float32)
    noisy = np.clip(pixels + rng.normal(0, 40, pixels.shape), 0, 255).astype(np.uint8)
    return {
        "clean": image,
        "blur_1.5": image.filter(ImageFilter.GaussianBlur(1.5)),
        "rotated_3deg": image.rotate(3, fillcolor=255, expand=True),
        "noise_sigma40": Image.fromarray(noisy),
    }


def cer(reference: str, hypothesis: str) -> float:
    """Levenshtein distance / reference length, on whitespace-collapsed text."""
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    previous = np.arange(len(hyp) + 1)
    hyp_codes = np.frombuffer(hyp.encode("utf-32-le"), dtype=np.uint32)
    for i, char in enumerate(ref, start=1):
        cost = (hyp_codes != ord(char)).astype(np.int64)
        current = np.empty_like(previous)
        current[0] = i
        subst = np.minimum(previous[1:] + 1, previous[:-1] + cost)
        # insertions run left to right: a cumulative minimum of (subst - j) + j
        row = np.concatenate(([i], subst))
        offsets = np.arange(len(row))
        current = np.minimum.accumulate(row - offsets) + offsets
        previous = current
    return float(previous[-1]) / max(len(ref), 1)


def tesseract(image: Image.Image) -> str:
    """The page read as ingest reads it (the tesserocr wheel's libtesseract)."""
    return ocr.ocr_pages([image], 1)[0]


def tesseract_command(image: Image.Image) -> str:
    """The same page read by the fallback, the system's `tesseract` command."""
    library, ocr.LIBRARY = ocr.LIBRARY, "no_such_module"
    try:
        return ocr.ocr_pages([image], 1)[0]
    finally:
        ocr.LIBRARY = library


def rapidocr_engine() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    engine = RapidOCR()

    def run(image: Image.Image) -> str:
        found, _ = engine(np.array(image.convert("RGB")))
        return "\n".join(row[1] for row in (found or []))

    return run


def engines_on_pages(pages: int) -> dict[str, Any]:
    engines: dict[str, Any] = {"tesserocr": tesseract}
    if shutil.which(ocr.COMMAND):
        engines["tesseract-command"] = tesseract_command
    rapid = rapidocr_engine()
    if rapid is not None:
        engines["rapidocr-onnxruntime"] = rapid
    out: dict[str, Any] = {}
    for name, engine in engines.items():
        per_variant: dict[str, dict[str, list[float]]] = {}
        for seed in range(pages):
            lines = page_lines(seed)
            for variant, image in degraded(render(lines)).items():
                started = time.perf_counter()
                text = engine(image)
                seconds = time.perf_counter() - started
                slot = per_variant.setdefault(variant, {"cer": [], "nospace": [], "seconds": []})
                slot["cer"].append(cer("\n".join(lines), text))
                slot["nospace"].append(cer("".join("".join(lines).split()), "".join(text.split())))
                slot["seconds"].append(seconds)
        out[name] = {
            v: {
                "cer_median": round(statistics.median(s["cer"]), 4),
                "cer_ignoring_spaces_median": round(statistics.median(s["nospace"]), 4),
                "pages_per_s": round(1 / statistics.median(s["seconds"]), 2),
            }
            for v, s in per_variant.items()
        }
    return out


# Run in a fresh small interpreter: its children's peak RSS is then the OCR child's alone.
_RSS_OF_CHILD = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def size_cost() -> dict[str, Any]:
    """The engine's seconds, error and peak RSS by page size (the same text, scaled)."""
    out: dict[str, Any] = {}
    lines = page_lines(99)
    with tempfile.TemporaryDirectory() as tmp:
        for dpi in (100, 150, 300):
            scale = dpi / 150
            image = render(lines, (int(1240 * scale), int(1754 * scale)), int(26 * scale))
            started = time.perf_counter()
            text = tesseract(image)
            seconds = time.perf_counter() - started
            path = os.path.join(tmp, "page.png")
            image.save(path)
            command = [sys.executable, "-c", _RSS_OF_CHILD, *(ocr.command(path) or [])]
            rss_kb = int(subprocess.run(command, capture_output=True, check=True).stdout)
            out[f"a4_{dpi}dpi"] = {
                "megapixels": round(image.width * image.height / 1e6, 1),
                "seconds": round(seconds, 2),
                "cer": round(cer("\n".join(lines), text), 4),
                "engine_peak_rss_mb": round(rss_kb / 1024, 1),
            }
    return out


def ingest_throughput(n_pages: int) -> dict[str, Any]:
    """Pages/s of a real ingest (Workspace.ingest) of a scanned PDF and of PNG files."""
    from ragstream.workspace import Workspace

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        (folder / "pdf").mkdir(parents=True)
        (folder / "png").mkdir()
        pages = [render(page_lines(1000 + i)) for i in range(n_pages)]
        pages[0].save(
            folder / "pdf/scan.pdf", "PDF", save_all=True, append_images=pages[1:], resolution=150
        )
        for i, image in enumerate(pages):
            image.save(folder / f"png/page{i}.png")
        (folder / "warm.txt").write_text("Warms the embedder up: not timed.\n")
        with Workspace.open(workspace=Path(tmp) / "ws") as workspace:
            workspace.ingest([folder / "warm.txt"])
            for kind in ("pdf", "png"):
                started = time.perf_counter()
                report = workspace.ingest([folder / kind], keep_missing=True)
                seconds = time.perf_counter() - started
                assert not report.failed, report.failed
                out[kind] = {"pages": n_pages, "pages_per_s": round(n_pages / seconds, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2, help="rendered pages per variant")
    parser.add_argument("--ingest-pages", type=int, default=8)
    args = parser.parse_args()
    result = {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "engines": engines_on_pages(args.pages),
        "engine": ocr.engine(),
        "by_size": size_cost(),
        "ingest": ingest_throughput(args.ingest_pages),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    out = ROOT / "bench/results/ocr.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
