using UnityEditor;

namespace Facecast.Editor
{
    /// <summary>Assets > Create > Facecast > Mapping from preset: writes an editable mapping asset.</summary>
    static class FacecastMappingMenu
    {
        [MenuItem("Assets/Create/Facecast/Mapping Preset/ARKit names")]
        static void Arkit() { Create(FacecastMappingPreset.ArkitNames); }

        [MenuItem("Assets/Create/Facecast/Mapping Preset/VRM 0.x")]
        static void Vrm0() { Create(FacecastMappingPreset.Vrm0); }

        [MenuItem("Assets/Create/Facecast/Mapping Preset/VRM 1.0")]
        static void Vrm1() { Create(FacecastMappingPreset.Vrm1); }

        [MenuItem("Assets/Create/Facecast/Mapping Preset/Oculus visemes")]
        static void Oculus() { Create(FacecastMappingPreset.OculusVisemes); }

        static void Create(FacecastMappingPreset preset)
        {
            var asset = FacecastBlendshapeMapping.FromPreset(preset);
            string path = AssetDatabase.GenerateUniqueAssetPath("Assets/Facecast " + preset + ".asset");
            AssetDatabase.CreateAsset(asset, path);
            AssetDatabase.SaveAssets();
            Selection.activeObject = asset;
            EditorGUIUtility.PingObject(asset);
        }
    }
}
