using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using UnityEngine;

namespace Facecast.Tests
{
    /// <summary>Decodes every golden vector in tests/vectors/ and compares with its .json (see tests/vectors/README.md).</summary>
    public static class VectorTests
    {
        public static void Register(Runner r, string dir)
        {
            string[] files = Directory.GetFiles(dir, "*.json");
            Array.Sort(files, StringComparer.Ordinal);
            if (files.Length == 0) r.Check("vectors present in " + dir, () => { throw new Exception("no vectors"); });
            foreach (string json in files)
            {
                string name = Path.GetFileNameWithoutExtension(json);
                r.Check("vector " + name, () => Run(json, Path.ChangeExtension(json, ".parts")));
            }
        }

        static FacecastMultipart ReadParts(string path, List<int> lengths, List<byte[]> raw)
        {
            byte[] bytes = File.ReadAllBytes(path);
            var parts = new FacecastMultipart();
            int i = 0;
            while (i < bytes.Length)
            {
                int n = BitConverter.ToInt32(bytes, i);
                i += 4;
                parts.Append(bytes, i, n);
                var copy = new byte[n];
                Buffer.BlockCopy(bytes, i, copy, 0, n);
                raw.Add(copy);
                lengths.Add(n);
                i += n;
            }
            return parts;
        }

        static void Run(string jsonPath, string partsPath)
        {
            object spec = MiniJson.Parse(File.ReadAllText(jsonPath));
            var lengths = new List<int>();
            var raw = new List<byte[]>();
            FacecastMultipart parts = ReadParts(partsPath, lengths, raw);
            var want = (List<object>)MiniJson.Get(spec, "part_lengths");
            Assert.Equal(want.Count, lengths.Count, "part count");
            for (int k = 0; k < want.Count; k++) Assert.Equal((long)want[k], (long)lengths[k], "part " + k + " length");

            string kind = (string)MiniJson.Get(spec, "kind");
            bool valid = (bool)MiniJson.Get(spec, "valid");
            string expectError = MiniJson.Get(spec, "expect_error") as string;
            string stage = MiniJson.Get(spec, "error_stage") as string;
            object header = MiniJson.Get(spec, "header");

            if (kind == "stream") Stream(spec, parts, raw, valid, expectError, header);
            else if (kind == "request") Request(spec, parts, raw, valid, expectError, stage, header);
            else Reply(parts, raw, valid, expectError, header);
        }

        static void Stream(object spec, FacecastMultipart parts, List<byte[]> raw, bool valid, string expectError, object header)
        {
            var decoder = new FacecastStreamDecoder();
            var motion = new FacecastMotion();
            var frame = new FacecastFrame();
            var ev = new FacecastEvent();
            if (!valid)
            {
                string code = Refusal(() => decoder.Decode(parts, motion, frame, ev));
                Assert.Equal(expectError, code, "error code");
                return;
            }
            FacecastStreamKind k = decoder.Decode(parts, motion, frame, ev);
            CompareHeader(raw[1], header);
            string topic = (string)MiniJson.Get(spec, "topic");
            object payload = MiniJson.Get(spec, "payload");
            CheckHash(payload, raw.Count > 2 ? raw[2] : new byte[0]);
            string type = (string)MiniJson.Get(header, "type");
            FacecastStamp stamp = k == FacecastStreamKind.Motion ? (FacecastStamp)motion : k == FacecastStreamKind.Frame ? (FacecastStamp)frame : ev;
            Assert.Equal(type, k.ToString().ToLowerInvariant(), "kind");
            Assert.Equal(topic, type + "/" + stamp.Session, "topic");
            Assert.Equal(Convert.ToUInt64(MiniJson.Get(header, "seq")), stamp.Seq, "seq");
            Assert.Equal(Convert.ToDouble(MiniJson.Get(header, "t_audio")), stamp.TAudioS, "t_audio");
            Assert.Equal(Convert.ToDouble(MiniJson.Get(header, "t_wall")), stamp.TWallS, "t_wall (float32 widens exactly)");
            if (k == FacecastStreamKind.Motion) Motion(payload, header, motion);
            else if (k == FacecastStreamKind.Frame) Frame(payload, frame);
            else
            {
                Assert.Equal((string)MiniJson.Get(header, "name"), ev.Name, "event name");
                string diff = Compare(ev.Data, MiniJson.Get(header, "data"), "data");
                if (diff != null) throw new Exception(diff);
            }
        }

