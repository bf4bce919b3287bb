using System;
using System.Collections.Generic;
using System.Text;

namespace Facecast
{
    /// <summary>What the next msgpack value is.</summary>
    public enum MsgPackType { Nil, Bool, Int, Float, Str, Bin, Array, Map, Ext, Invalid }

    /// <summary>
    /// A forward-only msgpack reader over a byte range: no reflection, and no allocation except in
    /// <see cref="ReadValue"/> and <see cref="ReadString"/>. Truncated or invalid input throws
    /// <see cref="FacecastProtocolException"/> with code "malformed".
    /// </summary>
    public struct MsgPackReader
    {
        const int MaxDepth = 64; // a hostile header must not overflow the stack

        static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        readonly byte[] _buf;
        readonly int _end;
        int _pos;

        public MsgPackReader(byte[] buffer, int offset, int count)
        {
            _buf = buffer;
            _pos = offset;
            _end = offset + count;
        }

        /// <summary>Offset of the next unread byte in the buffer.</summary>
        public int Position { get { return _pos; } }

        /// <summary>The buffer being read (for comparing string slices in place).</summary>
        public byte[] Buffer { get { return _buf; } }

        /// <summary>True when every byte has been consumed.</summary>
        public bool AtEnd { get { return _pos == _end; } }

        /// <summary>Type of the next value without consuming it.</summary>
        public MsgPackType PeekType()
        {
            Need(1);
            byte b = _buf[_pos];
            if (b <= 0x7f || b >= 0xe0) return MsgPackType.Int;
            if (b <= 0x8f) return MsgPackType.Map;
            if (b <= 0x9f) return MsgPackType.Array;
            if (b <= 0xbf) return MsgPackType.Str;
            switch (b)
            {
                case 0xc0: return MsgPackType.Nil;
                case 0xc2: case 0xc3: return MsgPackType.Bool;
                case 0xc4: case 0xc5: case 0xc6: return MsgPackType.Bin;
                case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return MsgPackType.Ext;
                case 0xca: case 0xcb: return MsgPackType.Float;
                case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MsgPackType.Int;
                case 0xd9: case 0xda: case 0xdb: return MsgPackType.Str;
                case 0xdc: case 0xdd: return MsgPackType.Array;
                case 0xde: case 0xdf: return MsgPackType.Map;
                default: return MsgPackType.Invalid; // 0xc1 is never used
            }
        }

        /// <summary>Reads a map header; throws unless the next value is a map.</summary>
        public int ReadMapHeader()
        {
            Need(1);
            byte b = _buf[_pos];
            if (b >= 0x80 && b <= 0x8f) { _pos++; return b & 0x0f; }
            if (b == 0xde) { _pos++; return (int)ReadBE(2); }
            if (b == 0xdf) { _pos++; return Count(ReadBE(4)); }
            throw FacecastProtocolException.Malformed("expected a msgpack map");
        }

        /// <summary>Reads an array header; throws unless the next value is an array.</summary>
        public int ReadArrayHeader()
        {
            Need(1);
            byte b = _buf[_pos];
            if (b >= 0x90 && b <= 0x9f) { _pos++; return b & 0x0f; }
            if (b == 0xdc) { _pos++; return (int)ReadBE(2); }
            if (b == 0xdd) { _pos++; return Count(ReadBE(4)); }
            throw FacecastProtocolException.Malformed("expected a msgpack array");
        }

        /// <summary>Reads a str value as a slice of the buffer (no allocation).</summary>
        public void ReadStrSlice(out int start, out int length)
        {
            Need(1);
            byte b = _buf[_pos];
            long n;
            if (b >= 0xa0 && b <= 0xbf) { _pos++; n = b & 0x1f; }
            else if (b == 0xd9) { _pos++; n = (long)ReadBE(1); }
            else if (b == 0xda) { _pos++; n = (long)ReadBE(2); }
            else if (b == 0xdb) { _pos++; n = (long)ReadBE(4); }
            else throw FacecastProtocolException.Malformed("expected a msgpack str");
            Need(n);
            start = _pos;
            length = (int)n;
            _pos += length;
        }

        /// <summary>Reads a str value as a string (allocates).</summary>
        public string ReadString()
        {
            int start, length;
            ReadStrSlice(out start, out length);
            return Decode(start, length);
        }

        /// <summary>Reads a bool; an integer is not a bool.</summary>
        public bool ReadBool()
        {
            Need(1);
            byte b = _buf[_pos];
            if (b == 0xc2 || b == 0xc3) { _pos++; return b == 0xc3; }
            throw FacecastProtocolException.Malformed("expected a msgpack bool");
        }

