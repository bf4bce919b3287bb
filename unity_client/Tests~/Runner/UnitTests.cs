using System;
using UnityEngine;

namespace Facecast.Tests
{
    /// <summary>Driver behaviour on synthetic motion (no sockets).</summary>
    public static class UnitTests
    {
        public static void Register(Runner r)
        {
            r.Check("axes: yaw > 0 turns the face to its own left (-X), pitch > 0 chin down, roll > 0 top to its left", () =>
            {
                Vector3 f = FacecastAxes.HeadToUnity(0, 30, 0) * Vector3.forward;
                Assert.True(f.x < -0.4f, "yaw 30 forward.x " + f.x);
                f = FacecastAxes.HeadToUnity(20, 0, 0) * Vector3.forward;
                Assert.True(f.y < -0.3f, "pitch 20 forward.y " + f.y);
                Vector3 u = FacecastAxes.HeadToUnity(0, 0, 15) * Vector3.up;
                Assert.True(u.x < -0.2f, "roll 15 up.x " + u.x);
            });

            r.Check("head driver clamps to limits and smooths towards the target", () =>
            {
                var loop = new UnityLoop();
                var client = new GameObject("c").AddComponent<FacecastClient>();
                SetMotion(client, 0, 80, 0);
                var head = new GameObject("head").transform;
                var drv = head.gameObject.AddComponent<FacecastHeadDriver>();
                drv.Client = client; drv.Head = head; drv.SmoothingS = 0.1f; drv.LimitsDeg = new Vector3(30, 45, 20);
                loop.Enable(drv);
                loop.Step(1f / 60f);
                float first = drv.AppliedAnglesDeg.y;
                Assert.True(first > 0 && first < 45 * 0.3f, "first step moves part way: " + first);
                for (int i = 0; i < 120; i++) loop.Step(1f / 60f);
                Assert.True(Math.Abs(drv.AppliedAnglesDeg.y - 45) < 0.01f, "settles at the yaw limit: " + drv.AppliedAnglesDeg.y);
                float angle = Quaternion.Angle(head.localRotation, FacecastAxes.HeadToUnity(0, 45, 0));
                Assert.True(angle < 0.05f, "bone rotation off by " + angle);
            });

            r.Check("blendshape lookup: exact, case-insensitive, prefixed ('blendShape1.jawOpen', 'Fcl_MTH_A')", () =>
            {
                var mesh = MeshWith("blendShape1.jawOpen", "EYEBLINKLEFT", "Fcl_MTH_A", "mouthSmileLeft");
                Assert.Equal(3, FacecastBlendshapeDriver.FindShape(mesh, "mouthSmileLeft"), "exact");
                Assert.Equal(1, FacecastBlendshapeDriver.FindShape(mesh, "eyeBlinkLeft"), "case");
                Assert.Equal(0, FacecastBlendshapeDriver.FindShape(mesh, "jawOpen"), "prefix");
                Assert.Equal(2, FacecastBlendshapeDriver.FindShape(mesh, "A"), "VRoid prefix");
                Assert.Equal(-1, FacecastBlendshapeDriver.FindShape(mesh, "tongueOut"), "absent");
            });

            r.Check("VRM 0.x and 1.0 presets: vowels from visemes, Blink and Joy from ARKit, 0..100", () =>
            {
                foreach (var preset in new[] { FacecastMappingPreset.Vrm0, FacecastMappingPreset.Vrm1 })
                {
                    bool v0 = preset == FacecastMappingPreset.Vrm0;
                    var loop = new UnityLoop();
                    var client = new GameObject("c").AddComponent<FacecastClient>();
                    FacecastMotion m = SetMotion(client, 0, 0, 0);
                    m.Values[m.VisemeOffset + 10] = 0.8f;                 // aa
                    m.Values[FacecastSchema.EyeBlinkLeft] = 1f;
                    m.Values[FacecastSchema.EyeBlinkRight] = 0.5f;
                    m.Values[FacecastSchema.MouthSmileLeft] = 0.6f;
                    m.Values[FacecastSchema.MouthSmileRight] = 0.4f;
                    var smr = new GameObject("face").AddComponent<SkinnedMeshRenderer>();
                    smr.sharedMesh = v0 ? MeshWith("A", "I", "Blink", "Blink_L", "Joy") : MeshWith("aa", "ih", "blink", "blinkLeft", "happy");
                    var drv = smr.gameObject.AddComponent<FacecastBlendshapeDriver>();
                    drv.Client = client; drv.Preset = preset;
                    loop.Enable(drv);
                    loop.Step(1f / 60f);
                    Assert.True(Near(smr.GetBlendShapeWeight(0), 80), preset + " A " + smr.GetBlendShapeWeight(0));
                    Assert.True(Near(smr.GetBlendShapeWeight(1), 0), preset + " I");
                    Assert.True(Near(smr.GetBlendShapeWeight(2), 75), preset + " Blink " + smr.GetBlendShapeWeight(2));
                    Assert.True(Near(smr.GetBlendShapeWeight(3), 100), preset + " Blink_L");
                    Assert.True(Near(smr.GetBlendShapeWeight(4), 50), preset + " Joy " + smr.GetBlendShapeWeight(4));
                }
            });

            r.Check("Oculus viseme preset drives viseme_* shapes", () =>
            {
                var loop = new UnityLoop();
                var client = new GameObject("c").AddComponent<FacecastClient>();
                FacecastMotion m = SetMotion(client, 0, 0, 0);
                m.Values[m.VisemeOffset + 1] = 0.7f; // PP
                var smr = new GameObject("face").AddComponent<SkinnedMeshRenderer>();
                smr.sharedMesh = MeshWith("viseme_sil", "viseme_PP");
                var drv = smr.gameObject.AddComponent<FacecastBlendshapeDriver>();
                drv.Client = client; drv.Preset = FacecastMappingPreset.OculusVisemes;
                loop.Enable(drv);
                loop.Step(1f / 60f);
                Assert.True(Near(smr.GetBlendShapeWeight(1), 70), "viseme_PP " + smr.GetBlendShapeWeight(1));
            });

            r.Check("msgpack writer: shortest ints and float64, as the Python encoder", () =>
            {
                var w = new MsgPackWriter();
                w.WriteInt(127); w.WriteInt(128); w.WriteInt(-33); w.WriteInt(65536); w.WriteDouble(0.5);
                string hex = BitConverter.ToString(w.ToArray());
                Assert.Equal("7F-CC-80-D0-DF-CE-00-01-00-00-CB-3F-E0-00-00-00-00-00-00", hex, "bytes");
            });

            r.Check("connection without a transport reports how to install NetMQ", () =>
            {
                var c = new FacecastConnection("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "default", false, () => null);
                c.Start();
                var until = DateTime.UtcNow.AddSeconds(2);
                while (c.Status != FacecastStatus.Error && DateTime.UtcNow < until) System.Threading.Thread.Sleep(10);
                Assert.Equal(FacecastStatus.Error, c.Status, "status");
                Assert.True(c.StatusMessage.Contains("NetMQ"), c.StatusMessage);
                c.Dispose();
            });
        }

        static bool Near(float a, float b) { return Math.Abs(a - b) < 0.01f; }

        static Mesh MeshWith(params string[] names)
        {
            var mesh = new Mesh();
            foreach (string n in names) mesh.AddBlendShapeFrame(n, 100f, null, null, null);
            return mesh;
        }

        /// <summary>Puts a motion frame into a client that is not connected (as if received).</summary>
        static FacecastMotion SetMotion(FacecastClient client, float pitch, float yaw, float roll)
        {
            FacecastMotion m = client.Motion;
            m.ValueCount = 77;
            m.Values[m.HeadOffset] = pitch;
            m.Values[m.HeadOffset + 1] = yaw;
            m.Values[m.HeadOffset + 2] = roll;
            typeof(FacecastClient).GetField("_hasMotion", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic).SetValue(client, true);
            return m;
        }
    }
}
