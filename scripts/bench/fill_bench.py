"""Fill benchmark: the 1-page e-policy template filled N times on one core (target >= 200/s).

    .venv/bin/python scripts/bench/fill_bench.py [-n 500]

Scenarios (every document gets a different policy number; names vary as stated):
* ``distinct-names``: a new holder/insured name pair per document from a pool of 60 common
  characters, so most documents need a new font subset (cache misses);
* ``repeat-glyphs``: the same glyph set each time (subset cache hit: only the policy number's
  digits change, which are already in the subset);
* ``fonttools-subset``: the same fill with the subset built by ``fontTools.subset`` (the
  reference path) for a few documents — shows why the raw-table subsetter exists.
Writes bench-results/fill_bench.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import random
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from documents.fill import fill  # noqa: E402
from documents.fonts import default_font  # noqa: E402
from documents.template import TemplateDef  # noqa: E402

POOL = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志文玉兰红梅林海波宁安康晨曦宇航子涵欣怡浩然雨轩梓萱思远嘉豪俊逸"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def load():
    tpl = TemplateDef.from_json((ROOT / "templates/e_policy.json").read_text(encoding="utf-8"))
    pdf = (ROOT / "templates/e_policy.pdf").read_bytes()
    sample = json.loads((ROOT / "templates/e_policy.sample.json").read_text(encoding="utf-8"))
    return pdf, tpl, sample


def run(n: int, params_for) -> dict:
    pdf, tpl, _ = load()
    sizes = []
    t0 = time.perf_counter()
    for i in range(n):
        sizes.append(len(fill(pdf, tpl, params_for(i))))
    dt = time.perf_counter() - t0
    return {"documents": n, "seconds": round(dt, 4), "docs_per_s": round(n / dt, 1),
            "ms_per_doc": round(dt / n * 1000, 3), "avg_pdf_kb": round(sum(sizes) / n / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--out", default=str(ROOT / "bench-results/fill_bench.json"))
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core
    pdf, tpl, sample = load()
    t0 = time.perf_counter()
    font = default_font()
    load_s = time.perf_counter() - t0
    fill(pdf, tpl, sample)  # warm-up (template parse, first subset)
    rnd = random.Random(7)

    def distinct(i: int) -> dict:
        return dict(sample, policy_no=f"PDEA2026112{i:06d}",
                    holder_name=rnd.choice(SURNAMES) + "".join(rnd.sample(POOL, 2)),
                    insured_name=rnd.choice(SURNAMES) + "".join(rnd.sample(POOL, 2)))

    def repeat(i: int) -> dict:
        return dict(sample, policy_no=f"PDEA2026112{i % 10:06d}")

    results = {
        "distinct-names": run(args.n, distinct),
        "repeat-glyphs": run(args.n, repeat),
    }
    # reference: fontTools subsetter per document (slow; a few documents only)
    text = "".join(sorted(set("".join(str(v) for v in sample.values()))))
    k = 5
    t0 = time.perf_counter()
    for _ in range(k):
        font.subset_fonttools(text)
    ft = (time.perf_counter() - t0) / k
    t0 = time.perf_counter()
    for i in range(50):
        font._build_subset(frozenset(g for ch in text + str(i) if (g := font.gid(ch)) is not None))
    raw = (time.perf_counter() - t0) / 50
    results["subset-only"] = {"fonttools_ms": round(ft * 1000, 2), "raw_tables_ms": round(raw * 1000, 3)}
    results["fonttools-subset"] = {"docs_per_s_estimate": round(1 / (ft + results["distinct-names"]["ms_per_doc"] / 1000), 1)}

    print(f"font load (once per process): {load_s * 1000:.0f} ms")
    print(f"{'scenario':18s} {'docs':>6s} {'docs/s':>9s} {'ms/doc':>8s} {'KB/doc':>7s}")
    for name in ("distinct-names", "repeat-glyphs"):
        r = results[name]
        print(f"{name:18s} {r['documents']:6d} {r['docs_per_s']:9.1f} {r['ms_per_doc']:8.3f} {r['avg_pdf_kb']:7.1f}")
    print(f"subset build: raw tables {raw * 1000:.3f} ms, fontTools.subset {ft * 1000:.1f} ms "
          f"(≈{results['fonttools-subset']['docs_per_s_estimate']} docs/s if used per document)")
    target = 200.0
    ok = results["distinct-names"]["docs_per_s"] >= target
    print(f"target >= {target:.0f} docs/s on one core: {'met' if ok else 'NOT met'}")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "fill e_policy (1 page)", "target_docs_per_s": target, "target_met": ok,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "font_load_ms": round(load_s * 1000, 1),
        "results": results}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
