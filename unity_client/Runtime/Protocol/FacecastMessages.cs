using System;

namespace Facecast
{
    /// <summary>Kind of a stream message (the topic's first word).</summary>
    public enum FacecastStreamKind { None, Motion, Frame, Event }

    /// <summary>Pixel layout of a frame message.</summary>
    public enum FacecastFrameFormat { Jpeg, Rgb24, Rgba32, Bgra32 }

    /// <summary>Fields every stream header carries.</summary>
    public class FacecastStamp
    {
        /// <summary>Session id (equals the topic's session).</summary>
        public string Session = "";
        /// <summary>Per-topic counter; a decrease means the runtime restarted.</summary>
        public ulong Seq;
        /// <summary>Seconds into the session's audio that this message depicts.</summary>
        public double TAudioS;
        /// <summary>Publish time, seconds since the Unix epoch.</summary>
        public double TWallS;
        /// <summary>Minor protocol version of the sender (major is always 1 here).</summary>
        public int VersionMinor;
        /// <summary>Receive time, seconds since the Unix epoch (set by the receiver; never on the wire).</summary>
        public double ReceivedWallS;

        protected void CopyStamp(FacecastStamp other)
        {
            Session = other.Session;
            Seq = other.Seq;
            TAudioS = other.TAudioS;
            TWallS = other.TWallS;
            VersionMinor = other.VersionMinor;
            ReceivedWallS = other.ReceivedWallS;
        }
    }

    /// <summary>
    /// One motion frame. Values holds every payload float (blocks in the header's layout order); the
    /// offsets locate the four v1 blocks. Reused between messages: copy what you keep.
    /// </summary>
    public sealed class FacecastMotion : FacecastStamp
    {
        /// <summary>Payload floats; only the first ValueCount are valid.</summary>
        public float[] Values = new float[77];
        public int ValueCount;
        public int BlendshapeOffset, HeadOffset = 52, GazeOffset = 58, VisemeOffset = 62;
        /// <summary>Voice activity at TAudioS.</summary>
        public bool Speaking;
        /// <summary>Blocks a newer minor version appended (names, offsets into Values, counts).</summary>
        public int ExtraBlockCount;
        public string[] ExtraBlockNames = new string[0];
        public int[] ExtraBlockOffsets = new int[0];
        public int[] ExtraBlockCounts = new int[0];

        /// <summary>ARKit blendshape i (0..51) in 0..1.</summary>
        public float Blendshape(int i) { return Values[BlendshapeOffset + i]; }
        /// <summary>Oculus viseme i (0..14) in 0..1.</summary>
        public float Viseme(int i) { return Values[VisemeOffset + i]; }
        /// <summary>Gaze value i (left yaw, left pitch, right yaw, right pitch), degrees.</summary>
        public float Gaze(int i) { return Values[GazeOffset + i]; }
        /// <summary>Head pitch, degrees; &gt; 0 chin down.</summary>
        public float PitchDeg { get { return Values[HeadOffset]; } }
        /// <summary>Head yaw, degrees; &gt; 0 the face turns to its own left.</summary>
        public float YawDeg { get { return Values[HeadOffset + 1]; } }
        /// <summary>Head roll, degrees; &gt; 0 tilts towards its own left shoulder.</summary>
        public float RollDeg { get { return Values[HeadOffset + 2]; } }
        /// <summary>Head translation i (x, y, z), metres.</summary>
        public float HeadPosition(int i) { return Values[HeadOffset + 3 + i]; }

        /// <summary>Copies another frame into this one (allocates only when a newer layout is larger).</summary>
        public void CopyFrom(FacecastMotion other)
        {
            CopyStamp(other);
            if (Values.Length < other.ValueCount) Values = new float[other.ValueCount];
            Array.Copy(other.Values, Values, other.ValueCount);
            ValueCount = other.ValueCount;
            BlendshapeOffset = other.BlendshapeOffset;
            HeadOffset = other.HeadOffset;
            GazeOffset = other.GazeOffset;
            VisemeOffset = other.VisemeOffset;
            Speaking = other.Speaking;
            EnsureExtra(other.ExtraBlockCount);
            ExtraBlockCount = other.ExtraBlockCount;
            for (int i = 0; i < other.ExtraBlockCount; i++)
            {
                ExtraBlockNames[i] = other.ExtraBlockNames[i];
                ExtraBlockOffsets[i] = other.ExtraBlockOffsets[i];
                ExtraBlockCounts[i] = other.ExtraBlockCounts[i];
            }
        }

        internal void EnsureExtra(int n)
        {
            if (ExtraBlockNames.Length >= n) return;
            Array.Resize(ref ExtraBlockNames, n);
            Array.Resize(ref ExtraBlockOffsets, n);
            Array.Resize(ref ExtraBlockCounts, n);
        }
    }

    /// <summary>
    /// One video frame: JPEG bytes, or Height rows of Stride bytes, top row first. Data is reused
    /// between frames (its length may exceed DataLength).
    /// </summary>
    public sealed class FacecastFrame : FacecastStamp
    {
        public FacecastFrameFormat Format;
        public int Width, Height, Stride;
        public byte[] Data = new byte[0];
        public int DataLength;

        /// <summary>Bytes per pixel on the wire (0 for JPEG).</summary>
        public static int BytesPerPixel(FacecastFrameFormat format)
        {
            switch (format)
            {
                case FacecastFrameFormat.Rgb24: return 3;
                case FacecastFrameFormat.Rgba32: case FacecastFrameFormat.Bgra32: return 4;
                default: return 0;
            }
        }
    }

    /// <summary>A runtime event (stats, session changes, errors). Data is the event's map.</summary>
    public sealed class FacecastEvent : FacecastStamp
    {
        public string Name = "";
        public MsgPackMap Data = new MsgPackMap();

        public void CopyFrom(FacecastEvent other)
        {
            CopyStamp(other);
            Name = other.Name;
            Data = other.Data;
        }
    }
}
