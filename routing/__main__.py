"""`python -m routing`: migrate + seed (unless ROUTING_AUTO_MIGRATE=0), then serve the API with
uvicorn on ROUTING_HOST:ROUTING_PORT (127.0.0.1:8000 by default)."""
from __future__ import annotations

import logging
import os
import sys

from routing.settings import Settings, SettingsError, get_settings


def serve(settings: Settings, migrate: bool = True) -> int:
    import uvicorn

    from routing.api.app import create_app

    settings.check()
    if migrate:
        from routing.db import make_engine, make_session_factory, session_scope
        from routing.migrate import upgrade
        from routing.seed import seed_all

        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        with session_scope(make_session_factory(engine)) as session:
            seed_all(session)
        engine.dispose()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)
    return 0


def main() -> int:
    try:
        settings = get_settings()
        settings.check()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    auto = os.environ.get("ROUTING_AUTO_MIGRATE", "1").strip().lower() not in ("0", "false", "no")
    return serve(settings, migrate=auto)


if __name__ == "__main__":
    sys.exit(main())
