using System.Collections.Generic;

namespace Facecast
{
    /// <summary>Ready mappings for common rigs.</summary>
    public enum FacecastMappingPreset
    {
        /// <summary>Meshes with the 52 ARKit names (Apple, Ready Player Me, most face-capture rigs).</summary>
        ArkitNames,
        /// <summary>VRM 0.x expression presets: A I U E O, Blink(_L/_R), Joy Angry Sorrow Fun.</summary>
        Vrm0,
        /// <summary>VRM 1.0 expression presets: aa ih ou ee oh, blink(Left/Right), happy angry sad relaxed surprised.</summary>
        Vrm1,
        /// <summary>Oculus/Meta visemes named viseme_sil … viseme_ou (Ready Player Me, Oculus Lipsync rigs).</summary>
        OculusVisemes,
    }

    /// <summary>
    /// The entries of each preset. Vowels come from the visemes (aa→A, ih→I, ou→U, E→E, oh→O) scaled by jaw
    /// opening so silence closes the mouth; emotions come from the ARKit shapes that express them.
    /// </summary>
    public static class FacecastMappingPresets
    {
        const FacecastSource B = FacecastSource.Blendshape, V = FacecastSource.Viseme;

        public static FacecastMappingEntry[] Entries(FacecastMappingPreset preset)
        {
            switch (preset)
            {
                case FacecastMappingPreset.Vrm0: return Vrm(new[] { "A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R", "Joy", "Angry", "Sorrow", "Fun", null });
                case FacecastMappingPreset.Vrm1: return Vrm(new[] { "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad", "relaxed", "surprised" });
                case FacecastMappingPreset.OculusVisemes:
                {
                    var list = new List<FacecastMappingEntry>();
                    for (int i = 0; i < FacecastSchema.Visemes.Length; i++)
                        list.Add(Entry("viseme_" + FacecastSchema.Visemes[i], T(V, i, 1f)));
                    list.Add(Entry("eyeBlinkLeft", T(B, FacecastSchema.EyeBlinkLeft, 1f)));
                    list.Add(Entry("eyeBlinkRight", T(B, FacecastSchema.EyeBlinkRight, 1f)));
                    return list.ToArray();
                }
                default:
                {
                    var list = new FacecastMappingEntry[FacecastSchema.Blendshapes.Length];
                    for (int i = 0; i < list.Length; i++) list[i] = Entry(FacecastSchema.Blendshapes[i], T(B, i, 1f));
                    return list;
                }
            }
        }

        // names: A I U E O Blink BlinkL BlinkR Joy Angry Sorrow Fun Surprised (null = not in this preset)
        static FacecastMappingEntry[] Vrm(string[] n)
        {
            var list = new List<FacecastMappingEntry>
            {
                Entry(n[0], T(V, 10, 1f)),  // aa
                Entry(n[1], T(V, 12, 1f)),  // ih
                Entry(n[2], T(V, 14, 1f)),  // ou
                Entry(n[3], T(V, 11, 1f)),  // E
                Entry(n[4], T(V, 13, 1f)),  // oh
                Entry(n[5], T(B, FacecastSchema.EyeBlinkLeft, 0.5f), T(B, FacecastSchema.EyeBlinkRight, 0.5f)),
                Entry(n[6], T(B, FacecastSchema.EyeBlinkLeft, 1f)),
                Entry(n[7], T(B, FacecastSchema.EyeBlinkRight, 1f)),
                Entry(n[8], T(B, FacecastSchema.MouthSmileLeft, 0.5f), T(B, FacecastSchema.MouthSmileRight, 0.5f)),
                Entry(n[9], T(B, FacecastSchema.BrowDownLeft, 0.5f), T(B, FacecastSchema.BrowDownRight, 0.5f)),
                Entry(n[10], T(B, FacecastSchema.MouthFrownLeft, 0.5f), T(B, FacecastSchema.MouthFrownRight, 0.5f)),
                // Fun / relaxed: a soft smile
                Entry(n[11], T(B, FacecastSchema.MouthSmileLeft, 0.25f), T(B, FacecastSchema.MouthSmileRight, 0.25f)),
            };
            if (n[12] != null)
                list.Add(Entry(n[12], T(B, FacecastSchema.EyeWideLeft, 0.35f), T(B, FacecastSchema.EyeWideRight, 0.35f), T(B, FacecastSchema.BrowInnerUp, 0.3f)));
            return list.ToArray();
        }

        static FacecastMappingEntry Entry(string target, params FacecastSourceTerm[] terms)
        {
            return new FacecastMappingEntry { target = target, terms = terms, scale = 1f };
        }

        static FacecastSourceTerm T(FacecastSource s, int i, float g)
        {
            return new FacecastSourceTerm(s, i, g);
        }
    }
}
