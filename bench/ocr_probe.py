"""OCR probe (issue 16, groundwork: OCR is not wired into ingest yet): character error
rate and seconds per image of rapidocr-onnxruntime on text rendered here with PIL, clean
and degraded (blur, 3 degree rotation, noise).

    pip install --no-deps --target /tmp/ocrlib rapidocr-onnxruntime==1.4.4 \\
        opencv-python-headless pyclipper shapely
    PYTHONPATH=/tmp/ocrlib python bench/ocr_probe.py

(`--no-deps` with the headless OpenCV: the wheel's own requirement, opencv-python, is
the GUI build.) Writes bench/results/ocr_probe.json.
"""

from __future__ import annotations

import json
import platform
import random
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
LINES = [
    "The backup tool copies each file into the target folder",
    "and compares the sizes, so a partial copy is noticed",
    "at once and retried with a longer timeout of 30 seconds.",
    "Restores copy the chosen snapshot back into an empty folder.",
]


def render() -> Image.Image:
    image = Image.new("L", (1400, 40 + 80 * len(LINES)), 255)
    draw = ImageDraw.Draw(image)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 32
        )
    except OSError:
        font = ImageFont.load_default(size=32)
    for i, line in enumerate(LINES):
        draw.text((30, 30 + i * 80), line, fill=0, font=font)
    return image


def noisy(image: Image.Image) -> Image.Image:
    rng = random.Random(7)
    pixels = np.array(image, dtype=np.int16)
    noise = np.array(
        [[rng.gauss(0, 40) for _ in range(pixels.shape[1])] for _ in range(pixels.shape[0])]
    )
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def cer(reference: str, hypothesis: str) -> float:
    """Levenshtein distance / reference length."""
    previous = list(range(len(hypothesis) + 1))
    for i, a in enumerate(reference, start=1):
        current = [i]
        for j, b in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] / max(len(reference), 1)


def main() -> None:
    from rapidocr_onnxruntime import RapidOCR

    started = time.perf_counter()
    engine = RapidOCR()
    init = time.perf_counter() - started
    clean = render()
    variants = {
        "clean": clean,
        "blur_1.5": clean.filter(ImageFilter.GaussianBlur(1.5)),
        "rotated_3deg": clean.rotate(3, fillcolor=255, expand=True),
        "noise_sigma40": noisy(clean),
    }
    reference = "\n".join(LINES)
    result: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "engine": "rapidocr-onnxruntime 1.4.4 (PP-OCRv4 det/rec ONNX inside the wheel)",
        "image_px": list(clean.size),
        "init_seconds": round(init, 2),
    }
    for name, image in variants.items():
        started = time.perf_counter()
        found, _ = engine(np.array(image.convert("RGB")))
        seconds = time.perf_counter() - started
        text = "\n".join(row[1] for row in (found or []))
        result[name] = {
            "cer": round(cer(reference, text), 4),
            "cer_ignoring_spaces": round(cer(reference.replace(" ", ""), text.replace(" ", "")), 4),
            "seconds": round(seconds, 2),
        }
    out = ROOT / "bench/results/ocr_probe.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
