"""Write BEIR-layout copies of the `zaragoza-construction-faq` pairs (CC-BY-4.0).

Answers become the corpus, questions the queries; each question's one relevant document
is its own answer. English is the main set; the Swedish originals make a second set
(the same structure, another language: MiniLM is an English model, so it checks that
fusion does not lean on dense search where dense is weak).

    python bench/make_faq_beir.py [--out bench/data]   # -> faq-en/ and faq-sv/
Needs `pip install zaragoza-construction-faq` (in the [dev] extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import zaragoza_construction_faq as faq


def write_beir(pairs: list[dict], out: Path) -> None:
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        for p in pairs:
            row = {"_id": p["id"], "title": "", "text": p["a"]}
            corpus.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as queries:
        for p in pairs:
            queries.write(
                json.dumps({"_id": "q-" + p["id"], "text": p["q"]}, ensure_ascii=False) + "\n"
            )
    lines = ["query-id\tcorpus-id\tscore"] + [f"q-{p['id']}\t{p['id']}\t1" for p in pairs]
    (out / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    for lang in ("en", "sv"):
        pairs = faq.load(lang=lang)
        write_beir(pairs, args.out / f"faq-{lang}")
        print(f"{args.out / f'faq-{lang}'}: {len(pairs)} documents and queries")


if __name__ == "__main__":
    main()
