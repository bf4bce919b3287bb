using System;
using System.Text;

namespace Facecast
{
    /// <summary>
    /// Decodes stream messages [topic, header, payload] of protocol v1 into reusable objects. The header
    /// map is walked key by key with <see cref="MsgPackReader"/>; keys are compared as bytes, so a motion
    /// message allocates nothing once the session string is cached. Every rule of bridge/protocol.py's
    /// decode() is applied; a refusal throws <see cref="FacecastProtocolException"/> with its code.
    /// Not thread-safe: one decoder per receive thread.
    /// </summary>
    public sealed class FacecastStreamDecoder
    {
        static readonly byte[] KeyV = Ascii("v"), KeyType = Ascii("type"), KeySeq = Ascii("seq"),
            KeyTAudio = Ascii("t_audio"), KeyTWall = Ascii("t_wall"), KeySession = Ascii("session"),
            KeyDtype = Ascii("dtype"), KeyShape = Ascii("shape"), KeyLayout = Ascii("layout"),
            KeySpeaking = Ascii("speaking"), KeyFmt = Ascii("fmt"), KeyW = Ascii("w"), KeyH = Ascii("h"),
            KeyStride = Ascii("stride"), KeyName = Ascii("name"), KeyData = Ascii("data");
        static readonly byte[] KindMotion = Ascii("motion"), KindFrame = Ascii("frame"), KindEvent = Ascii("event");
        static readonly byte[] F4 = Ascii("<f4");
        static readonly byte[][] FormatNames = { Ascii("jpeg"), Ascii("rgb24"), Ascii("rgba32"), Ascii("bgra32") };
        static readonly byte[][] BlockNames = { Ascii("blendshapes"), Ascii("head"), Ascii("gaze"), Ascii("visemes") };
        static readonly int[] BlockCounts = { 52, 6, 4, 15 };

        // Scratch state of the header being decoded (reused: no allocation per message).
        int _fields;
        const int FV = 1, FType = 2, FSeq = 4, FTAudio = 8, FTWall = 16, FSession = 32, FDtype = 64, FShape = 128,
            FLayout = 256, FSpeaking = 512, FFmt = 1024, FW = 2048, FH = 4096, FStride = 8192, FName = 16384, FData = 32768;
        string _error; // first field error; reported after the version check
        bool _versionMismatch;
        string _versionText;
        int _minor;
        FacecastStreamKind _kind;
        ulong _seq;
        double _tAudio, _tWall;
        int _sessionStart, _sessionLength;
        bool _dtypeOk, _speaking;
        int _shapeLength;
        long _shape0;
        int _blockCount;
        int[] _blockNameStart = new int[8], _blockNameLength = new int[8];
        long[] _blockN = new long[8];
        int _fmt;
        long _w, _h, _stride;
        string _name;
        MsgPackMap _data;
        bool _dataIsMap;

        // Cache so a steady stream reuses one session string.
        byte[] _sessionBytes = new byte[0];
        string _session = "";

        /// <summary>Messages refused, by any code (for a status readout).</summary>
        public long Refused;

        /// <summary>
        /// Decodes `parts`. Motion goes into `motion`, frames into `frame` (payload copied into frame.Data),
        /// events into `ev`. Returns the kind decoded; throws FacecastProtocolException on a bad message.
        /// </summary>
        public FacecastStreamKind Decode(FacecastMultipart parts, FacecastMotion motion, FacecastFrame frame, FacecastEvent ev)
        {
            try
            {
                return DecodeChecked(parts, motion, frame, ev);
            }
            catch (FacecastProtocolException)
            {
                Refused++;
                throw;
            }
        }

