"""Generated code systems for the benchmark: deterministic, worded like real procedure codes.

`generate_codesystem(n)` builds a CodeSystem with `n` concepts in a three-level is-a hierarchy
(chapters > groups > leaf procedures). Displays are composed from word lists (approach, action,
device, site, laterality, population), so a text filter matches a realistic share of concepts:
a site word such as "femoral" occurs in about 1 in 20 displays, a device word in about 1 in 12.
Every system has a ValueSet that includes all of it, which is what `$expand` with `filter` runs on.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

BASE = "https://fhir.cpt-plugin.org"
SEED = 33952

CHAPTERS = [
    "Cardiovascular procedures",
    "Respiratory procedures",
    "Vascular access procedures",
    "Extracorporeal support procedures",
    "Thoracic procedures",
    "Digestive procedures",
    "Musculoskeletal procedures",
    "Nervous system procedures",
    "Urinary procedures",
    "Integumentary procedures",
    "Endocrine procedures",
    "Lymphatic procedures",
]
APPROACHES = [
    "Percutaneous",
    "Open",
    "Endoscopic",
    "Laparoscopic",
    "Transcatheter",
    "Image-guided",
    "Ultrasound-guided",
    "Fluoroscopic",
    "Thoracoscopic",
    "Minimally invasive",
]
ACTIONS = [
    "insertion",
    "removal",
    "repositioning",
    "replacement",
    "repair",
    "revision",
    "exploration",
    "ligation",
    "drainage",
    "biopsy",
    "excision",
    "dilation",
    "occlusion",
    "reconstruction",
    "decompression",
    "aspiration",
    "injection",
    "stabilization",
]
DEVICES = [
    "cannula",
    "catheter",
    "stent",
    "graft",
    "sheath",
    "drain",
    "pacing lead",
    "port",
    "balloon",
    "filter",
    "shunt",
    "closure device",
]
SITES = [
    "femoral artery",
    "femoral vein",
    "internal jugular vein",
    "subclavian artery",
    "axillary artery",
    "carotid artery",
    "brachial artery",
    "radial artery",
    "iliac artery",
    "aorta",
    "pulmonary artery",
    "cardiac atrium",
    "cardiac ventricle",
    "pleural space",
    "pericardium",
    "popliteal artery",
    "saphenous vein",
    "portal vein",
    "renal artery",
    "mesenteric artery",
]
SIDES = ["left", "right", "bilateral", "unilateral"]
POPULATIONS = ["adult", "child 6 years or older", "child under 6 years", "newborn", "any age"]


def system_url(size: int) -> str:
    return f"{BASE}/CodeSystem/bench-synthetic-{size}"


def valueset_url(size: int) -> str:
    return f"{BASE}/ValueSet/bench-synthetic-{size}"


def _display(rng: random.Random) -> str:
    parts = [
        rng.choice(APPROACHES),
        rng.choice(ACTIONS),
        "of",
        rng.choice(DEVICES),
        "in",
        rng.choice(SIDES),
        rng.choice(SITES) + ",",
        rng.choice(POPULATIONS),
    ]
    return " ".join(parts)


def generate_codesystem(size: int, seed: int = SEED) -> dict[str, Any]:
    """A CodeSystem with exactly `size` concepts (chapters and groups count), same output per seed."""
    if size < 20:
        raise ValueError("size must be at least 20")
    rng = random.Random(seed * 1_000_003 + size)
    chapters = min(len(CHAPTERS), max(2, size // 1000))
    groups = max(chapters, size // 100)
    leaves = size - chapters - groups
    tree: list[dict[str, Any]] = [
        {"code": f"C{c:02d}", "display": CHAPTERS[c], "concept": []} for c in range(chapters)
    ]
    group_nodes: list[dict[str, Any]] = []
    for g in range(groups):
        chapter = tree[g % chapters]
        node = {
            "code": f"G{g:05d}",
            "display": f"{rng.choice(ACTIONS).capitalize()} of {rng.choice(DEVICES)}, "
            f"{chapter['display'].split()[0].lower()} group {g}",
            "concept": [],
        }
        chapter["concept"].append(node)
        group_nodes.append(node)
    for i in range(leaves):
        group_nodes[i % groups]["concept"].append({"code": f"B{i:06d}", "display": _display(rng)})
    return {
        "resourceType": "CodeSystem",
        "id": f"bench-synthetic-{size}",
        "url": system_url(size),
        "version": "1.0.0",
        "name": f"BenchSynthetic{size}",
        "title": f"Synthetic procedure codes for benchmarking ({size:,} concepts)",
        "status": "draft",
        "experimental": True,
        "publisher": "cpt-plugin benchmark",
        "description": "Generated, meaningless procedure-like codes used only to measure the terminology "
        "operations at realistic code system sizes. Not clinical content.",
        "caseSensitive": True,
        "hierarchyMeaning": "is-a",
        "content": "complete",
        "count": size,
        "concept": tree,
    }


def generate_valueset(size: int) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": f"bench-synthetic-{size}",
        "url": valueset_url(size),
        "version": "1.0.0",
        "name": f"BenchSynthetic{size}All",
        "title": f"All synthetic benchmark codes ({size:,})",
        "status": "draft",
        "experimental": True,
        "compose": {"include": [{"system": system_url(size)}]},
    }


def count_concepts(concepts: list[dict[str, Any]]) -> int:
    return sum(1 + count_concepts(c.get("concept", [])) for c in concepts)


def leaf_codes(codesystem: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def walk(concepts: list[dict[str, Any]]) -> None:
        for concept in concepts:
            if concept.get("concept"):
                walk(concept["concept"])
            else:
                out.append(concept["code"])

    walk(codesystem["concept"])
    return out


def write_content(folder: Path, sizes: list[int]) -> Path:
    """Write CodeSystem + ValueSet JSON for each size (kept when already there and complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        cs_path = folder / f"CodeSystem-bench-synthetic-{size}.json"
        vs_path = folder / f"ValueSet-bench-synthetic-{size}.json"
        if not cs_path.exists():
            tmp = cs_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(generate_codesystem(size), separators=(",", ":")))
            tmp.replace(cs_path)
        if not vs_path.exists():
            vs_path.write_text(json.dumps(generate_valueset(size), indent=1))
    return folder


def probe_code(size: int) -> str:
    """A leaf code in the middle of the generated system (same layout as generate_codesystem)."""
    chapters = min(len(CHAPTERS), max(2, size // 1000))
    groups = max(chapters, size // 100)
    return f"B{(size - chapters - groups) // 2:06d}"
