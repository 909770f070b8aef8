"""The packaged int8 MiniLM embedder, run for real (onnxruntime, the shipped model files)."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from ragstream.errors import ConfigError
from ragstream.index.embedder import Embedder, create_embedder
from ragstream.index.onnx import BUILTIN_DIR, OnnxEmbedder

REFERENCE = Path(__file__).parent.parent / "data" / "minilm_reference.npz"
TRICKY = "Café  au lait,\tnaïve façades — 東京 costs $3.50/kg (e.g. Tokenization!)\nend."


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder.from_spec("builtin")


def _words(n: int) -> str:
    return " ".join(f"word{i % 97} alpha{i % 13}" for i in range(n))


def test_builtin_is_an_embedder_with_the_packaged_card(embedder: OnnxEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim, embedder.max_tokens) == ("all-MiniLM-L6-v2-int8", 384, 256)


def test_embeddings_are_float32_unit_vectors(embedder: OnnxEmbedder) -> None:
    vectors = embedder.embed(["one short text", _words(400), "", "x"])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)
    query = embedder.embed_query("how do I rotate the key?")
    assert query.shape == (384,) and query.dtype == np.float32


def test_deterministic_and_order_preserving(embedder: OnnxEmbedder) -> None:
    texts = [_words(200), "tiny", "a medium sized sentence about concrete curing", _words(30)]
    first = embedder.embed(texts)
    np.testing.assert_array_equal(first, embedder.embed(texts))
    # Sorting by length inside embed() must not scramble the output order.
    reversed_ = embedder.embed(texts[::-1])[::-1]
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    # A vector is a function of its text alone: batch-mates, order and the query path
    # give the very same bits (a re-ingest reproduces the index exactly).
    np.testing.assert_array_equal(first, alone)
    np.testing.assert_array_equal(reversed_, alone)
    np.testing.assert_array_equal(embedder.embed_query(texts[1]), alone[1])
    mates = embedder.embed([texts[2], "another text of about the same length here", _words(5)])
    np.testing.assert_array_equal(mates[0], alone[2])


def test_quality_against_fp32_sentence_transformers(embedder: OnnxEmbedder) -> None:
    reference = np.load(REFERENCE)
    sentences = [str(s) for s in reference["sentences"]]
    batched = embedder.embed(sentences)
    alone = np.stack([embedder.embed_query(s) for s in sentences])
    assert len(sentences) >= 20
    for vectors in (batched, alone):
        cosines = np.sum(vectors * reference["embeddings"], axis=1)
        assert cosines.mean() >= 0.97, cosines
        assert cosines.min() >= 0.95, cosines


def test_similar_meaning_ranks_first(embedder: OnnxEmbedder) -> None:
    docs = embedder.embed(
        [
            "The invoice must be paid within thirty days of receipt.",
            "To rotate an API key, create a new key, deploy it, then revoke the old one.",
            "Concrete slabs need 28 days to cure before full loading.",
        ]
    )
    scores = docs @ embedder.embed_query("how do I change my access token?")
    assert int(np.argmax(scores)) == 1, scores


def test_token_spans_map_back_to_the_text(embedder: OnnxEmbedder) -> None:
    spans = embedder.token_spans(TRICKY)
    assert spans and all(0 <= s < e <= len(TRICKY) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    # Word pieces cover every non-space character exactly once, and nothing else.
    assert "".join(TRICKY[s:e] for s, e in spans) == "".join(TRICKY.split())
    pieces = [TRICKY[s:e] for s, e in spans]
    assert "Café" in pieces and "東" in pieces
    assert embedder.count_tokens(TRICKY) == len(spans)
    assert embedder.token_spans("") == [] and embedder.count_tokens("") == 0


def test_spans_never_truncate_but_the_model_input_does(embedder: OnnxEmbedder) -> None:
    long_text = _words(600)
    spans = embedder.token_spans(long_text)
    assert embedder.count_tokens(long_text) == len(spans) > 1000
    # The model sees [CLS] + 254 tokens + [SEP]; what follows must not change the vector.
    cut = long_text[: spans[253][1]]
    head = embedder.embed_query(cut)
    np.testing.assert_allclose(embedder.embed_query(long_text), head, atol=1e-6)
    np.testing.assert_allclose(embedder.embed_query(long_text + " more tail"), head, atol=1e-6)
    shorter = embedder.embed_query(long_text[: spans[200][1]])
    assert not np.allclose(shorter, head, atol=1e-3)


def test_factory_builds_the_builtin(embedder: OnnxEmbedder) -> None:
    built = create_embedder("builtin")
    assert isinstance(built, OnnxEmbedder) and built.name == embedder.name


def _model_dir(tmp_path: Path, name: str, *, card: bool, nested: bool = False) -> Path:
    """A model directory like a user's or the Docker image's, linking the packaged weights."""
    target = tmp_path / name
    (target / "onnx" if nested else target).mkdir(parents=True)
    (target / "onnx" / "model.onnx" if nested else target / "model.onnx").symlink_to(
        BUILTIN_DIR / "model.onnx"
    )
    shutil.copy(BUILTIN_DIR / "tokenizer.json", target)
    if card:
        shutil.copy(BUILTIN_DIR / "ragstream-model.json", target)
    return target


def test_a_copy_of_the_builtin_dir_keeps_its_name(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    copy = OnnxEmbedder.from_spec(str(_model_dir(tmp_path, "elsewhere", card=True)))
    assert (copy.name, copy.dim) == (embedder.name, embedder.dim)
    np.testing.assert_allclose(copy.embed_query("same"), embedder.embed_query("same"), atol=1e-6)


def test_a_plain_model_dir_is_named_after_itself(tmp_path: Path) -> None:
    plain = OnnxEmbedder.from_spec(str(_model_dir(tmp_path, "my-model", card=False, nested=True)))
    # No ragstream-model.json: the dim comes from the graph, the limit from tokenizer.json.
    assert (plain.name, plain.dim, plain.max_tokens) == ("my-model", 384, 256)


def test_sentence_transformers_settings_are_read(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "st-layout", card=False)
    (model_dir / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    (model_dir / "1_Pooling").mkdir()
    (model_dir / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True})
    )
    cls_pooled = OnnxEmbedder(model_dir)
    assert cls_pooled.max_tokens == 128
    vector = cls_pooled.embed_query("pooling by the first token")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5


@pytest.mark.parametrize("spec", ["./no/such/model", "/no/such/dir", "not a valid id!", "a/b/c"])
def test_bad_specs_get_a_one_line_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="embedder=") as caught:
        OnnxEmbedder.from_spec(spec)
    assert "\n" not in str(caught.value) and "builtin" in str(caught.value)


def test_incomplete_or_corrupt_model_dirs(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"needs model\.onnx"):
        OnnxEmbedder.from_spec(str(empty))
    broken = _model_dir(tmp_path, "broken", card=False)
    (broken / "model.onnx").unlink()
    (broken / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"cannot load .*model\.onnx"):
        OnnxEmbedder.from_spec(str(broken))
    (broken / "ragstream-model.json").write_text(json.dumps({"dim": "large"}))
    with pytest.raises(ConfigError, match="must be whole numbers"):
        OnnxEmbedder(broken)
    (broken / "tokenizer.json").write_text("{oops")
    with pytest.raises(ConfigError, match=r"tokenizer\.json"):
        OnnxEmbedder(broken)


def test_unreachable_hub_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot fetch it from the Hugging Face hub") as caught:
        # Port 9 (discard) on loopback: refused at once, as an offline machine would be.
        OnnxEmbedder.from_spec(
            "sentence-transformers/all-MiniLM-L6-v2",
            hub_endpoint="http://127.0.0.1:9",
            cache_dir=tmp_path,
        )
    assert "embedder='sentence-transformers/all-MiniLM-L6-v2'" in str(caught.value)


class FakeHub(BaseHTTPRequestHandler):
    """The four Hugging Face hub calls snapshot_download makes, for one repo on disk."""

    repo_id = "someone/tiny-minilm"
    sha = "0123456789abcdef0123456789abcdef01234567"
    root: Path
    downloaded: list[str] = []  # noqa: RUF012 (shared log)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        path = self.path.split("?")[0]
        files = sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*"))
        files = [f for f in files if (self.root / f).is_file()]
        if path.startswith(f"/api/models/{self.repo_id}/revision/"):
            siblings = [{"rfilename": f} for f in files]
            return self._json({"id": self.repo_id, "sha": self.sha, "siblings": siblings}, body)
        if path.startswith(f"/api/models/{self.repo_id}/tree/"):
            tree = [
                {"type": "file", "path": f, "size": (self.root / f).stat().st_size, "oid": "0" * 40}
                for f in files
            ]
            return self._json(tree, body)
        prefix = f"/{self.repo_id}/resolve/{self.sha}/"
        if path.startswith(prefix) and path[len(prefix) :] in files:
            name = path[len(prefix) :]
            data = (self.root / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Repo-Commit", self.sha)
            self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            self.end_headers()
            if body:
                FakeHub.downloaded.append(name)
                self.wfile.write(data)
            return None
        return self._json({"error": "Repository not found"}, body, status=404)

    def _json(self, payload: object, body: bool, status: int = 200) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if body:
            self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


def test_a_hugging_face_id_is_downloaded_once_and_named_by_its_id(tmp_path: Path) -> None:
    # A repo laid out as sentence-transformers publishes them, plus weights we must not fetch.
    repo = _model_dir(tmp_path, "repo", card=False, nested=True)
    (repo / "onnx" / "model_O4.onnx").write_bytes(b"another export, not wanted")
    (repo / "pytorch_model.bin").write_bytes(b"torch weights, not wanted")
    (repo / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 200}))
    FakeHub.root, FakeHub.downloaded = repo, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        hub = OnnxEmbedder.from_spec(
            FakeHub.repo_id, hub_endpoint=endpoint, cache_dir=tmp_path / "c"
        )
        again = OnnxEmbedder.from_spec(
            FakeHub.repo_id, hub_endpoint=endpoint, cache_dir=tmp_path / "c"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (hub.name, hub.dim, hub.max_tokens) == (FakeHub.repo_id, 384, 200)
    wanted = ["onnx/model.onnx", "sentence_bert_config.json", "tokenizer.json"]
    assert sorted(FakeHub.downloaded) == wanted
    assert again.name == hub.name  # the second load came from the cache
    vector = hub.embed_query("downloaded model works")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
