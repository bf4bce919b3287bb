// Stand-in for UnityEditor.TestRunner.dll (package com.unity.test-framework, its asmdef
// UnityEditor.TestRunner/UnityEditor.TestRunner.asmdef is named "UnityEditor.TestRunner", Editor only). Empty for
// the same reason as UnityEngine.TestRunner.cs. Not shipped.
[assembly: System.Reflection.AssemblyTitle("UnityEditor.TestRunner")]
