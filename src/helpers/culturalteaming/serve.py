"""Serve the CulturalTeaming view to annotators who never see a notebook (Voila; one session per browser tab).

    python -m helpers.culturalteaming.serve --sessions-dir outputs/11_culturalteaming/annotators
    # -> open the printed http://127.0.0.1:8866/?token=... ; each tab gets its own kernel, view and session log

Binds 127.0.0.1 with a random token by default (``--token`` to choose one; another ``--host`` only on purpose).
Every tab's kernel builds the verifier, the target panel and the hinter from the options below and writes its
session log into ``--sessions-dir``; ``notebooks/11_culturalteaming`` analyses that folder (``sessions_dir``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

CONFIG_ENV = "CULTURALTEAMING_CONFIG"
APP_CELL = "from helpers.culturalteaming.serve import app_view\napp_view()"


def app_view():
    """The view of one tab (called by the served notebook): components and folder from ``CONFIG_ENV``."""
    from .components import Components
    from .ui import TeamingView

    cfg = json.loads(Path(os.environ[CONFIG_ENV]).read_text())
    comp = Components(
        cfg["verifier_model"],
        cfg["verifier_base_url"],
        cfg["target_models"],
        cfg["target_base_url"],
        cfg["challenge_k"],
        cfg["hint_model"],
        cfg["hint_base_url"],
        cfg["hint_max_tokens"],
        cfg["backend"],
        cache_dir=Path(cfg["sessions_dir"]) / ".cache",
    )
    view = TeamingView(cfg["sessions_dir"], comp)
    return view.widget


def write_app(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(APP_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "culturalteaming.ipynb"
    nbformat.write(nb, path)
    return path


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m helpers.culturalteaming.serve", description=__doc__.split("\n")[0])
    p.add_argument("--sessions-dir", default="outputs/11_culturalteaming/annotators", help="where session logs go")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--token", default="", help="access token (default: a random one, printed)")
    p.add_argument("--verifier-model", default="smollm2-135m-instruct")
    p.add_argument("--verifier-base-url", default="")
    p.add_argument("--target-models", default="smollm2-135m-instruct", help="comma-separated")
    p.add_argument("--target-base-url", default="")
    p.add_argument("--challenge-k", type=int, default=2)
    p.add_argument("--hint-model", default="", help="LLM for hints and rewrites (empty: strategy hints only)")
    p.add_argument("--hint-base-url", default="")
    p.add_argument("--hint-max-tokens", type=int, default=128)
    p.add_argument("--backend", default="hf")
    return p.parse_args(argv)


def voila_command(app: Path, host: str, port: int, token: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voila",
        str(app),
        "--no-browser",
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--Voila.ip={host}",
        f"--token={token}",
        "--VoilaConfiguration.show_tracebacks=False",
    ]


def main(argv=None) -> int:
    a = parse_args(argv)
    from .targets import TargetPanel

    targets = [m for m in a.target_models.split(",") if m]
    try:
        TargetPanel([type("T", (), {"name": m})() for m in targets], k=a.challenge_k)  # checks k and names
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sessions = Path(a.sessions_dir).resolve()
    sessions.mkdir(parents=True, exist_ok=True)
    token = a.token or secrets.token_urlsafe(24)
    work = Path(tempfile.mkdtemp(prefix="culturalteaming-"))
    cfg = {
        "sessions_dir": str(sessions),
        "verifier_model": a.verifier_model,
        "verifier_base_url": a.verifier_base_url,
        "target_models": targets,
        "target_base_url": a.target_base_url,
        "challenge_k": a.challenge_k,
        "hint_model": a.hint_model,
        "hint_base_url": a.hint_base_url,
        "hint_max_tokens": a.hint_max_tokens,
        "backend": a.backend,
    }
    (work / "config.json").write_text(json.dumps(cfg))
    app = write_app(work)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {a.host}: anyone who can reach it and has the token can write sessions",
            file=sys.stderr,
        )
    print(f"CulturalTeaming: http://{a.host}:{a.port}/?token={token}  (sessions in {sessions})", flush=True)
    env = {
        **os.environ,
        CONFIG_ENV: str(work / "config.json"),
        "TQDM_DISABLE": "1",  # no progress bars in the page
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    os.chdir(work)
    cmd = voila_command(app, a.host, a.port, token)
    os.execve(cmd[0], cmd, env)  # voila replaces this process: a signal to it stops the server
    return 0


if __name__ == "__main__":
    sys.exit(main())