        static void Motion(object payload, object header, FacecastMotion m)
        {
            var values = (List<object>)MiniJson.Get(payload, "values");
            Assert.Equal(values.Count, m.ValueCount, "float count");
            for (int i = 0; i < values.Count; i++)
            {
                float want = (float)Convert.ToDouble(values[i]);
                if (BitConverter.ToInt32(BitConverter.GetBytes(want), 0) != BitConverter.ToInt32(BitConverter.GetBytes(m.Values[i]), 0))
                    throw new Exception("value " + i + ": want " + want.ToString("R") + ", got " + m.Values[i].ToString("R"));
            }
            // the v1 blocks by layout: walk the header's layout independently of the decoder
            int offset = 0;
            foreach (List<object> block in (List<object>)MiniJson.Get(header, "layout"))
            {
                string name = (string)block[0];
                int n = (int)(long)block[1];
                int got = name == "blendshapes" ? m.BlendshapeOffset : name == "head" ? m.HeadOffset : name == "gaze" ? m.GazeOffset : name == "visemes" ? m.VisemeOffset : -2;
                if (got == -2)
                {
                    bool found = false;
                    for (int e = 0; e < m.ExtraBlockCount; e++)
                        if (m.ExtraBlockNames[e] == name) { found = true; Assert.Equal(offset, m.ExtraBlockOffsets[e], "offset of " + name); Assert.Equal(n, m.ExtraBlockCounts[e], "count of " + name); }
                    if (!found) throw new Exception("extra block " + name + " not kept");
                }
                else Assert.Equal(offset, got, "offset of " + name);
                offset += n;
            }
            object speaking = MiniJson.Get(header, "speaking");
            Assert.Equal(speaking != null && (bool)speaking, m.Speaking, "speaking");
        }

        static void Frame(object payload, FacecastFrame f)
        {
            var pixels = (List<object>)MiniJson.Get(payload, "pixels");
            int tolerance = (int)(long)MiniJson.Get(payload, "tolerance");
            Assert.Equal(pixels.Count, f.Height, "height");
            Assert.Equal(((List<object>)pixels[0]).Count, f.Width, "width");
            // what FacecastFrameDisplay does, on a stub texture
            var go = new GameObject("display");
            var display = go.AddComponent<FacecastFrameDisplay>();
            display.Show(f);
            Texture2D tex = display.Texture;
            Assert.Equal(f.Width, tex.width, "texture width");
            Assert.Equal(f.Height, tex.height, "texture height");
            byte[] data = UnityStub.TextureData(tex);
            if (f.Format == FacecastFrameFormat.Jpeg)
            {
                // The stub cannot decode JPEG (Unity's LoadImage does): check the exact file reached LoadImage.
                Assert.Equal(f.DataLength, data.Length, "jpeg bytes handed to LoadImage");
                for (int i = 0; i < data.Length; i++) if (data[i] != f.Data[i]) throw new Exception("jpeg byte " + i + " differs");
                Assert.Equal(0, tolerance == 3 ? 0 : 1, "jpeg tolerance documented as 3");
                return;
            }
            for (int y = 0; y < f.Height; y++)
            {
                var row = (List<object>)pixels[y];
                for (int x = 0; x < f.Width; x++)
                {
                    var px = (List<object>)row[x];
                    int d = ((f.Height - 1 - y) * f.Width + x) * 4; // Unity rows are bottom-up
                    for (int c = 0; c < 4; c++)
                    {
                        int want = c < px.Count ? (int)(long)px[c] : 255;
                        if (Math.Abs(want - data[d + c]) > tolerance)
                            throw new Exception("pixel (" + x + "," + y + ") channel " + c + ": want " + want + ", got " + data[d + c]);
                    }
                }
            }
        }

        static void Request(object spec, FacecastMultipart parts, List<byte[]> raw, bool valid, string expectError, string stage, object header)
        {
            if (!valid && stage == "decode_request")
            {
                string code = Refusal(() => FacecastControlCodec.DecodeRequest(parts));
                Assert.Equal(expectError, code, "error code");
                return;
            }
            // Valid, or refused only by the runtime's argument validation (commands.validate): well-formed here.
            FacecastDecodedRequest req = FacecastControlCodec.DecodeRequest(parts);
            CompareHeader(raw[0], header);
            if (!valid) return;
            CheckHash(MiniJson.Get(spec, "payload"), raw.Count > 1 ? raw[1] : new byte[0]);
            if (MiniJson.Get(header, "args") == null) return; // req_ping_no_args: this client always writes args
            // this client's encoder writes the same bytes
            var r = new FacecastRequest(req.Command);
            foreach (var kv in req.Args.Items) r.Arg(kv.Key, kv.Value);
            var w = new MsgPackWriter();
            FacecastControlCodec.EncodeRequest(w, req.Id, r, req.Version);
            if (MiniJson.Get(header, "trace") != null) return; // minor-1.1 extra key: not written by a 1.0 client
            byte[] mine = w.ToArray();
            Assert.Equal(raw[0].Length, mine.Length, "re-encoded length");
            for (int i = 0; i < mine.Length; i++) if (mine[i] != raw[0][i]) throw new Exception("re-encoded byte " + i + " differs");
        }