        /// <summary>
        /// Reads an integer of any width. negative tells the sign; magnitude is the absolute value
        /// (so a uint64 above long.MaxValue is representable).
        /// </summary>
        public void ReadInteger(out bool negative, out ulong magnitude)
        {
            Need(1);
            byte b = _buf[_pos];
            long signed;
            if (b <= 0x7f) { _pos++; negative = false; magnitude = b; return; }
            if (b >= 0xe0) { _pos++; signed = (sbyte)b; }
            else
            {
                switch (b)
                {
                    case 0xcc: _pos++; negative = false; magnitude = ReadBE(1); return;
                    case 0xcd: _pos++; negative = false; magnitude = ReadBE(2); return;
                    case 0xce: _pos++; negative = false; magnitude = ReadBE(4); return;
                    case 0xcf: _pos++; negative = false; magnitude = ReadBE(8); return;
                    case 0xd0: _pos++; signed = (sbyte)ReadBE(1); break;
                    case 0xd1: _pos++; signed = (short)ReadBE(2); break;
                    case 0xd2: _pos++; signed = (int)ReadBE(4); break;
                    case 0xd3: _pos++; signed = (long)ReadBE(8); break;
                    default: throw FacecastProtocolException.Malformed("expected a msgpack integer");
                }
            }
            negative = signed < 0;
            magnitude = negative ? (ulong)(-(signed + 1)) + 1 : (ulong)signed;
        }

        /// <summary>Reads an integer that must fit a long.</summary>
        public long ReadInt64()
        {
            bool negative;
            ulong magnitude;
            ReadInteger(out negative, out magnitude);
            if (!negative && magnitude > long.MaxValue) throw FacecastProtocolException.Malformed("integer out of range");
            return negative ? (long)(0UL - magnitude) : (long)magnitude;
        }

        /// <summary>Reads a float32, float64 or integer as a double (what protocol float fields accept).</summary>
        public double ReadNumber()
        {
            Need(1);
            byte b = _buf[_pos];
            if (b == 0xca) { _pos++; return ToSingle((uint)ReadBE(4)); }
            if (b == 0xcb) { _pos++; return BitConverter.Int64BitsToDouble((long)ReadBE(8)); }
            if (PeekType() != MsgPackType.Int) throw FacecastProtocolException.Malformed("expected a number");
            bool negative;
            ulong magnitude;
            ReadInteger(out negative, out magnitude);
            return negative ? -(double)magnitude : magnitude;
        }

        /// <summary>Skips one value of any type, checking its structure (map keys must be str or bin).</summary>
        public void Skip()
        {
            Skip(0);
        }

        void Skip(int depth)
        {
            if (depth > MaxDepth) throw FacecastProtocolException.Malformed("msgpack nested too deeply");
            int start, length;
            switch (PeekType())
            {
                case MsgPackType.Nil: _pos++; return;
                case MsgPackType.Bool: _pos++; return;
                case MsgPackType.Int: bool neg; ulong mag; ReadInteger(out neg, out mag); return;
                case MsgPackType.Float: ReadNumber(); return;
                case MsgPackType.Str: ReadStrSlice(out start, out length); return;
                case MsgPackType.Bin: ReadBinSlice(out start, out length); return;
                case MsgPackType.Ext: SkipExt(); return;
                case MsgPackType.Array:
                {
                    int n = ReadArrayHeader();
                    for (int i = 0; i < n; i++) Skip(depth + 1);
                    return;
                }
                case MsgPackType.Map:
                {
                    int n = ReadMapHeader();
                    for (int i = 0; i < n; i++)
                    {
                        MsgPackType k = PeekType();
                        if (k != MsgPackType.Str && k != MsgPackType.Bin) throw FacecastProtocolException.Malformed("map key is not a string");
                        Skip(depth + 1);
                        Skip(depth + 1);
                    }
                    return;
                }
                default: throw FacecastProtocolException.Malformed("byte 0x" + _buf[_pos].ToString("x2") + " is not msgpack");
            }
        }

        /// <summary>Reads a bin value as a slice of the buffer.</summary>
        public void ReadBinSlice(out int start, out int length)
        {
            Need(1);
            byte b = _buf[_pos];
            long n;
            if (b == 0xc4) { _pos++; n = (long)ReadBE(1); }
            else if (b == 0xc5) { _pos++; n = (long)ReadBE(2); }
            else if (b == 0xc6) { _pos++; n = (long)ReadBE(4); }
            else throw FacecastProtocolException.Malformed("expected msgpack bin");
            Need(n);
            start = _pos;
            length = (int)n;
            _pos += length;
        }

        void SkipExt()
        {
            byte b = _buf[_pos++];
            long n;
            switch (b)
            {
                case 0xd4: n = 1; break;
                case 0xd5: n = 2; break;
                case 0xd6: n = 4; break;
                case 0xd7: n = 8; break;
                case 0xd8: n = 16; break;
                case 0xc7: n = (long)ReadBE(1); break;
                case 0xc8: n = (long)ReadBE(2); break;
                default: n = (long)ReadBE(4); break;
            }
            Need(n + 1);
            _pos += (int)n + 1; // type byte + data
        }