        FacecastStreamKind DecodeChecked(FacecastMultipart parts, FacecastMotion motion, FacecastFrame frame, FacecastEvent ev)
        {
            if (parts.Count != 3)
                throw FacecastProtocolException.Malformed("stream messages have 3 parts, got " + parts.Count);
            byte[] topic = parts.Buffer(0), header = parts.Buffer(1), payload = parts.Buffer(2);
            int topicLen = parts.Length(0), headerLen = parts.Length(1), payloadLen = parts.Length(2);
            if (payloadLen > FacecastSchema.MaxPayloadBytes)
                throw new FacecastProtocolException("too_large", "payload of " + payloadLen + " bytes");
            if (headerLen > FacecastSchema.MaxHeaderBytes)
                throw new FacecastProtocolException("too_large", "header is " + headerLen + " bytes, limit " + FacecastSchema.MaxHeaderBytes);

            ParseHeader(header, headerLen);
            if ((_fields & FV) == 0) throw FacecastProtocolException.Malformed("header lacks 'v'");
            if (_versionMismatch)
                throw new FacecastProtocolException("version", "peer speaks protocol " + _versionText + ", this client speaks "
                    + FacecastSchema.ProtocolVersion + "; upgrade whichever side is older");
            if (_error != null) throw FacecastProtocolException.Malformed(_error);
            Require(FType, "type");
            Require(FSeq, "seq");
            Require(FTAudio, "t_audio");
            Require(FTWall, "t_wall");
            Require(FSession, "session");
            CheckTopic(topic, topicLen, header);

            FacecastStamp stamp;
            if (_kind == FacecastStreamKind.Motion) { DecodeMotion(header, payload, payloadLen, motion); stamp = motion; }
            else if (_kind == FacecastStreamKind.Frame) { DecodeFrame(payload, payloadLen, frame); stamp = frame; }
            else
            {
                Require(FData, "data");
                if (!_dataIsMap) throw FacecastProtocolException.Malformed("header field 'data' must be a map");
                Require(FName, "name");
                ev.Name = _name;
                ev.Data = _data;
                stamp = ev;
            }
            stamp.Session = SessionString(header);
            stamp.Seq = _seq;
            stamp.TAudioS = _tAudio;
            stamp.TWallS = _tWall;
            stamp.VersionMinor = _minor;
            return _kind;
        }

        void Require(int flag, string key)
        {
            if ((_fields & flag) == 0) throw FacecastProtocolException.Malformed("header lacks '" + key + "'");
        }

        void ParseHeader(byte[] buf, int len)
        {
            _fields = 0;
            _error = null;
            _versionMismatch = false;
            _kind = FacecastStreamKind.None;
            _blockCount = 0;
            _shapeLength = 0;
            _data = null;
            _dataIsMap = false;
            var r = new MsgPackReader(buf, 0, len);
            if (r.PeekType() != MsgPackType.Map) throw FacecastProtocolException.Malformed("header must be a msgpack map");
            int n = r.ReadMapHeader();
            for (int i = 0; i < n; i++)
            {
                MsgPackType kt = r.PeekType();
                if (kt != MsgPackType.Str)
                {
                    if (kt != MsgPackType.Bin) throw FacecastProtocolException.Malformed("header keys must be strings");
                    r.Skip();
                    r.Skip();
                    continue;
                }
                int ks, kl;
                r.ReadStrSlice(out ks, out kl);
                ParseField(ref r, buf, ks, kl);
            }
            if (!r.AtEnd) throw FacecastProtocolException.Malformed("header has bytes after its map");
        }

