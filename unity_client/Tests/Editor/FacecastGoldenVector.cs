using System;

namespace Facecast.Editor.Tests
{
    /// <summary>
    /// One golden vector of tests/vectors/: the multipart message (the .parts file: per part a uint32
    /// little-endian length, then the bytes) and what a decoder must make of it (from the .json file).
    /// </summary>
    sealed class FacecastGoldenVector
    {
        public string Name, Kind, ExpectError, PartsBase64;
        public bool Valid;
        // valid stream messages
        public string Type, Session;
        public ulong Seq;
        public double TAudioS, TWallS;
        // motion
        public float[] Values;
        public string[] Layout;
        public int[] LayoutCounts;
        public bool Speaking;
        // raw frames: expected pixels, RGBA (alpha 255 for rgb24), top row first as on the wire
        public string Format;
        public int Width, Height;
        public byte[] PixelsRgbaTopDown;
        // replies
        public long Id;
        public bool Ok;
        public string ErrorCode;

        /// <summary>The message's parts, as a transport hands them to the decoder.</summary>
        public FacecastMultipart Parts()
        {
            byte[] file = Convert.FromBase64String(PartsBase64);
            var parts = new FacecastMultipart();
            for (int i = 0; i < file.Length;)
            {
                int n = BitConverter.ToInt32(file, i);
                parts.Append(file, i + 4, n);
                i += 4 + n;
            }
            return parts;
        }

        public override string ToString() { return Name; }
    }
}
