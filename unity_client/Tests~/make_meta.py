#!/usr/bin/env python3
"""Writes the Unity .meta file of every file and folder Unity imports from this package.

Unity reads a package installed from a git URL as immutable and ignores any asset without a .meta, so every
imported path has one committed. GUIDs are md5("facecast:" + path relative to the package root): stable, so
scenes and assets that reference the package's scripts keep their references across versions and checkouts.
Unity skips hidden paths and those ending in "~" (Tests~, Samples~, Documentation~); those get no .meta.
Existing .meta files are left as they are.

    python unity_client/Tests~/make_meta.py
"""
import hashlib
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent

# The importer blocks Unity 2021.3 writes for these asset types (as in Unity's own packages).
TAIL = "  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
MONO = ("MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n"
        "  icon: {instanceID: 0}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n")


def guid(rel):
    return hashlib.md5(("facecast:" + rel).encode()).hexdigest()


def importer(path):
    if path.is_dir():
        return "folderAsset: yes\nDefaultImporter:\n" + TAIL
    if path.suffix == ".cs":
        return MONO
    if path.suffix == ".asmdef":
        return "AssemblyDefinitionImporter:\n" + TAIL
    if path.name == "package.json":
        return "PackageManifestImporter:\n" + TAIL
    if path.suffix in (".md", ".json", ".txt", ".bytes"):
        return "TextScriptImporter:\n" + TAIL
    raise SystemExit(f"{path}: no importer known here; add one to {Path(__file__).name}")


def ignored(rel_parts):
    return any(p.startswith(".") or p.endswith("~") for p in rel_parts)


def imported(pkg=PKG):
    """Every path (relative, '/'-separated) under pkg that Unity imports, excluding .meta files."""
    out = []
    for p in sorted(pkg.rglob("*")):
        rel = p.relative_to(pkg)
        if ignored(rel.parts) or p.suffix == ".meta":
            continue
        out.append(rel.as_posix())
    return out


def meta_text(rel):
    return f"fileFormatVersion: 2\nguid: {guid(rel)}\n" + importer(PKG / rel)


def main():
    written = 0
    for rel in imported():
        meta = PKG / (rel + ".meta")
        if not meta.exists():
            meta.write_text(meta_text(rel))
            written += 1
    print(f"{written} .meta files written")


if __name__ == "__main__":
    sys.exit(main())
