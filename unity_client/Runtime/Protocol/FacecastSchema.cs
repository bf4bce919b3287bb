using System;

namespace Facecast
{
    /// <summary>
    /// The vocabulary of protocol v1 (a copy of bridge/schema.py; docs/protocol.md is the reference).
    /// Index i of a motion block on the wire is the i-th name of its list here.
    /// </summary>
    public static class FacecastSchema
    {
        /// <summary>Major version this client speaks; another major is refused.</summary>
        public const int ProtocolMajor = 1;
        /// <summary>Minor version this client writes in requests.</summary>
        public const int ProtocolMinor = 0;
        /// <summary>"1.0": the `v` of every request this client sends.</summary>
        public const string ProtocolVersion = "1.0";

        /// <summary>Stream header bound (bytes); larger headers are refused before parsing.</summary>
        public const int MaxHeaderBytes = 64 * 1024;
        /// <summary>Largest frame side in pixels.</summary>
        public const int MaxFrameSidePx = 8192;
        /// <summary>Stream payload bound (bytes).</summary>
        public const long MaxPayloadBytes = 256L * 1024 * 1024;
        /// <summary>Control request map bound (bytes).</summary>
        public const int MaxRequestBytes = 64 * 1024;
        /// <summary>Control payload bound (bytes); also bounds reply maps.</summary>
        public const int MaxControlPayloadBytes = 16 * 1024 * 1024;

        /// <summary>The 52 ARKit blendshapes in wire order (0..1 each).</summary>
        public static readonly string[] Blendshapes =
        {
            "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
            "eyeSquintLeft", "eyeWideLeft",
            "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
            "eyeSquintRight", "eyeWideRight",
            "jawForward", "jawLeft", "jawRight", "jawOpen",
            "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
            "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
            "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
            "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
            "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
            "mouthUpperUpLeft", "mouthUpperUpRight",
            "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
            "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
            "noseSneerLeft", "noseSneerRight",
            "tongueOut",
        };

        /// <summary>The 15 Oculus/Meta Lipsync visemes in SDK order (weights sum to about 1).</summary>
        public static readonly string[] Visemes =
        {
            "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
        };

        /// <summary>Head block: degrees, then metres (see FacecastAxes for the Unity mapping).</summary>
        public static readonly string[] Head = { "pitch_deg", "yaw_deg", "roll_deg", "x_m", "y_m", "z_m" };

        /// <summary>Gaze block, degrees per eye.</summary>
        public static readonly string[] Gaze = { "left_yaw_deg", "left_pitch_deg", "right_yaw_deg", "right_pitch_deg" };

        /// <summary>Emotions `set_emotion` accepts.</summary>
        public static readonly string[] Emotions = { "neutral", "happy", "sad", "angry", "surprised" };

        /// <summary>Index of an ARKit blendshape name, or -1.</summary>
        public static int BlendshapeIndex(string name)
        {
            return Array.IndexOf(Blendshapes, name);
        }

        /// <summary>Index of a viseme name, or -1.</summary>
        public static int VisemeIndex(string name)
        {
            return Array.IndexOf(Visemes, name);
        }

        // ARKit indices the drivers and tests use by name.
        public const int EyeBlinkLeft = 0, EyeBlinkRight = 7, JawOpen = 17, MouthClose = 18;
        public const int MouthSmileLeft = 23, MouthSmileRight = 24, MouthFrownLeft = 25, MouthFrownRight = 26;
        public const int BrowDownLeft = 41, BrowDownRight = 42, BrowInnerUp = 43, EyeWideLeft = 6, EyeWideRight = 13;
    }
}
