"""Type-checks dashboard JSON against Grafana's own schema types (@grafana/schema) with the TypeScript compiler.

@grafana/schema ships TypeScript declarations, not a JSON schema, so the check writes one TypeScript file in
which every dashboard, every panel's `options` and `fieldConfig.defaults.custom`, and every Tempo query is an
object literal that must satisfy the matching type: the dashboard model, the panel plugin's `Options` and
`FieldConfig` (from its panelcfg), and `TempoQuery`. Object literals get TypeScript's excess-property check,
so a misspelt option fails as well as a wrong value. Grafana's string enums are loosened to their string
values (`${Enum}`), which is what JSON holds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path("node_modules/@grafana/schema")
PANELCFG = "dist/types/raw/composable/{plugin}/panelcfg/x/types.gen"

_PRELUDE = """\
import type { Dashboard } from '@grafana/schema';
import type { TempoQuery } from '@grafana/schema/dist/types/raw/composable/tempo/dataquery/x/types.gen';
{imports}

type Jsonify<T> = T extends string ? `${T}`
  : T extends number | boolean | null | undefined ? T
  : T extends ReadonlyArray<infer U> ? Array<Jsonify<U>>
  : T extends object ? { [K in keyof T]: Jsonify<T[K]> }
  : T;
type DeepPartial<T> = T extends ReadonlyArray<infer U> ? Array<DeepPartial<U>>
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> }
  : T;
type NoCustom = { [key: string]: never };

"""


def panel_plugins(npm_prefix: Path) -> set[str]:
    """Panel types that @grafana/schema has a panelcfg (typed options) for."""
    root = npm_prefix / SCHEMA_DIR / "dist/types/raw/composable"
    return {p.parent.name for p in root.glob("*/panelcfg")}


def _has_field_config(npm_prefix: Path, plugin: str) -> bool:
    text = (npm_prefix / SCHEMA_DIR / (PANELCFG.format(plugin=plugin) + ".d.ts")).read_text(encoding="utf-8")
    return "export interface FieldConfig " in text


def render_check(boards: dict[str, dict[str, Any]], npm_prefix: Path) -> str:
    plugins = sorted({p["type"] for b in boards.values() for p in b["panels"] if p["type"] != "row"})
    imports = "\n".join(
        f"import type * as {name}Cfg from '@grafana/schema/{PANELCFG.format(plugin=name)}';" for name in plugins
    )
    lines = [_PRELUDE.replace("{imports}", imports)]
    for index, (file_name, board) in enumerate(sorted(boards.items())):
        lines.append(f"// {file_name}")
        lines.append(f"export const dashboard{index} = {json.dumps(board)} satisfies Jsonify<Dashboard>;")
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            var = f"d{index}p{panel['id']}"
            plugin = panel["type"]
            lines.append(
                f"export const {var}Options = {json.dumps(panel['options'])} satisfies Jsonify<{plugin}Cfg.Options>;"
            )
            custom = panel["fieldConfig"]["defaults"].get("custom", {})
            custom_type = (
                f"DeepPartial<Jsonify<{plugin}Cfg.FieldConfig>>"
                if _has_field_config(npm_prefix, plugin)
                else "NoCustom"
            )
            lines.append(f"export const {var}Custom = {json.dumps(custom)} satisfies {custom_type};")
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == "tempo":
                    lines.append(
                        f"export const {var}{target['refId']} = {json.dumps(target)} satisfies Jsonify<TempoQuery>;"
                    )
    return "\n".join(lines) + "\n"


def typecheck(boards: dict[str, dict[str, Any]], npm_prefix: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Runs tsc on the rendered check; returncode 0 means every literal satisfied its type."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "check.ts").write_text(render_check(boards, npm_prefix), encoding="utf-8")
    schema = npm_prefix / SCHEMA_DIR
    tsconfig = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "es2022",
            "module": "esnext",
            "moduleResolution": "bundler",
            "skipLibCheck": True,
            "types": [],
            "baseUrl": ".",
            "paths": {
                "@grafana/schema": [str(schema / "dist/types/index.d.ts")],
                "@grafana/schema/*": [str(schema) + "/*"],
            },
        },
        "files": ["check.ts"],
    }
    (workdir / "tsconfig.json").write_text(json.dumps(tsconfig, indent=2), encoding="utf-8")
    tsc = npm_prefix / "node_modules/typescript/bin/tsc"
    return subprocess.run(
        ["node", str(tsc), "-p", str(workdir / "tsconfig.json")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=workdir,
    )
