using System;
using UnityEngine;

namespace Facecast
{
    /// <summary>Which block of a motion frame a term reads.</summary>
    public enum FacecastSource { Blendshape, Viseme }

    /// <summary>One term of a target weight: gain × the source value (0..1).</summary>
    [Serializable]
    public struct FacecastSourceTerm
    {
        public FacecastSource source;
        [Tooltip("Index in the block: ARKit blendshape 0..51 or viseme 0..14 (see FacecastSchema)")]
        public int index;
        public float gain;

        public FacecastSourceTerm(FacecastSource source, int index, float gain)
        {
            this.source = source;
            this.index = index;
            this.gain = gain;
        }
    }

    /// <summary>One mesh blendshape and how its weight is made: clamp01(sum of terms) × 100 × scale.</summary>
    [Serializable]
    public sealed class FacecastMappingEntry
    {
        [Tooltip("Blendshape name on the mesh (matched exactly, then case-insensitively, then as a suffix: 'Face.jawOpen')")]
        public string target = "";
        public FacecastSourceTerm[] terms = new FacecastSourceTerm[0];
        [Tooltip("Multiplies the weight (1 = full range)")]
        public float scale = 1f;
    }

    /// <summary>
    /// Maps facecast's parameters onto blendshape names. Create one with Assets > Create > Facecast >
    /// Blendshape Mapping, or start from a preset (FacecastMappingPresets / the Facecast menu).
    /// </summary>
    [CreateAssetMenu(fileName = "FacecastMapping", menuName = "Facecast/Blendshape Mapping")]
    public sealed class FacecastBlendshapeMapping : ScriptableObject
    {
        public FacecastMappingEntry[] entries = new FacecastMappingEntry[0];

        /// <summary>A new mapping asset filled from a preset.</summary>
        public static FacecastBlendshapeMapping FromPreset(FacecastMappingPreset preset)
        {
            var m = CreateInstance<FacecastBlendshapeMapping>();
            m.name = "Facecast " + preset;
            m.entries = FacecastMappingPresets.Entries(preset);
            return m;
        }
    }
}