        void ParseField(ref MsgPackReader r, byte[] buf, int ks, int kl)
        {
            MsgPackType t = r.PeekType();
            int s, l;
            if (Key(buf, ks, kl, KeyV))
            {
                _fields |= FV;
                if (t != MsgPackType.Str) { Fail("header field 'v' must be a 'major.minor' string"); r.Skip(); return; }
                r.ReadStrSlice(out s, out l);
                int major;
                if (!ParseVersion(buf, s, l, out major, out _minor)) { Fail("version must look like '1.0'"); return; }
                if (major != FacecastSchema.ProtocolMajor)
                {
                    _versionMismatch = true;
                    _versionText = Encoding.ASCII.GetString(buf, s, l);
                }
            }
            else if (Key(buf, ks, kl, KeyType))
            {
                _fields |= FType;
                if (t != MsgPackType.Str) { Fail("header field 'type' must be a string"); r.Skip(); return; }
                r.ReadStrSlice(out s, out l);
                if (Key(buf, s, l, KindMotion)) _kind = FacecastStreamKind.Motion;
                else if (Key(buf, s, l, KindFrame)) _kind = FacecastStreamKind.Frame;
                else if (Key(buf, s, l, KindEvent)) _kind = FacecastStreamKind.Event;
                else Fail("unknown message type");
            }
            else if (Key(buf, ks, kl, KeySeq))
            {
                _fields |= FSeq;
                if (t != MsgPackType.Int) { Fail("header field 'seq' must be an int"); r.Skip(); return; }
                bool negative;
                r.ReadInteger(out negative, out _seq);
                if (negative) Fail("seq must be >= 0");
            }
            else if (Key(buf, ks, kl, KeyTAudio)) { _fields |= FTAudio; _tAudio = Time(ref r, t, "t_audio"); }
            else if (Key(buf, ks, kl, KeyTWall)) { _fields |= FTWall; _tWall = Time(ref r, t, "t_wall"); }
            else if (Key(buf, ks, kl, KeySession))
            {
                _fields |= FSession;
                if (t != MsgPackType.Str) { Fail("header field 'session' must be a string"); r.Skip(); return; }
                r.ReadStrSlice(out _sessionStart, out _sessionLength);
            }
            else if (Key(buf, ks, kl, KeyDtype))
            {
                _fields |= FDtype;
                if (t != MsgPackType.Str) { Fail("header field 'dtype' must be a string"); r.Skip(); return; }
                r.ReadStrSlice(out s, out l);
                _dtypeOk = Key(buf, s, l, F4);
            }
            else if (Key(buf, ks, kl, KeyShape))
            {
                _fields |= FShape;
                if (t != MsgPackType.Array) { Fail("header field 'shape' must be a list"); r.Skip(); return; }
                _shapeLength = r.ReadArrayHeader();
                for (int i = 0; i < _shapeLength; i++)
                {
                    if (r.PeekType() != MsgPackType.Int) { Fail("shape must hold ints"); r.Skip(); continue; }
                    long v = r.ReadInt64();
                    if (i == 0) _shape0 = v;
                }
            }
            else if (Key(buf, ks, kl, KeyLayout))
            {
                _fields |= FLayout;
                if (t != MsgPackType.Array) { Fail("header field 'layout' must be a list"); r.Skip(); return; }
                ParseLayout(ref r);
            }
            else if (Key(buf, ks, kl, KeySpeaking))
            {
                _fields |= FSpeaking;
                if (t != MsgPackType.Bool) { Fail("header field 'speaking' must be a bool"); r.Skip(); return; }
                _speaking = r.ReadBool();
            }
            else if (Key(buf, ks, kl, KeyFmt))
            {
                _fields |= FFmt;
                if (t != MsgPackType.Str) { Fail("header field 'fmt' must be a string"); r.Skip(); return; }
                r.ReadStrSlice(out s, out l);
                _fmt = -1;
                for (int i = 0; i < FormatNames.Length; i++) if (Key(buf, s, l, FormatNames[i])) _fmt = i;
            }
            else if (Key(buf, ks, kl, KeyW)) { _fields |= FW; _w = Int(ref r, t, "w"); }
            else if (Key(buf, ks, kl, KeyH)) { _fields |= FH; _h = Int(ref r, t, "h"); }
            else if (Key(buf, ks, kl, KeyStride)) { _fields |= FStride; _stride = Int(ref r, t, "stride"); }
            else if (Key(buf, ks, kl, KeyName))
            {
                _fields |= FName;
                if (t != MsgPackType.Str) { Fail("header field 'name' must be a string"); r.Skip(); return; }
                _name = r.ReadString();
            }
            else if (Key(buf, ks, kl, KeyData))
            {
                _fields |= FData;
                _dataIsMap = t == MsgPackType.Map;
                if (_dataIsMap) _data = (MsgPackMap)r.ReadValue(); // events only: once a second
                else r.Skip();
            }
            else r.Skip(); // keys of newer minor versions
        }

        void ParseLayout(ref MsgPackReader r)
        {
            int n = r.ReadArrayHeader();
            for (int i = 0; i < n; i++)
            {
                if (r.PeekType() != MsgPackType.Array) { Fail("layout entries must be [name, count] pairs"); r.Skip(); continue; }
                int m = r.ReadArrayHeader();
                if (m != 2 || r.PeekType() != MsgPackType.Str)
                {
                    Fail("layout entries must be [name, count] pairs");
                    for (int j = 0; j < m; j++) r.Skip();
                    continue;
                }
                int s, l;
                r.ReadStrSlice(out s, out l);
                if (r.PeekType() != MsgPackType.Int) { Fail("layout counts must be ints"); r.Skip(); continue; }
                bool negative;
                ulong count;
                r.ReadInteger(out negative, out count);
                if (negative || count > (ulong)(FacecastSchema.MaxPayloadBytes / 4)) { Fail("layout count out of range"); continue; }
                if (_blockCount == _blockN.Length)
                {
                    Array.Resize(ref _blockNameStart, _blockCount * 2);
                    Array.Resize(ref _blockNameLength, _blockCount * 2);
                    Array.Resize(ref _blockN, _blockCount * 2);
                }
                byte[] buf = r.Buffer;
                for (int j = 0; j < _blockCount; j++)
                    if (_blockNameLength[j] == l && SliceEquals(buf, _blockNameStart[j], buf, s, l)) Fail("layout names must be unique");
                _blockNameStart[_blockCount] = s;
                _blockNameLength[_blockCount] = l;
                _blockN[_blockCount] = (long)count;
                _blockCount++;
            }
        }

