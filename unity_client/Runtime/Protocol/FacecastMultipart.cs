using System;

namespace Facecast
{
    /// <summary>
    /// A ZeroMQ multipart message in reusable buffers: transports fill it, decoders read it. Buffers grow
    /// to the largest part seen and are then reused, so steady-state receiving allocates nothing.
    /// </summary>
    public sealed class FacecastMultipart
    {
        /// <summary>Parts beyond this are counted but not stored (no valid message has more than 3).</summary>
        public const int MaxStoredParts = 8;

        readonly byte[][] _buffers = new byte[MaxStoredParts][];
        readonly int[] _lengths = new int[MaxStoredParts];

        /// <summary>Number of parts of the message (stored or not).</summary>
        public int Count { get; private set; }

        public FacecastMultipart()
        {
            for (int i = 0; i < MaxStoredParts; i++) _buffers[i] = new byte[64];
        }

        /// <summary>Buffer of part i; its first Length(i) bytes are the part.</summary>
        public byte[] Buffer(int i) { return _buffers[i]; }

        /// <summary>Length of part i in bytes.</summary>
        public int Length(int i) { return _lengths[i]; }

        /// <summary>Empties the message, keeping the buffers.</summary>
        public void Clear() { Count = 0; }

        /// <summary>
        /// Appends a part of `length` bytes and returns the buffer to fill (null when the part is past
        /// MaxStoredParts: count it, drop the bytes).
        /// </summary>
        public byte[] Append(int length)
        {
            int i = Count++;
            if (i >= MaxStoredParts) return null;
            if (_buffers[i].Length < length) _buffers[i] = new byte[Math.Max(length, _buffers[i].Length * 2)];
            _lengths[i] = length;
            return _buffers[i];
        }

        /// <summary>Appends a copy of data[offset..offset+length).</summary>
        public void Append(byte[] data, int offset, int length)
        {
            byte[] dst = Append(length);
            if (dst != null && length > 0) System.Buffer.BlockCopy(data, offset, dst, 0, length);
        }
    }
}