        /// <summary>
        /// Reads any value as plain objects (allocates; for replies and events, never per motion frame):
        /// null, bool, long (or ulong above long.MaxValue), float (msgpack float32), double, string,
        /// byte[], List&lt;object&gt;, MsgPackMap.
        /// </summary>
        public object ReadValue()
        {
            return ReadValue(0);
        }

        object ReadValue(int depth)
        {
            if (depth > MaxDepth) throw FacecastProtocolException.Malformed("msgpack nested too deeply");
            int start, length;
            switch (PeekType())
            {
                case MsgPackType.Nil: _pos++; return null;
                case MsgPackType.Bool: return ReadBool();
                case MsgPackType.Int:
                {
                    bool negative;
                    ulong magnitude;
                    ReadInteger(out negative, out magnitude);
                    if (negative) return (long)(0UL - magnitude);
                    if (magnitude > long.MaxValue) return magnitude;
                    return (long)magnitude;
                }
                case MsgPackType.Float:
                    if (_buf[_pos] == 0xca) { _pos++; return ToSingle((uint)ReadBE(4)); }
                    return ReadNumber();
                case MsgPackType.Str: return ReadString();
                case MsgPackType.Bin:
                {
                    ReadBinSlice(out start, out length);
                    var bytes = new byte[length];
                    System.Buffer.BlockCopy(_buf, start, bytes, 0, length);
                    return bytes;
                }
                case MsgPackType.Ext: SkipExt(); return null; // the protocol uses no ext types
                case MsgPackType.Array:
                {
                    int n = ReadArrayHeader();
                    var list = new List<object>(Math.Min(n, 1024));
                    for (int i = 0; i < n; i++) list.Add(ReadValue(depth + 1));
                    return list;
                }
                case MsgPackType.Map:
                {
                    int n = ReadMapHeader();
                    var map = new MsgPackMap();
                    for (int i = 0; i < n; i++)
                    {
                        string key;
                        MsgPackType k = PeekType();
                        if (k == MsgPackType.Str) key = ReadString();
                        else if (k == MsgPackType.Bin) { ReadBinSlice(out start, out length); key = Decode(start, length); }
                        else throw FacecastProtocolException.Malformed("map key is not a string");
                        map.Set(key, ReadValue(depth + 1));
                    }
                    return map;
                }
                default: throw FacecastProtocolException.Malformed("byte 0x" + _buf[_pos].ToString("x2") + " is not msgpack");
            }
        }

        /// <summary>True when the str slice equals the ASCII key bytes.</summary>
        public static bool SliceEquals(byte[] buffer, int start, int length, byte[] key)
        {
            if (length != key.Length) return false;
            for (int i = 0; i < length; i++)
                if (buffer[start + i] != key[i]) return false;
            return true;
        }

        string Decode(int start, int length)
        {
            try { return StrictUtf8.GetString(_buf, start, length); }
            catch (ArgumentException) { throw FacecastProtocolException.Malformed("str is not valid UTF-8"); }
        }

        static float ToSingle(uint bits)
        {
            return BitConverter.ToSingle(BitConverter.GetBytes(bits), 0); // float32 on the wire is rare (never per frame)
        }

        void Need(long n)
        {
            if (n < 0 || _end - _pos < n) throw FacecastProtocolException.Malformed("msgpack data is truncated");
        }

        static int Count(ulong n)
        {
            if (n > int.MaxValue) throw FacecastProtocolException.Malformed("msgpack length out of range");
            return (int)n;
        }

        ulong ReadBE(int bytes)
        {
            Need(bytes);
            ulong v = 0;
            for (int i = 0; i < bytes; i++) v = (v << 8) | _buf[_pos + i];
            _pos += bytes;
            return v;
        }
    }

    /// <summary>A decoded msgpack map that keeps wire order (keys are few; lookups are linear).</summary>
    public sealed class MsgPackMap
    {
        readonly List<KeyValuePair<string, object>> _items = new List<KeyValuePair<string, object>>();

        /// <summary>Entries in wire order.</summary>
        public IList<KeyValuePair<string, object>> Items { get { return _items; } }

        public int Count { get { return _items.Count; } }

        /// <summary>Adds or replaces (a repeated key keeps its first position and its last value).</summary>
        public void Set(string key, object value)
        {
            for (int i = 0; i < _items.Count; i++)
                if (_items[i].Key == key) { _items[i] = new KeyValuePair<string, object>(key, value); return; }
            _items.Add(new KeyValuePair<string, object>(key, value));
        }

        public bool TryGetValue(string key, out object value)
        {
            for (int i = 0; i < _items.Count; i++)
                if (_items[i].Key == key) { value = _items[i].Value; return true; }
            value = null;
            return false;
        }

        public bool ContainsKey(string key)
        {
            object unused;
            return TryGetValue(key, out unused);
        }

        /// <summary>The value, or null when absent.</summary>
        public object Get(string key)
        {
            object v;
            return TryGetValue(key, out v) ? v : null;
        }
    }
}
