"""``revloop serve``: the web dashboard (see docs/web.md)."""

from __future__ import annotations

import socket
import sys
from typing import Annotated

import typer

from revloop.adapters.db.migrations import require_current
from revloop.bootstrap import build


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from revloop.domain.issues import InputError

        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="choose another --port or --host"
        ) from None
    return sock


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on ([web] host).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="Port ([web] port); 0 = any free port.")
    ] = None,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            help="Mark the session cookie Secure (default: [web] secure_cookies; auto = over https).",
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Behind a TLS reverse proxy: its address(es), whose X-Forwarded-For/-Proto are trusted.",
        ),
    ] = None,
) -> None:
    """Run the web dashboard with uvicorn and print its address."""
    import uvicorn

    from revloop.web import auth
    from revloop.web.app import create_app

    application = build()
    try:
        require_current(application.engine)
        settings = application.settings
        chosen_host = host or settings.web_host
        sock = _bind(chosen_host, settings.web_port if port is None else port)
        bound = sock.getsockname()[1]
        shown = f"[{chosen_host}]" if ":" in chosen_host else chosen_host
        print(f"revloop dashboard: http://{shown}:{bound}/  (Ctrl+C stops it)", file=sys.stderr)
        if auth.count_active(application.engine) == 0:
            print(
                "No user can sign in yet. Create the first one (an admin) with:\n"
                "  revloop user add NAME --role admin\n"
                "It asks for the password twice; nothing else is needed.",
                file=sys.stderr,
            )
        if chosen_host not in ("127.0.0.1", "localhost", "::1") and not forwarded_allow_ips:
            print(
                "Listening beyond this machine: put a TLS reverse proxy in front (see docs/web.md) "
                "and pass --forwarded-allow-ips so cookies are marked Secure.",
                file=sys.stderr,
            )
        public = settings.web_public_url or f"http://{shown}:{bound}"
        web = create_app(application, secure_cookies=secure_cookies, public_url=public)
        config = uvicorn.Config(
            web,
            log_level=settings.log_level,
            lifespan="off",
            ws="none",
            proxy_headers=bool(forwarded_allow_ips),
            forwarded_allow_ips=forwarded_allow_ips or None,
            server_header=False,
        )
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            sock.close()
    finally:
        application.close()


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)


__all__ = ["register", "serve"]
