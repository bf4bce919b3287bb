using System;
using System.Collections.Generic;
using NUnit.Framework;

namespace Facecast.Editor.Tests
{
    /// <summary>The package's decoders against the golden vectors every facecast client is tested with.</summary>
    [TestFixture]
    public sealed class FacecastVectorTests
    {
        static IEnumerable<FacecastGoldenVector> Vectors(string kind, bool valid)
        {
            int n = 0;
            foreach (FacecastGoldenVector v in FacecastGoldenVectors.All)
                if (v.Kind == kind && v.Valid == valid) { n++; yield return v; }
            Assert.IsTrue(n > 0, "no embedded " + (valid ? "valid " : "invalid ") + kind + " vectors");
        }

        static string Refusal(Action decode)
        {
            try { decode(); }
            catch (FacecastProtocolException e) { return e.Code; }
            return "(accepted)";
        }

        [Test]
        public void MotionDecodesToTheVectorsValuesBitForBit()
        {
            foreach (FacecastGoldenVector v in Vectors("stream", true))
            {
                if (v.Type != "motion") continue;
                var motion = new FacecastMotion();
                FacecastStreamKind kind = new FacecastStreamDecoder().Decode(v.Parts(), motion, new FacecastFrame(), new FacecastEvent());
                Assert.AreEqual(FacecastStreamKind.Motion, kind, v.Name);
                Assert.AreEqual(v.Session, motion.Session, v.Name + " session");
                Assert.AreEqual(v.Seq, motion.Seq, v.Name + " seq");
                Assert.AreEqual(v.TAudioS, motion.TAudioS, v.Name + " t_audio");
                Assert.AreEqual(v.TWallS, motion.TWallS, v.Name + " t_wall");
                Assert.AreEqual(v.Speaking, motion.Speaking, v.Name + " speaking");
                Assert.AreEqual(v.Values.Length, motion.ValueCount, v.Name + " value count");
                for (int i = 0; i < v.Values.Length; i++)
                    Assert.AreEqual(BitConverter.ToInt32(BitConverter.GetBytes(v.Values[i]), 0),
                        BitConverter.ToInt32(BitConverter.GetBytes(motion.Values[i]), 0), v.Name + " value " + i);
                int offset = 0;
                for (int b = 0; b < v.Layout.Length; b++)
                {
                    Assert.AreEqual(offset, BlockOffset(motion, v.Layout[b]), v.Name + " offset of " + v.Layout[b]);
                    offset += v.LayoutCounts[b];
                }
            }
        }

        static int BlockOffset(FacecastMotion m, string block)
        {
            switch (block)
            {
                case "blendshapes": return m.BlendshapeOffset;
                case "head": return m.HeadOffset;
                case "gaze": return m.GazeOffset;
                case "visemes": return m.VisemeOffset;
            }
            // a block a newer minor version appended is kept, not dropped
            for (int e = 0; e < m.ExtraBlockCount; e++) if (m.ExtraBlockNames[e] == block) return m.ExtraBlockOffsets[e];
            return -1;
        }

        [Test]
        public void RawFramesBecomeBottomUpRgba32()
        {
            foreach (FacecastGoldenVector v in Vectors("stream", true))
            {
                if (v.Type != "frame") continue;
                var frame = new FacecastFrame();
                FacecastStreamKind kind = new FacecastStreamDecoder().Decode(v.Parts(), new FacecastMotion(), frame, new FacecastEvent());
                Assert.AreEqual(FacecastStreamKind.Frame, kind, v.Name);
                Assert.AreEqual(v.Seq, frame.Seq, v.Name + " seq");
                Assert.AreEqual(v.Width, frame.Width, v.Name + " width");
                Assert.AreEqual(v.Height, frame.Height, v.Name + " height");
                Assert.AreEqual(v.Format, frame.Format.ToString().ToLowerInvariant(), v.Name + " format");
                var rgba = new byte[v.Width * v.Height * 4];
                FacecastPixels.ToRgba32BottomUp(frame, rgba);
                for (int y = 0; y < v.Height; y++)
                    for (int i = 0; i < v.Width * 4; i++)
                        Assert.AreEqual(v.PixelsRgbaTopDown[y * v.Width * 4 + i], rgba[(v.Height - 1 - y) * v.Width * 4 + i],
                            v.Name + " pixel (" + i / 4 + "," + y + ") channel " + i % 4);
            }
        }

        [Test]
        public void MalformedStreamMessagesAreRefusedWithTheirCode()
        {
            foreach (FacecastGoldenVector v in Vectors("stream", false))
            {
                FacecastMultipart parts = v.Parts();
                string code = Refusal(() => new FacecastStreamDecoder().Decode(parts, new FacecastMotion(), new FacecastFrame(), new FacecastEvent()));
                Assert.AreEqual(v.ExpectError, code, v.Name);
            }
        }

        [Test]
        public void RepliesDecodeToIdOkAndErrorCode()
        {
            foreach (FacecastGoldenVector v in Vectors("reply", true))
            {
                FacecastReply reply = FacecastControlCodec.DecodeReply(v.Parts());
                Assert.AreEqual(v.Id, reply.Id, v.Name + " id");
                Assert.AreEqual(v.Ok, reply.Ok, v.Name + " ok");
                if (!v.Ok) Assert.AreEqual(v.ErrorCode, reply.ErrorCode, v.Name + " error code");
            }
            foreach (FacecastGoldenVector v in Vectors("reply", false))
            {
                FacecastMultipart parts = v.Parts();
                Assert.AreEqual(v.ExpectError, Refusal(() => FacecastControlCodec.DecodeReply(parts)), v.Name);
            }
        }
    }
}
