// Minimal stand-in for UnityEditor.dll (the calls facecast's Editor folder makes). Not shipped.
using System;

namespace UnityEditor
{
    [AttributeUsage(AttributeTargets.Class)] public sealed class InitializeOnLoadAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class MenuItem : Attribute { public MenuItem(string itemName) { } }
    public enum BuildTargetGroup { Unknown = 0, Standalone = 1, iOS = 4, Android = 7, WebGL = 13 }
    public static class EditorUserBuildSettings { public static BuildTargetGroup selectedBuildTargetGroup { get { return BuildTargetGroup.Standalone; } } }
    public static class PlayerSettings
    {
        static string _defines = "";
        public static string GetScriptingDefineSymbolsForGroup(BuildTargetGroup targetGroup) { return _defines; }
        public static void SetScriptingDefineSymbolsForGroup(BuildTargetGroup targetGroup, string defines) { _defines = defines; }
    }
    public static class AssetDatabase
    {
        public static void CreateAsset(UnityEngine.Object asset, string path) { }
        public static void SaveAssets() { }
        public static string GenerateUniqueAssetPath(string path) { return path; }
    }
    public static class Selection { public static UnityEngine.Object activeObject { get; set; } }
    public static class EditorGUIUtility { public static void PingObject(UnityEngine.Object obj) { } }
}
