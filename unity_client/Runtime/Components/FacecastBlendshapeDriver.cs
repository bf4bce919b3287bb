using System;
using System.Collections.Generic;
using UnityEngine;

namespace Facecast
{
    /// <summary>
    /// Drives a SkinnedMeshRenderer's blendshapes from the client's motion through a mapping asset (or a
    /// built-in preset). Names are resolved to indices once; LateUpdate (after the Animator) only multiplies
    /// and sets weights, 0..100 as Unity expects.
    /// </summary>
    [AddComponentMenu("Facecast/Facecast Blendshape Driver")]
    public sealed class FacecastBlendshapeDriver : MonoBehaviour
    {
        [SerializeField] FacecastClient _client;
        [SerializeField] SkinnedMeshRenderer _renderer;
        [Tooltip("Mapping asset; when empty the preset below is used")]
        [SerializeField] FacecastBlendshapeMapping _mapping;
        [SerializeField] FacecastMappingPreset _preset = FacecastMappingPreset.ArkitNames;
        [Tooltip("Global weight multiplier")]
        [Range(0f, 2f)] [SerializeField] float _intensity = 1f;
        [Tooltip("Smoothing time constant in seconds (0 = none; the runtime already smooths)")]
        [Range(0f, 0.5f)] [SerializeField] float _smoothingS;

        FacecastMappingEntry[] _entries;
        int[] _indices;     // blendshape index per entry, -1 when the mesh lacks it
        float[] _weights;   // current weight per entry, 0..100
        Mesh _resolvedMesh;
        long _appliedVersion = -1;

        public FacecastClient Client { get { return _client; } set { _client = value; } }
        public SkinnedMeshRenderer Renderer { get { return _renderer; } set { _renderer = value; _resolvedMesh = null; } }
        public FacecastBlendshapeMapping Mapping { get { return _mapping; } set { _mapping = value; _resolvedMesh = null; } }
        public FacecastMappingPreset Preset { get { return _preset; } set { _preset = value; _resolvedMesh = null; } }
        public float Intensity { get { return _intensity; } set { _intensity = value; } }
        public float SmoothingS { get { return _smoothingS; } set { _smoothingS = value; } }

        /// <summary>Entries whose blendshape was found on the mesh.</summary>
        public int ResolvedCount { get; private set; }

        void Start()
        {
            if (_renderer == null) _renderer = GetComponent<SkinnedMeshRenderer>();
            if (_client == null) Debug.LogWarning("FacecastBlendshapeDriver on " + name + " has no FacecastClient; assign one in the inspector", this);
        }

        void LateUpdate()
        {
            if (_client == null || _renderer == null || !_client.HasMotion) return;
            if (_renderer.sharedMesh != _resolvedMesh) Resolve();
            if (_smoothingS <= 0f && _client.MotionVersion == _appliedVersion) return;
            _appliedVersion = _client.MotionVersion;
            FacecastMotion m = _client.Motion;
            float k = _smoothingS <= 0f ? 1f : 1f - Mathf.Exp(-Time.deltaTime / _smoothingS);
            for (int e = 0; e < _entries.Length; e++)
            {
                if (_indices[e] < 0) continue;
                FacecastMappingEntry entry = _entries[e];
                float sum = 0f;
                for (int t = 0; t < entry.terms.Length; t++)
                {
                    FacecastSourceTerm term = entry.terms[t];
                    float v = term.source == FacecastSource.Viseme ? m.Viseme(term.index) : m.Blendshape(term.index);
                    sum += v * term.gain;
                }
                float target = Mathf.Clamp01(sum * _intensity) * 100f * entry.scale;
                _weights[e] += (target - _weights[e]) * k;
                _renderer.SetBlendShapeWeight(_indices[e], _weights[e]);
            }
        }

        /// <summary>Resolves target names to the mesh's blendshape indices (called when the mesh or mapping changes).</summary>
        public void Resolve()
        {
            _resolvedMesh = _renderer.sharedMesh;
            _entries = _mapping != null ? _mapping.entries : FacecastMappingPresets.Entries(_preset);
            _indices = new int[_entries.Length];
            _weights = new float[_entries.Length];
            ResolvedCount = 0;
            var missing = new List<string>();
            for (int e = 0; e < _entries.Length; e++)
            {
                _indices[e] = FindShape(_resolvedMesh, _entries[e].target);
                if (!ValidTerms(_entries[e])) _indices[e] = -1;
                if (_indices[e] >= 0) ResolvedCount++; else missing.Add(_entries[e].target);
            }
            if (ResolvedCount == 0)
                Debug.LogWarning("facecast: none of the " + _entries.Length + " mapped blendshapes exist on " + _renderer.name
                    + "; pick the preset that matches the mesh (ARKit names, VRM, Oculus visemes) or edit a mapping asset", this);
            else if (missing.Count > 0)
                Debug.Log("facecast: " + ResolvedCount + " of " + _entries.Length + " blendshapes mapped on " + _renderer.name
                    + "; not on the mesh: " + string.Join(", ", missing.ToArray()), this);
        }

        static bool ValidTerms(FacecastMappingEntry entry)
        {
            foreach (FacecastSourceTerm t in entry.terms)
            {
                int n = t.source == FacecastSource.Viseme ? FacecastSchema.Visemes.Length : FacecastSchema.Blendshapes.Length;
                if (t.index < 0 || t.index >= n) return false;
            }
            return true;
        }

        /// <summary>Index of `target` on the mesh: exact name, then case-insensitive, then a name ending in ".target" or "_target".</summary>
        public static int FindShape(Mesh mesh, string target)
        {
            if (mesh == null || string.IsNullOrEmpty(target)) return -1;
            int exact = mesh.GetBlendShapeIndex(target);
            if (exact >= 0) return exact;
            int count = mesh.blendShapeCount;
            for (int i = 0; i < count; i++)
                if (string.Equals(mesh.GetBlendShapeName(i), target, StringComparison.OrdinalIgnoreCase)) return i;
            for (int i = 0; i < count; i++)
            {
                string n = mesh.GetBlendShapeName(i);
                if (n.Length > target.Length && n.EndsWith(target, StringComparison.OrdinalIgnoreCase))
                {
                    char sep = n[n.Length - target.Length - 1];
                    if (sep == '.' || sep == '_' || sep == ':') return i; // "blendShape1.jawOpen", "Fcl_MTH_A"
                }
            }
            return -1;
        }
    }
}