        void DecodeMotion(byte[] header, byte[] payload, int payloadLen, FacecastMotion m)
        {
            Require(FDtype, "dtype");
            Require(FLayout, "layout");
            Require(FShape, "shape");
            if (!_dtypeOk) throw FacecastProtocolException.Malformed("motion dtype must be '<f4'");
            long total = 0;
            for (int i = 0; i < _blockCount; i++) total += _blockN[i];
            if (_shapeLength != 1 || _shape0 != total || payloadLen != 4 * total)
                throw FacecastProtocolException.Malformed("motion payload " + payloadLen + " bytes does not match layout of " + total + " floats");
            int bs = -1, hd = -1, gz = -1, vs = -1, extra = 0;
            int offset = 0;
            for (int i = 0; i < _blockCount; i++)
            {
                int known = -1;
                for (int k = 0; k < BlockNames.Length; k++)
                    if (Key(header, _blockNameStart[i], _blockNameLength[i], BlockNames[k])) known = k;
                if (known >= 0 && _blockN[i] != BlockCounts[known])
                    throw FacecastProtocolException.Malformed("motion block '" + Encoding.ASCII.GetString(BlockNames[known]) + "' must have " + BlockCounts[known] + " values");
                if (known == 0) bs = offset; else if (known == 1) hd = offset; else if (known == 2) gz = offset; else if (known == 3) vs = offset;
                else extra++;
                offset += (int)_blockN[i];
            }
            if (bs < 0 || hd < 0 || gz < 0 || vs < 0) throw FacecastProtocolException.Malformed("motion layout lacks a v1 block");
            if (m.Values.Length < total) m.Values = new float[total];
            CopyFloats(payload, m.Values, (int)total);
            m.ValueCount = (int)total;
            m.BlendshapeOffset = bs;
            m.HeadOffset = hd;
            m.GazeOffset = gz;
            m.VisemeOffset = vs;
            m.Speaking = (_fields & FSpeaking) != 0 && _speaking;
            m.EnsureExtra(extra);
            m.ExtraBlockCount = 0;
            offset = 0;
            for (int i = 0; i < _blockCount; i++)
            {
                bool known = false;
                for (int k = 0; k < BlockNames.Length; k++)
                    known |= Key(header, _blockNameStart[i], _blockNameLength[i], BlockNames[k]);
                if (!known)
                {
                    int e = m.ExtraBlockCount++;
                    // a newer minor's block: its name string is allocated only when it changes
                    if (m.ExtraBlockNames[e] == null || !NameEquals(m.ExtraBlockNames[e], header, _blockNameStart[i], _blockNameLength[i]))
                        m.ExtraBlockNames[e] = Encoding.UTF8.GetString(header, _blockNameStart[i], _blockNameLength[i]);
                    m.ExtraBlockOffsets[e] = offset;
                    m.ExtraBlockCounts[e] = (int)_blockN[i];
                }
                offset += (int)_blockN[i];
            }
        }

        void DecodeFrame(byte[] payload, int payloadLen, FacecastFrame f)
        {
            Require(FW, "w");
            Require(FH, "h");
            Require(FStride, "stride");
            Require(FFmt, "fmt");
            if (_fmt < 0) throw FacecastProtocolException.Malformed("frame format is not one of jpeg, rgb24, rgba32, bgra32");
            if (_w <= 0 || _w > FacecastSchema.MaxFrameSidePx || _h <= 0 || _h > FacecastSchema.MaxFrameSidePx)
                throw FacecastProtocolException.Malformed("frame size " + _w + "x" + _h + " outside 1.." + FacecastSchema.MaxFrameSidePx);
            var format = (FacecastFrameFormat)_fmt;
            if (format == FacecastFrameFormat.Jpeg)
            {
                if (_stride != 0 || payloadLen == 0) throw FacecastProtocolException.Malformed("jpeg frames carry stride 0 and a non-empty payload");
            }
            else
            {
                int bpp = FacecastFrame.BytesPerPixel(format);
                if (_stride < _w * bpp) throw FacecastProtocolException.Malformed("stride " + _stride + " < width " + _w + " x " + bpp + " bytes");
                if (payloadLen != _stride * _h) throw FacecastProtocolException.Malformed("payload is " + payloadLen + " bytes, expected stride x h = " + _stride * _h);
            }
            f.Format = format;
            f.Width = (int)_w;
            f.Height = (int)_h;
            f.Stride = (int)_stride;
            if (f.Data.Length < payloadLen) f.Data = new byte[payloadLen];
            Buffer.BlockCopy(payload, 0, f.Data, 0, payloadLen);
            f.DataLength = payloadLen;
        }

