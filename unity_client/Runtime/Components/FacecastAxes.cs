using UnityEngine;

namespace Facecast
{
    /// <summary>
    /// The one place protocol head angles become Unity rotations. Protocol (docs/protocol.md): pitch &gt; 0 chin
    /// down, yaw &gt; 0 the face turns to its own left, roll &gt; 0 the head tilts towards its own left shoulder.
    /// Unity (left-handed, +Y up, the character facing +Z, so its own left is -X): a positive rotation about +X
    /// tips +Z down (chin down), about +Y turns +Z towards +X (the character's right), about +Z tips +Y towards
    /// -X (its left). Hence Unity euler = (pitch, -yaw, roll), composed as Quaternion.Euler does: roll, then
    /// pitch, then yaw about the character's axes.
    /// </summary>
    public static class FacecastAxes
    {
        /// <summary>Protocol head angles (degrees) -> rotation in the character's frame (+Z forward, +Y up).</summary>
        public static Quaternion HeadToUnity(float pitchDeg, float yawDeg, float rollDeg)
        {
            return Quaternion.Euler(pitchDeg, -yawDeg, rollDeg);
        }

        /// <summary>Protocol head translation (metres) -> Unity vector in the character's frame (x &gt; 0 own left = -X).</summary>
        public static Vector3 PositionToUnity(float xM, float yM, float zM)
        {
            return new Vector3(-xM, yM, zM);
        }
    }
}
