"""One-off: writes src/ragstream/index/int8_scores.onnx, the dense search's int8 pass.

The graph is one MatMulInteger: queries (uint8: the int8 query plus 128) times the index's
vectors (int8, transposed), giving int32 scores; the caller subtracts 128 * each row's sum.
(A zero-point input would do that inside, but measured here it made the product ~6x slower,
and signed queries ~15x.) onnxruntime runs it several times faster than
numpy's float32 product over the same rows (numpy has no fast integer product). Needs the
`onnx` package, which the project does not depend on:

    pip install --target /tmp/onnxpkg onnx && PYTHONPATH=/tmp/onnxpkg python scripts/make_int8_scorer.py
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

OUT = Path(__file__).resolve().parent.parent / "src/ragstream/index/int8_scores.onnx"


def main() -> None:
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["queries", "vectors_t"], ["scores"])],
        "int8_scores",
        inputs=[
            helper.make_tensor_value_info("queries", TensorProto.UINT8, ["n_queries", "dim"]),
            helper.make_tensor_value_info("vectors_t", TensorProto.INT8, ["dim", "n_rows"]),
        ],
        outputs=[
            helper.make_tensor_value_info("scores", TensorProto.INT32, ["n_queries", "n_rows"])
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ragstream"
    )
    model.ir_version = 8  # readable by every onnxruntime the project supports
    onnx.checker.check_model(model)
    onnx.save(model, OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