        void CheckTopic(byte[] topic, int topicLen, byte[] header)
        {
            for (int i = 0; i < _sessionLength; i++)
                if (header[_sessionStart + i] >= 0x80) throw FacecastProtocolException.Malformed("header session is not ASCII");
            byte[] kind = _kind == FacecastStreamKind.Motion ? KindMotion : _kind == FacecastStreamKind.Frame ? KindFrame : KindEvent;
            bool ok = topicLen == kind.Length + 1 + _sessionLength
                && SliceEquals(topic, 0, kind, 0, kind.Length)
                && topic[kind.Length] == (byte)'/'
                && SliceEquals(topic, kind.Length + 1, header, _sessionStart, _sessionLength);
            if (!ok) throw FacecastProtocolException.Malformed("topic does not match the header's type/session");
        }

        string SessionString(byte[] header)
        {
            if (_sessionBytes.Length == _sessionLength && SliceEquals(_sessionBytes, 0, header, _sessionStart, _sessionLength))
                return _session;
            _sessionBytes = new byte[_sessionLength];
            Buffer.BlockCopy(header, _sessionStart, _sessionBytes, 0, _sessionLength);
            _session = Encoding.ASCII.GetString(_sessionBytes);
            return _session;
        }

        double Time(ref MsgPackReader r, MsgPackType t, string key)
        {
            if (t != MsgPackType.Int && t != MsgPackType.Float) { Fail("header field '" + key + "' must be a number"); r.Skip(); return 0; }
            double v = r.ReadNumber();
            if (double.IsNaN(v) || double.IsInfinity(v)) Fail("times must be finite");
            return v;
        }

        long Int(ref MsgPackReader r, MsgPackType t, string key)
        {
            if (t != MsgPackType.Int) { Fail("header field '" + key + "' must be an int"); r.Skip(); return 0; }
            bool negative;
            ulong magnitude;
            r.ReadInteger(out negative, out magnitude);
            if (magnitude > int.MaxValue) return negative ? -1 : int.MaxValue; // out of every range checked later
            return negative ? -(long)magnitude : (long)magnitude;
        }

        void Fail(string message)
        {
            if (_error == null) _error = message;
        }

        static bool ParseVersion(byte[] buf, int s, int l, out int major, out int minor)
        {
            major = minor = 0;
            int dot = -1;
            for (int i = 0; i < l; i++) if (buf[s + i] == (byte)'.') { if (dot >= 0) return false; dot = i; }
            if (dot <= 0 || dot > 6 || l - dot - 1 <= 0 || l - dot - 1 > 6) return false;
            for (int i = 0; i < l; i++)
            {
                if (i == dot) continue;
                byte c = buf[s + i];
                if (c < (byte)'0' || c > (byte)'9') return false;
                if (i < dot) major = major * 10 + (c - '0'); else minor = minor * 10 + (c - '0');
            }
            return true;
        }

        static void CopyFloats(byte[] src, float[] dst, int count)
        {
            if (BitConverter.IsLittleEndian) { Buffer.BlockCopy(src, 0, dst, 0, count * 4); return; }
            var tmp = new byte[4];
            for (int i = 0; i < count; i++)
            {
                for (int b = 0; b < 4; b++) tmp[b] = src[i * 4 + 3 - b];
                dst[i] = BitConverter.ToSingle(tmp, 0);
            }
        }

        static bool Key(byte[] buf, int s, int l, byte[] key)
        {
            return MsgPackReader.SliceEquals(buf, s, l, key);
        }

        static bool SliceEquals(byte[] a, int aStart, byte[] b, int bStart, int length)
        {
            for (int i = 0; i < length; i++) if (a[aStart + i] != b[bStart + i]) return false;
            return true;
        }

        static bool NameEquals(string name, byte[] buf, int s, int l)
        {
            if (name.Length != l) return false;
            for (int i = 0; i < l; i++) if (name[i] != buf[s + i]) return false;
            return true;
        }

        static byte[] Ascii(string s)
        {
            return Encoding.ASCII.GetBytes(s);
        }
    }
}
