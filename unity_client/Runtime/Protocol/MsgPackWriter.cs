using System;
using System.Collections;
using System.Collections.Generic;
using System.Text;

namespace Facecast
{
    /// <summary>
    /// A msgpack writer into a reusable growable buffer. Writes what the Python encoder writes: str for
    /// strings, the shortest integer encoding, float64 for floats, so requests match the golden bytes.
    /// </summary>
    public sealed class MsgPackWriter
    {
        byte[] _buf;
        int _len;

        public MsgPackWriter(int capacity = 256)
        {
            _buf = new byte[capacity];
        }

        /// <summary>The bytes written so far are Buffer[0..Length).</summary>
        public byte[] Buffer { get { return _buf; } }

        public int Length { get { return _len; } }

        /// <summary>Starts over, keeping the buffer.</summary>
        public void Clear()
        {
            _len = 0;
        }

        /// <summary>A copy of the written bytes.</summary>
        public byte[] ToArray()
        {
            var copy = new byte[_len];
            System.Buffer.BlockCopy(_buf, 0, copy, 0, _len);
            return copy;
        }

        public void WriteNil()
        {
            Reserve(1);
            _buf[_len++] = 0xc0;
        }

        public void WriteBool(bool value)
        {
            Reserve(1);
            _buf[_len++] = value ? (byte)0xc3 : (byte)0xc2;
        }

        public void WriteMapHeader(int count)
        {
            if (count < 16) { Reserve(1); _buf[_len++] = (byte)(0x80 | count); }
            else if (count <= 0xffff) { WriteByte(0xde); WriteBE((ulong)count, 2); }
            else { WriteByte(0xdf); WriteBE((ulong)count, 4); }
        }

        public void WriteArrayHeader(int count)
        {
            if (count < 16) { Reserve(1); _buf[_len++] = (byte)(0x90 | count); }
            else if (count <= 0xffff) { WriteByte(0xdc); WriteBE((ulong)count, 2); }
            else { WriteByte(0xdd); WriteBE((ulong)count, 4); }
        }

        public void WriteString(string value)
        {
            int n = Encoding.UTF8.GetByteCount(value);
            if (n < 32) WriteByte((byte)(0xa0 | n));
            else if (n <= 0xff) { WriteByte(0xd9); WriteBE((ulong)n, 1); }
            else if (n <= 0xffff) { WriteByte(0xda); WriteBE((ulong)n, 2); }
            else { WriteByte(0xdb); WriteBE((ulong)n, 4); }
            Reserve(n);
            _len += Encoding.UTF8.GetBytes(value, 0, value.Length, _buf, _len);
        }

        public void WriteBin(byte[] data, int offset, int count)
        {
            if (count <= 0xff) { WriteByte(0xc4); WriteBE((ulong)count, 1); }
            else if (count <= 0xffff) { WriteByte(0xc5); WriteBE((ulong)count, 2); }
            else { WriteByte(0xc6); WriteBE((ulong)count, 4); }
            Reserve(count);
            System.Buffer.BlockCopy(data, offset, _buf, _len, count);
            _len += count;
        }

        public void WriteInt(long value)
        {
            if (value >= 0) { WriteUInt((ulong)value); return; }
            if (value >= -32) WriteByte((byte)(sbyte)value);
            else if (value >= sbyte.MinValue) { WriteByte(0xd0); WriteBE((ulong)value, 1); }
            else if (value >= short.MinValue) { WriteByte(0xd1); WriteBE((ulong)value, 2); }
            else if (value >= int.MinValue) { WriteByte(0xd2); WriteBE((ulong)value, 4); }
            else { WriteByte(0xd3); WriteBE((ulong)value, 8); }
        }

        public void WriteUInt(ulong value)
        {
            if (value <= 0x7f) WriteByte((byte)value);
            else if (value <= 0xff) { WriteByte(0xcc); WriteBE(value, 1); }
            else if (value <= 0xffff) { WriteByte(0xcd); WriteBE(value, 2); }
            else if (value <= 0xffffffff) { WriteByte(0xce); WriteBE(value, 4); }
            else { WriteByte(0xcf); WriteBE(value, 8); }
        }

        public void WriteDouble(double value)
        {
            WriteByte(0xcb);
            WriteBE((ulong)BitConverter.DoubleToInt64Bits(value), 8);
        }

        /// <summary>
        /// Writes plain objects as <see cref="MsgPackReader.ReadValue"/> returns them (float is written as
        /// float64, as every facecast encoder does). Throws ArgumentException for other types.
        /// </summary>
        public void WriteValue(object value)
        {
            if (value == null) { WriteNil(); return; }
            if (value is bool) { WriteBool((bool)value); return; }
            if (value is string) { WriteString((string)value); return; }
            if (value is int) { WriteInt((int)value); return; }
            if (value is long) { WriteInt((long)value); return; }
            if (value is ulong) { WriteUInt((ulong)value); return; }
            if (value is float) { WriteDouble((float)value); return; }
            if (value is double) { WriteDouble((double)value); return; }
            var bytes = value as byte[];
            if (bytes != null) { WriteBin(bytes, 0, bytes.Length); return; }
            var map = value as MsgPackMap;
            if (map != null)
            {
                WriteMapHeader(map.Count);
                foreach (var kv in map.Items) { WriteString(kv.Key); WriteValue(kv.Value); }
                return;
            }
            var pairs = value as IList<KeyValuePair<string, object>>;
            if (pairs != null)
            {
                WriteMapHeader(pairs.Count);
                foreach (var kv in pairs) { WriteString(kv.Key); WriteValue(kv.Value); }
                return;
            }
            var list = value as IList;
            if (list != null)
            {
                WriteArrayHeader(list.Count);
                foreach (object item in list) WriteValue(item);
                return;
            }
            throw new ArgumentException("cannot write a " + value.GetType().Name + " as msgpack");
        }

        void WriteByte(byte b)
        {
            Reserve(1);
            _buf[_len++] = b;
        }

        void WriteBE(ulong v, int bytes)
        {
            Reserve(bytes);
            for (int i = bytes - 1; i >= 0; i--)
            {
                _buf[_len + i] = (byte)v;
                v >>= 8;
            }
            _len += bytes;
        }

        void Reserve(int n)
        {
            if (_len + n <= _buf.Length) return;
            int size = Math.Max(_buf.Length * 2, _len + n);
            Array.Resize(ref _buf, size);
        }
    }
}
