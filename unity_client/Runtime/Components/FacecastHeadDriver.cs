using UnityEngine;

namespace Facecast
{
    /// <summary>
    /// Turns head (and optionally neck) bones by the received pitch/yaw/roll, clamped to limits and smoothed.
    /// Angles map to Unity as FacecastAxes documents: euler (pitch, -yaw, roll) about the character's axes
    /// (+Z forward, +Y up). With a Character Root those axes are the root's, whatever the bone's own axes;
    /// without one the bone's local axes at rest must already be +Z forward, +Y up. Runs in LateUpdate,
    /// on top of the rest pose captured at Start (so an Animator's pose is replaced, not accumulated).
    /// </summary>
    [AddComponentMenu("Facecast/Facecast Head Driver")]
    public sealed class FacecastHeadDriver : MonoBehaviour
    {
        [SerializeField] FacecastClient _client;
        [SerializeField] Transform _head;
        [Tooltip("Optional: takes Neck Share of the rotation, the head the rest")]
        [SerializeField] Transform _neck;
        [Range(0f, 1f)] [SerializeField] float _neckShare = 0.35f;
        [Tooltip("Optional: the avatar root whose axes are the character's (+Z facing forward)")]
        [SerializeField] Transform _characterRoot;
        [Tooltip("Per-axis limits in degrees: pitch, yaw, roll")]
        [SerializeField] Vector3 _limitsDeg = new Vector3(35f, 60f, 30f);
        [Tooltip("Smoothing time constant in seconds (0 = follow each frame exactly)")]
        [Range(0f, 0.5f)] [SerializeField] float _smoothingS = 0.06f;
        [Tooltip("Angle multiplier (1 = as received)")]
        [Range(0f, 2f)] [SerializeField] float _intensity = 1f;

        Quaternion _headRest = Quaternion.identity, _neckRest = Quaternion.identity;
        bool _captured;
        float _pitch, _yaw, _roll;

        public FacecastClient Client { get { return _client; } set { _client = value; } }
        public Transform Head { get { return _head; } set { _head = value; _captured = false; } }
        public Transform Neck { get { return _neck; } set { _neck = value; _captured = false; } }
        public Transform CharacterRoot { get { return _characterRoot; } set { _characterRoot = value; } }
        public float NeckShare { get { return _neckShare; } set { _neckShare = value; } }
        public Vector3 LimitsDeg { get { return _limitsDeg; } set { _limitsDeg = value; } }
        public float SmoothingS { get { return _smoothingS; } set { _smoothingS = value; } }

        /// <summary>The smoothed, clamped protocol angles last applied (pitch, yaw, roll), degrees.</summary>
        public Vector3 AppliedAnglesDeg { get { return new Vector3(_pitch, _yaw, _roll); } }

        void Start()
        {
            if (_head == null) _head = transform;
            CaptureRest();
        }

        /// <summary>Takes the bones' current local rotations as the rest pose (call after changing bones).</summary>
        public void CaptureRest()
        {
            if (_head != null) _headRest = _head.localRotation;
            if (_neck != null) _neckRest = _neck.localRotation;
            _captured = true;
        }

        void LateUpdate()
        {
            if (_client == null || _head == null || !_client.HasMotion) return;
            if (!_captured) CaptureRest();
            FacecastMotion m = _client.Motion;
            float tp = Mathf.Clamp(m.PitchDeg * _intensity, -_limitsDeg.x, _limitsDeg.x);
            float ty = Mathf.Clamp(m.YawDeg * _intensity, -_limitsDeg.y, _limitsDeg.y);
            float tr = Mathf.Clamp(m.RollDeg * _intensity, -_limitsDeg.z, _limitsDeg.z);
            float k = _smoothingS <= 0f ? 1f : 1f - Mathf.Exp(-Time.deltaTime / _smoothingS);
            _pitch += (tp - _pitch) * k;
            _yaw += (ty - _yaw) * k;
            _roll += (tr - _roll) * k;

            Quaternion full = FacecastAxes.HeadToUnity(_pitch, _yaw, _roll);
            float neckShare = _neck != null ? _neckShare : 0f;
            if (_neck != null) Apply(_neck, _neckRest, Quaternion.Slerp(Quaternion.identity, full, neckShare));
            Apply(_head, _headRest, Quaternion.Slerp(Quaternion.identity, full, 1f - neckShare));
        }

        void Apply(Transform bone, Quaternion rest, Quaternion delta)
        {
            if (_characterRoot == null || bone.parent == null)
            {
                bone.localRotation = rest * delta;
                return;
            }
            // Express the character-space rotation in the bone's parent space: conjugate by parent^-1 * root.
            Quaternion toParent = Quaternion.Inverse(bone.parent.rotation) * _characterRoot.rotation;
            bone.localRotation = toParent * delta * Quaternion.Inverse(toParent) * rest;
        }
    }
}
