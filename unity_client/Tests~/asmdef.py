#!/usr/bin/env python3
"""Reads a Unity .asmdef the way Unity's compilation pipeline does, for run_tests.sh (mcs stands in for Unity).

    asmdef.py name ASMDEF                        the assembly name
    asmdef.py sources ASMDEF                     the .cs files Unity compiles into it, one a line
    asmdef.py refs ASMDEF BUILT STUBS [PLUGIN...] mcs -r: arguments, one a line; exit 1 naming a reference
                                                 that is neither one of this package's assemblies nor a Unity one

Each assembly is compiled against only what its asmdef gives it, so a wrong name fails here as it would in Unity:
- the engine (UnityEngine.dll) unless "noEngineReferences"; UnityEditor.dll only for Editor-only assemblies (a
  runtime assembly must build for players, where UnityEditor does not exist);
- "references": this package's asmdefs (BUILT/<name>.dll) or the Unity assemblies below (STUBS/<name>.dll, stubs
  compiled from Stubs/<name>.cs under the real assembly's name);
- precompiled DLLs: with "overrideReferences" only those listed in "precompiledReferences"; otherwise every plugin
  DLL of the project (PLUGIN..., e.g. NetMQ.dll and AsyncIO.dll once a user installed them).
"""
import json
import os
import sys

# Unity assemblies an asmdef may reference by name, as the packages that ship them name them (Unity 2021.3):
#   UnityEngine.UI          com.unity.ugui@1.0.0/Runtime/UnityEngine.UI.asmdef ("name": "UnityEngine.UI")
#   UnityEditor.UI          com.unity.ugui@1.0.0/Editor/UnityEditor.UI.asmdef (Editor only; no stub yet)
#   Unity.TextMeshPro       com.unity.textmeshpro@3.0.x/Scripts/Runtime/Unity.TextMeshPro.asmdef (no stub yet)
#   UnityEngine.TestRunner  com.unity.test-framework/UnityEngine.TestRunner/UnityEngine.TestRunner.asmdef
#   UnityEditor.TestRunner  com.unity.test-framework/UnityEditor.TestRunner/UnityEditor.TestRunner.asmdef (Editor only)
# Value: whether the assembly is Editor-only. A name outside this table (e.g. "Unity.ugui", which is no assembly
# in com.unity.ugui 1.0.0) fails; add a stub and a row when the package starts using another Unity assembly.
UNITY_ASSEMBLIES = {
    "UnityEngine.UI": False,
    "UnityEngine.TestRunner": False,
    "UnityEditor.TestRunner": True,
}
# Precompiled DLLs an asmdef may list in "precompiledReferences": nunit.framework.dll is com.unity.ext.nunit's
# (net35/unity-custom/nunit.framework.dll), which every test asmdef lists.
UNITY_PRECOMPILED = {"nunit.framework.dll"}
# Names that are easy to write and do not exist, with the real one.
KNOWN_MISTAKES = {
    "Unity.ugui": "UnityEngine.UI (com.unity.ugui's runtime assembly)",
    "UnityEngine.UIModule": "UnityEngine.UI for uGUI types such as RawImage",
    "nunit.framework": "precompiledReferences [\"nunit.framework.dll\"] with overrideReferences true",
}


def load(path):
    with open(path, encoding="utf-8-sig") as f:
        return json.load(f)


def editor_only(asm):
    return asm.get("includePlatforms") == ["Editor"]


def package_asmdefs(asmdef_path):
    """name -> (path, data) for every asmdef of the package that holds asmdef_path (Samples~ included)."""
    root = os.path.dirname(os.path.abspath(asmdef_path))
    while not os.path.exists(os.path.join(root, "package.json")):
        parent = os.path.dirname(root)
        if parent == root:
            raise SystemExit(f"{asmdef_path}: no package.json above it")
        root = parent
    found = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".") and x != "Tests~"]
        for f in files:
            if f.endswith(".asmdef"):
                p = os.path.join(d, f)
                found[load(p)["name"]] = (p, load(p))
    return found


def sources(asmdef_path):
    """The .cs files under the asmdef's folder, minus folders with their own asmdef and the ones Unity skips."""
    top = os.path.dirname(os.path.abspath(asmdef_path))
    out = []
    for d, dirs, files in os.walk(top):
        if d != top and any(f.endswith(".asmdef") for f in files):
            dirs[:] = []
            continue
        # Unity ignores hidden folders and those ending in "~" inside an asmdef's tree
        dirs[:] = sorted(x for x in dirs if not x.startswith(".") and not x.endswith("~"))
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".cs")]
    return out


def refs(asmdef_path, built, stubs, plugins):
    asm = load(asmdef_path)
    name = asm["name"]
    ours = package_asmdefs(asmdef_path)
    out, errors = [], []
    if not asm.get("noEngineReferences", False):
        out.append(os.path.join(stubs, "UnityEngine.dll"))
    if editor_only(asm):
        out.append(os.path.join(stubs, "UnityEditor.dll"))
    for ref in asm.get("references", []):
        if ref.startswith("GUID:"):
            errors.append(f"{name}: reference {ref} by GUID; name the assembly so this check can resolve it")
        elif ref in ours:
            if editor_only(ours[ref][1]) and not editor_only(asm):
                errors.append(f"{name} (all platforms) references the Editor-only assembly {ref}")
            out.append(os.path.join(built, ref + ".dll"))
        elif ref in UNITY_ASSEMBLIES:
            if UNITY_ASSEMBLIES[ref] and not editor_only(asm):
                errors.append(f"{name} (all platforms) references the Editor-only assembly {ref}")
            out.append(os.path.join(stubs, ref + ".dll"))
        else:
            hint = KNOWN_MISTAKES.get(ref)
            errors.append(f"{name} references '{ref}', which is no assembly of this package or of Unity"
                          + (f"; use {hint}" if hint else f" known here ({', '.join(sorted(UNITY_ASSEMBLIES))})"))
    if asm.get("overrideReferences", False):
        for dll in asm.get("precompiledReferences", []):
            if dll in UNITY_PRECOMPILED:
                out.append(os.path.join(stubs, dll))
            elif any(os.path.basename(p) == dll for p in plugins):
                out += [p for p in plugins if os.path.basename(p) == dll]
            else:
                errors.append(f"{name}: precompiled reference {dll} is neither Unity's nor a plugin of the project")
    else:
        for dll in asm.get("precompiledReferences", []):
            errors.append(f"{name}: precompiledReferences ({dll}) is ignored unless overrideReferences is true")
        out += plugins
    for p in out:
        if not os.path.exists(p) and not errors:
            errors.append(f"{name}: {p} is not built (build the assemblies it references first)")
    if errors:
        raise SystemExit("\n".join(errors))
    return ["-r:" + p for p in out]


def main(argv):
    cmd, path = argv[1], argv[2]
    if cmd == "name":
        print(load(path)["name"])
    elif cmd == "sources":
        print("\n".join(sources(path)))
    elif cmd == "refs":
        print("\n".join(refs(path, argv[3], argv[4], argv[5:])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
