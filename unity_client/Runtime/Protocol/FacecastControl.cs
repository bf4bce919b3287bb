using System;
using System.Collections.Generic;

namespace Facecast
{
    /// <summary>
    /// A control request: a command, its arguments in the order given, and an optional raw payload
    /// (audio for push_audio, image bytes for set_avatar). Build one, hand it to FacecastClient.Send.
    /// </summary>
    public sealed class FacecastRequest
    {
        /// <summary>Command name, e.g. "set_emotion".</summary>
        public readonly string Command;
        /// <summary>Arguments in wire order (string, bool, int/long, float/double values).</summary>
        public readonly List<KeyValuePair<string, object>> Args = new List<KeyValuePair<string, object>>();
        /// <summary>Optional second part; PayloadLength bytes of it are sent.</summary>
        public byte[] Payload;
        public int PayloadLength;

        public FacecastRequest(string command)
        {
            Command = command;
        }

        /// <summary>Adds an argument; returns this for chaining.</summary>
        public FacecastRequest Arg(string name, object value)
        {
            Args.Add(new KeyValuePair<string, object>(name, value));
            return this;
        }

        /// <summary>Sets the payload part (not copied: do not change the array until the request is sent).</summary>
        public FacecastRequest WithPayload(byte[] payload, int length)
        {
            Payload = payload;
            PayloadLength = length;
            return this;
        }

        /// <summary>`set_emotion`: emotion one of neutral, happy, sad, angry, surprised; intensity 0..1.</summary>
        public static FacecastRequest SetEmotion(string session, string emotion, float intensity = 1f, float blendS = 0.3f)
        {
            return new FacecastRequest("set_emotion").Arg("session", session).Arg("emotion", emotion)
                .Arg("intensity", (double)intensity).Arg("blend_s", (double)blendS);
        }

        /// <summary>`set_head`: mode add | absolute | off; angles in degrees with the protocol's signs.</summary>
        public static FacecastRequest SetHead(string session, string mode, float pitchDeg, float yawDeg, float rollDeg, float blendS = 0.3f)
        {
            return new FacecastRequest("set_head").Arg("session", session).Arg("mode", mode).Arg("pitch_deg", (double)pitchDeg)
                .Arg("yaw_deg", (double)yawDeg).Arg("roll_deg", (double)rollDeg).Arg("blend_s", (double)blendS);
        }

        /// <summary>`push_audio` with interleaved little-endian float32 samples as the payload.</summary>
        public static FacecastRequest PushAudioF32(string session, int sampleRateHz, int channels, byte[] samples, int length)
        {
            return new FacecastRequest("push_audio").Arg("session", session).Arg("sample_rate_hz", (long)sampleRateHz)
                .Arg("fmt", "f32").Arg("channels", (long)channels).WithPayload(samples, length);
        }
    }

    /// <summary>A decoded control reply: Result when Ok, else ErrorCode and ErrorMessage.</summary>
    public sealed class FacecastReply
    {
        public long Id;
        public bool Ok;
        public MsgPackMap Result;
        public string ErrorCode, ErrorMessage;
        public int VersionMinor;
    }

    /// <summary>A decoded control request (the server's view; used by tests and tools).</summary>
    public sealed class FacecastDecodedRequest
    {
        public long Id;
        public string Command;
        public MsgPackMap Args;
        public int PayloadLength;
        public string Version;
    }

    /// <summary>Encoding and decoding of control messages (bridge/protocol.py's request and reply rules).</summary>
    public static class FacecastControlCodec
    {
        /// <summary>Writes {"v","id","cmd","args"} into `w` (cleared first).</summary>
        public static void EncodeRequest(MsgPackWriter w, long id, FacecastRequest request, string version = FacecastSchema.ProtocolVersion)
        {
            w.Clear();
            w.WriteMapHeader(4);
            w.WriteString("v");
            w.WriteString(version);
            w.WriteString("id");
            w.WriteInt(id);
            w.WriteString("cmd");
            w.WriteString(request.Command);
            w.WriteString("args");
            w.WriteValue(request.Args);
        }

