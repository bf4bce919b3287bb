using System;
using UnityEditor;

namespace Facecast.Editor
{
    /// <summary>
    /// Defines FACECAST_NETMQ for the selected build target once NetMQ.dll is in the project (installed with
    /// NuGetForUnity or copied into Assets/Plugins), so the package's NetMQ transport compiles in; without
    /// NetMQ the package still compiles and FacecastClient reports how to install it.
    /// </summary>
    [InitializeOnLoad]
    static class FacecastNetMqDefine
    {
        const string Define = "FACECAST_NETMQ";

        static FacecastNetMqDefine()
        {
            bool hasNetMq = false;
            foreach (var asm in AppDomain.CurrentDomain.GetAssemblies())
                if (asm.GetName().Name == "NetMQ") { hasNetMq = true; break; }
            BuildTargetGroup group = EditorUserBuildSettings.selectedBuildTargetGroup;
            string defines = PlayerSettings.GetScriptingDefineSymbolsForGroup(group);
            bool defined = Array.IndexOf(defines.Split(';'), Define) >= 0;
            if (hasNetMq && !defined)
                PlayerSettings.SetScriptingDefineSymbolsForGroup(group, defines.Length == 0 ? Define : defines + ";" + Define);
            else if (!hasNetMq && defined)
                PlayerSettings.SetScriptingDefineSymbolsForGroup(group, string.Join(";", Array.FindAll(defines.Split(';'), d => d != Define)));
        }
    }
}
