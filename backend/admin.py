"""Administration commands: ``python -m backend.admin create-tenant NAME`` | ``migrate`` |
``import-templates TENANT_ID [CODE...]``."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from backend import db
from backend.errors import AppError
from backend.runtime import Runtime
from backend.settings import Settings, SettingsError


async def _create_tenant(settings: Settings, name: str) -> int:
    from backend.services.create_tenant import create_tenant

    created = await create_tenant(name, Runtime.from_settings(settings).cipher)
    print(json.dumps(created.to_dict(), ensure_ascii=False))
    return 0


async def _import_templates(settings: Settings, tenant_id: str, codes: list[str]) -> int:
    from backend.models.tenant import Tenant
    from backend.services.templates_catalog import TemplateNotFound, import_examples

    tenant = await Tenant.get_or_none(id=tenant_id) if len(tenant_id) == 36 else None
    if tenant is None:
        raise TemplateNotFound(f"no tenant {tenant_id}", code="TENANT_NOT_FOUND")
    items = await import_examples(tenant, Runtime.from_settings(settings), actor="admin:cli",
                                  codes=codes or None)
    print(json.dumps([{"code": t["code"], "id": t["id"], "imported": t["imported"]}
                      for t in items], ensure_ascii=False))
    return 0


async def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    await db.init_db(settings)
    try:
        await db.migrate(settings)
        if args.command == "create-tenant":
            return await _create_tenant(settings, args.name)
        if args.command == "import-templates":
            return await _import_templates(settings, args.tenant_id, args.codes)
        print(json.dumps({"migrated": True}))
        return 0
    finally:
        await db.close_db()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.admin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply pending database migrations")
    create = sub.add_parser("create-tenant", help="create a tenant; prints its app key and secret once")
    create.add_argument("name")
    templates = sub.add_parser("import-templates",
                               help="import the shipped example templates (templates/) for a tenant")
    templates.add_argument("tenant_id")
    templates.add_argument("codes", nargs="*", help="only these codes (default: all eight)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except (AppError, SettingsError) as exc:
        print(json.dumps({"error": getattr(exc, "code", "SETTINGS_INVALID"), "message": str(exc)}),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
