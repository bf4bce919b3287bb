// Stand-in for UnityEngine.TestRunner.dll (package com.unity.test-framework, its asmdef
// UnityEngine.TestRunner/UnityEngine.TestRunner.asmdef is named "UnityEngine.TestRunner"; test asmdefs reference it
// by that name). The package's tests use none of its types; the assembly exists so that a test asmdef's reference
// resolves only when it names the real assembly. Not shipped.
[assembly: System.Reflection.AssemblyTitle("UnityEngine.TestRunner")]