        /// <summary>[reply] -> FacecastReply; throws FacecastProtocolException (malformed, version, too_large).</summary>
        public static FacecastReply DecodeReply(FacecastMultipart parts)
        {
            if (parts.Count != 1) throw FacecastProtocolException.Malformed("control replies have 1 part, got " + parts.Count);
            MsgPackMap body = UnpackMap(parts.Buffer(0), parts.Length(0), FacecastSchema.MaxControlPayloadBytes, "reply");
            var reply = new FacecastReply();
            reply.VersionMinor = CheckVersion(Field<string>(body, "v", "reply"));
            reply.Id = IntField(body, "id", "reply");
            reply.Ok = Field<bool>(body, "ok", "reply");
            if (reply.Ok)
            {
                reply.Result = Field<MsgPackMap>(body, "result", "reply");
                return reply;
            }
            var err = Field<MsgPackMap>(body, "error", "reply");
            reply.ErrorCode = Field<string>(err, "code", "reply error");
            reply.ErrorMessage = Field<string>(err, "message", "reply error");
            return reply;
        }

        /// <summary>[request, payload?] -> the request, as the runtime's decode_request sees it (no argument validation).</summary>
        public static FacecastDecodedRequest DecodeRequest(FacecastMultipart parts)
        {
            if (parts.Count < 1 || parts.Count > 2) throw FacecastProtocolException.Malformed("control requests have 1 or 2 parts, got " + parts.Count);
            int payloadLength = parts.Count == 2 ? parts.Length(1) : 0;
            if (payloadLength > FacecastSchema.MaxControlPayloadBytes) throw new FacecastProtocolException("too_large", "payload of " + payloadLength + " bytes");
            MsgPackMap body = UnpackMap(parts.Buffer(0), parts.Length(0), FacecastSchema.MaxRequestBytes, "request");
            var req = new FacecastDecodedRequest { PayloadLength = payloadLength };
            req.Id = IntField(body, "id", "request");
            req.Version = Field<string>(body, "v", "request");
            CheckVersion(req.Version);
            req.Command = Field<string>(body, "cmd", "request");
            object args;
            if (!body.TryGetValue("args", out args)) args = new MsgPackMap();
            req.Args = args as MsgPackMap;
            if (req.Args == null) throw FacecastProtocolException.Malformed("request field 'args' must be a map");
            return req;
        }

        /// <summary>"1.x" -> x; throws "version" for another major, "malformed" for a bad string.</summary>
        public static int CheckVersion(string v)
        {
            string[] p = v.Split('.');
            int major, minor;
            if (p.Length != 2 || !Digits(p[0]) || !Digits(p[1]) || !int.TryParse(p[0], out major) || !int.TryParse(p[1], out minor))
                throw FacecastProtocolException.Malformed("version must look like '1.0'");
            if (major != FacecastSchema.ProtocolMajor)
                throw new FacecastProtocolException("version", "peer speaks protocol " + v + ", this client speaks " + FacecastSchema.ProtocolVersion
                    + "; upgrade whichever side is older so both use major version " + Math.Max(major, FacecastSchema.ProtocolMajor));
            return minor;
        }

        static bool Digits(string s)
        {
            if (s.Length == 0 || s.Length > 6) return false;
            foreach (char c in s) if (c < '0' || c > '9') return false;
            return true;
        }

        static MsgPackMap UnpackMap(byte[] buf, int len, int limit, string what)
        {
            if (len > limit) throw new FacecastProtocolException("too_large", what + " is " + len + " bytes, limit " + limit);
            var r = new MsgPackReader(buf, 0, len);
            object value = r.ReadValue();
            if (!r.AtEnd) throw FacecastProtocolException.Malformed(what + " has bytes after its map");
            var map = value as MsgPackMap;
            if (map == null) throw FacecastProtocolException.Malformed(what + " must be a msgpack map");
            return map;
        }

        static T Field<T>(MsgPackMap map, string key, string what)
        {
            object v;
            if (!map.TryGetValue(key, out v)) throw FacecastProtocolException.Malformed(what + " lacks '" + key + "'");
            if (!(v is T)) throw FacecastProtocolException.Malformed(what + " field '" + key + "' has the wrong type");
            return (T)v;
        }

        static long IntField(MsgPackMap map, string key, string what)
        {
            object v;
            if (!map.TryGetValue(key, out v)) throw FacecastProtocolException.Malformed(what + " lacks '" + key + "'");
            if (v is long) return (long)v;
            throw FacecastProtocolException.Malformed(what + " field '" + key + "' must be an int");
        }
    }
}
