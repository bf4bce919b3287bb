"""The Unity package's layout as Unity's Package Manager reads it (unity_client/).

A package installed from a git URL is immutable in Unity: an asset without a committed .meta is ignored, so every
file and folder Unity imports needs one, with a GUID that never changes (scenes reference scripts by GUID). The C#
side (compiling each asmdef, the NUnit tests, end to end) is unity_client/Tests~/run_tests.sh.
"""
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "unity_client"

# What Unity 2021.3 writes for each asset type (the importer line of the .meta).
IMPORTERS = {".cs": "MonoImporter", ".asmdef": "AssemblyDefinitionImporter", ".md": "TextScriptImporter",
             ".json": "TextScriptImporter"}


def unity_ignores(rel: Path) -> bool:
    """Unity skips hidden paths and any path with a part ending in '~' (Tests~, Samples~, Documentation~)."""
    return any(p.startswith(".") or p.endswith("~") for p in rel.parts)


def expected_importer(asset: Path) -> str:
    if asset.is_dir():
        return "DefaultImporter"
    if asset.name == "package.json":
        return "PackageManifestImporter"
    return IMPORTERS.get(asset.suffix, "?")


def meta_problems(pkg: Path) -> list[str]:
    """Every way the package's .meta files fall short of what Unity needs; empty when they are right."""
    problems, guids = [], {}
    for path in sorted(pkg.rglob("*")):
        rel = path.relative_to(pkg)
        if unity_ignores(rel):
            if path.suffix == ".meta":
                problems.append(f"{rel}: .meta inside a folder Unity ignores")
            continue
        if path.suffix == ".meta":
            asset = path.with_suffix("")
            if not asset.exists():
                problems.append(f"{rel}: orphaned (no {asset.name})")
            continue
        meta = path.with_name(path.name + ".meta")
        if not meta.exists():
            problems.append(f"{rel}: no .meta (Unity ignores it in an immutable package)")
            continue
        text = meta.read_text()
        m = re.search(r"^guid: (\S+)$", text, re.M)
        if not text.startswith("fileFormatVersion: 2\n") or not m:
            problems.append(f"{rel}.meta: not 'fileFormatVersion: 2' + 'guid: ...'")
            continue
        guid = m.group(1)
        if not re.fullmatch(r"[0-9a-f]{32}", guid):
            problems.append(f"{rel}.meta: guid {guid!r} is not 32 lowercase hex digits")
        elif guid != hashlib.md5(f"facecast:{rel.as_posix()}".encode()).hexdigest():
            problems.append(f"{rel}.meta: guid {guid} is not md5('facecast:{rel.as_posix()}') (the stable GUID)")
        if guid in guids:
            problems.append(f"{rel}.meta: guid {guid} also used by {guids[guid]}.meta")
        guids[guid] = rel
        want = expected_importer(path)
        if not re.search(rf"^{want}:$", text, re.M):
            problems.append(f"{rel}.meta: want {want}")
        if path.is_dir() != bool(re.search(r"^folderAsset: yes$", text, re.M)):
            problems.append(f"{rel}.meta: 'folderAsset: yes' must be there exactly for folders")
    return problems


def test_every_imported_file_and_folder_has_a_stable_meta():
    assert meta_problems(PKG) == []


def test_meta_check_catches_missing_orphaned_and_duplicate(tmp_path):
    pkg = tmp_path / "unity_client"
    shutil.copytree(PKG, pkg)
    (pkg / "Runtime" / "Components" / "FacecastAxes.cs.meta").unlink()
    (pkg / "Runtime" / "Gone.cs.meta").write_text((pkg / "Runtime.meta").read_text())
    client = pkg / "Runtime" / "Components" / "FacecastClient.cs.meta"
    client.write_text((pkg / "Runtime" / "Components" / "FacecastPixels.cs.meta").read_text())
    (pkg / "Tests~" / "run_tests.sh.meta").write_text("fileFormatVersion: 2\nguid: 0\n")
    (pkg / "Editor" / "Facecast.Editor.asmdef.meta").write_text(
        (pkg / "Editor" / "Facecast.Editor.asmdef.meta").read_text().replace("AssemblyDefinitionImporter", "TextScriptImporter"))
    found = "\n".join(meta_problems(pkg))
    assert "Runtime/Components/FacecastAxes.cs: no .meta" in found
    assert "Runtime/Gone.cs.meta: orphaned" in found
    assert "FacecastClient.cs.meta: guid" in found and "also used by" in found
    assert "Tests~/run_tests.sh.meta: .meta inside a folder Unity ignores" in found
    assert "Facecast.Editor.asmdef.meta: want AssemblyDefinitionImporter" in found


def test_package_manifest_licence_and_changelog():
    manifest = json.loads((PKG / "package.json").read_text())
    assert manifest["license"] == "Apache-2.0"
    # Unity opens documentationUrl in a browser: a relative path is no link (no public URL is published yet)
    if "documentationUrl" in manifest:
        assert manifest["documentationUrl"].startswith("https://"), manifest["documentationUrl"]
    assert (PKG / "LICENSE.md").read_text() == (REPO / "LICENSE").read_text()
    assert f"## [{manifest['version']}]" in (PKG / "CHANGELOG.md").read_text()
    for sample in manifest["samples"]:
        assert (PKG / sample["path"]).is_dir(), sample


def test_editor_tests_asmdef_is_a_unity_test_assembly():
    asm = json.loads((PKG / "Tests" / "Editor" / "Facecast.Editor.Tests.asmdef").read_text())
    assert asm["references"] == ["Facecast.Runtime", "UnityEngine.TestRunner", "UnityEditor.TestRunner"]
    assert asm["includePlatforms"] == ["Editor"]
    assert asm["overrideReferences"] is True and asm["precompiledReferences"] == ["nunit.framework.dll"]
    assert asm["defineConstraints"] == ["UNITY_INCLUDE_TESTS"]
    assert asm["autoReferenced"] is False


def test_embedded_golden_vectors_match_tests_vectors():
    gen = PKG / "Tests~" / "make_editor_vectors.py"
    result = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("asmdef", sorted(str(p.relative_to(PKG)) for p in PKG.rglob("*.asmdef")))
def test_asmdef_references_name_real_assemblies(asmdef):
    """Names only (the C# runner compiles against them): each reference is an asmdef of this package or one of the
    Unity assemblies Tests~/asmdef.py lists with where Unity defines it."""
    sys.path.insert(0, str(PKG / "Tests~"))
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        import asmdef as resolver
    finally:
        sys.path.pop(0)
        sys.dont_write_bytecode = bytecode
    ours = {json.loads(p.read_text())["name"] for p in PKG.rglob("*.asmdef")}
    for ref in json.loads((PKG / asmdef).read_text())["references"]:
        assert ref in ours or ref in resolver.UNITY_ASSEMBLIES, f"{asmdef}: '{ref}' is no assembly"