        static void Reply(FacecastMultipart parts, List<byte[]> raw, bool valid, string expectError, object header)
        {
            if (!valid)
            {
                string code = Refusal(() => FacecastControlCodec.DecodeReply(parts));
                Assert.Equal(expectError, code, "error code");
                return;
            }
            FacecastReply reply = FacecastControlCodec.DecodeReply(parts);
            CompareHeader(raw[0], header);
            Assert.Equal((long)MiniJson.Get(header, "id"), reply.Id, "id");
            Assert.Equal((bool)MiniJson.Get(header, "ok"), reply.Ok, "ok");
            if (!reply.Ok) Assert.Equal((string)MiniJson.Get(MiniJson.Get(header, "error"), "code"), reply.ErrorCode, "error code");
        }

        static string Refusal(Action decode)
        {
            try { decode(); }
            catch (FacecastProtocolException e) { return e.Code; }
            return "(accepted)";
        }

        static void CompareHeader(byte[] part, object header)
        {
            var reader = new MsgPackReader(part, 0, part.Length);
            string diff = Compare(reader.ReadValue(), header, "header");
            if (diff != null) throw new Exception(diff);
        }

        static void CheckHash(object payload, byte[] bytes)
        {
            Assert.Equal((long)MiniJson.Get(payload, "len"), (long)bytes.Length, "payload length");
            using (var sha = SHA256.Create())
            {
                string hex = BitConverter.ToString(sha.ComputeHash(bytes)).Replace("-", "").ToLowerInvariant();
                Assert.Equal((string)MiniJson.Get(payload, "sha256"), hex, "payload sha256");
            }
        }

        /// <summary>Type-exact comparison: a msgpack int only equals a JSON int, a float only a JSON float, maps in key order.</summary>
        public static string Compare(object got, object want, string path)
        {
            if (want == null) return got == null ? null : path + ": want null, got " + got;
            if (want is bool) return got is bool && (bool)got == (bool)want ? null : path + ": want bool " + want + ", got " + Describe(got);
            if (want is string) return got as string == (string)want ? null : path + ": want '" + want + "', got " + Describe(got);
            if (want is long || want is ulong)
            {
                if (!(got is long || got is ulong)) return path + ": want int " + want + ", got " + Describe(got);
                return Convert.ToDecimal(got) == Convert.ToDecimal(want) ? null : path + ": want " + want + ", got " + got;
            }
            if (want is double)
            {
                double g;
                if (got is double) g = (double)got;
                else if (got is float) g = (float)got;
                else return path + ": want float " + want + ", got " + Describe(got);
                return g == (double)want ? null : path + ": want " + ((double)want).ToString("R") + ", got " + g.ToString("R");
            }
            var wl = want as List<object>;
            if (wl != null)
            {
                var gl = got as List<object>;
                if (gl == null || gl.Count != wl.Count) return path + ": want list of " + wl.Count + ", got " + Describe(got);
                for (int i = 0; i < wl.Count; i++) { string d = Compare(gl[i], wl[i], path + "[" + i + "]"); if (d != null) return d; }
                return null;
            }
            var wm = (List<KeyValuePair<string, object>>)want;
            var gm = got as MsgPackMap;
            if (gm == null || gm.Count != wm.Count) return path + ": want map of " + wm.Count + ", got " + Describe(got);
            for (int i = 0; i < wm.Count; i++)
            {
                if (gm.Items[i].Key != wm[i].Key) return path + ": key " + i + " want '" + wm[i].Key + "', got '" + gm.Items[i].Key + "'";
                string d = Compare(gm.Items[i].Value, wm[i].Value, path + "." + wm[i].Key);
                if (d != null) return d;
            }
            return null;
        }

        static string Describe(object o) { return o == null ? "null" : o.GetType().Name + " " + o; }
    }
}
