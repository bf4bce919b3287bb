using System.Collections.Generic;
using System.Reflection;
using NUnit.Framework;
using UnityEngine;

namespace Facecast.Editor.Tests
{
    /// <summary>
    /// Blendshape presets, mapping assets and the head driver on a motion frame put into a client by hand (no
    /// runtime, no play mode). LateUpdate is invoked directly, as Unity's player loop would after Update.
    /// </summary>
    [TestFixture]
    public sealed class FacecastMappingTests
    {
        readonly List<Object> _created = new List<Object>();

        [TearDown]
        public void DestroyCreated()
        {
            foreach (Object o in _created) Object.DestroyImmediate(o);
            _created.Clear();
        }

        GameObject Make(string name)
        {
            var go = new GameObject(name);
            _created.Add(go);
            return go;
        }

        /// <summary>A client holding one received motion frame (all zero but the head angles).</summary>
        FacecastClient ClientWithMotion(float pitchDeg, float yawDeg, float rollDeg)
        {
            FacecastClient client = Make("client").AddComponent<FacecastClient>();
            FacecastMotion m = client.Motion;
            m.ValueCount = 77;
            m.Values[m.HeadOffset] = pitchDeg;
            m.Values[m.HeadOffset + 1] = yawDeg;
            m.Values[m.HeadOffset + 2] = rollDeg;
            typeof(FacecastClient).GetField("_hasMotion", BindingFlags.Instance | BindingFlags.NonPublic).SetValue(client, true);
            return client;
        }

        SkinnedMeshRenderer Face(params string[] shapes)
        {
            var mesh = new Mesh();
            _created.Add(mesh);
            mesh.vertices = new Vector3[3];
            foreach (string s in shapes) mesh.AddBlendShapeFrame(s, 100f, new Vector3[3], null, null);
            SkinnedMeshRenderer smr = Make("face").AddComponent<SkinnedMeshRenderer>();
            smr.sharedMesh = mesh;
            return smr;
        }

        static void LateUpdate(MonoBehaviour b)
        {
            b.GetType().GetMethod("LateUpdate", BindingFlags.Instance | BindingFlags.NonPublic).Invoke(b, null);
        }

        FacecastBlendshapeDriver Driver(FacecastClient client, SkinnedMeshRenderer smr, FacecastMappingPreset preset)
        {
            FacecastBlendshapeDriver d = smr.gameObject.AddComponent<FacecastBlendshapeDriver>();
            d.Client = client;
            d.Renderer = smr;
            d.Preset = preset;
            return d;
        }

        [Test]
        public void ArkitPresetSetsEachShapeToValueTimes100()
        {
            FacecastClient client = ClientWithMotion(0, 0, 0);
            client.Motion.Values[FacecastSchema.JawOpen] = 0.6f;
            client.Motion.Values[FacecastSchema.EyeBlinkLeft] = 1f;
            SkinnedMeshRenderer smr = Face("jawOpen", "eyeBlinkLeft", "mouthSmileLeft");
            FacecastBlendshapeDriver d = Driver(client, smr, FacecastMappingPreset.ArkitNames);
            LateUpdate(d);
            Assert.AreEqual(3, d.ResolvedCount, "shapes resolved");
            Assert.AreEqual(60f, smr.GetBlendShapeWeight(0), 0.01f, "jawOpen");
            Assert.AreEqual(100f, smr.GetBlendShapeWeight(1), 0.01f, "eyeBlinkLeft");
            Assert.AreEqual(0f, smr.GetBlendShapeWeight(2), 0.01f, "mouthSmileLeft");
        }

        [Test]
        public void IntensityScalesAndClampsTo100()
        {
            FacecastClient client = ClientWithMotion(0, 0, 0);
            client.Motion.Values[FacecastSchema.JawOpen] = 0.3f;
            client.Motion.Values[FacecastSchema.MouthSmileLeft] = 0.8f;
            SkinnedMeshRenderer smr = Face("jawOpen", "mouthSmileLeft");
            FacecastBlendshapeDriver d = Driver(client, smr, FacecastMappingPreset.ArkitNames);
            d.Intensity = 2f;
            LateUpdate(d);
            Assert.AreEqual(60f, smr.GetBlendShapeWeight(0), 0.01f, "0.3 x 2");
            Assert.AreEqual(100f, smr.GetBlendShapeWeight(1), 0.01f, "0.8 x 2 clamped");
        }

        [Test]
        public void VrmPresetsTakeVowelsFromVisemesAndBlinkJoyFromArkit()
        {
            foreach (FacecastMappingPreset preset in new[] { FacecastMappingPreset.Vrm0, FacecastMappingPreset.Vrm1 })
            {
                FacecastClient client = ClientWithMotion(0, 0, 0);
                FacecastMotion m = client.Motion;
                m.Values[m.VisemeOffset + 10] = 0.8f;                 // aa
                m.Values[FacecastSchema.EyeBlinkLeft] = 1f;
                m.Values[FacecastSchema.EyeBlinkRight] = 0.5f;
                m.Values[FacecastSchema.MouthSmileLeft] = 0.6f;
                m.Values[FacecastSchema.MouthSmileRight] = 0.4f;
                SkinnedMeshRenderer smr = preset == FacecastMappingPreset.Vrm0
                    ? Face("A", "I", "Blink", "Blink_L", "Joy")
                    : Face("aa", "ih", "blink", "blinkLeft", "happy");
                LateUpdate(Driver(client, smr, preset));
                Assert.AreEqual(80f, smr.GetBlendShapeWeight(0), 0.01f, preset + " A/aa");
                Assert.AreEqual(0f, smr.GetBlendShapeWeight(1), 0.01f, preset + " I/ih");
                Assert.AreEqual(75f, smr.GetBlendShapeWeight(2), 0.01f, preset + " Blink (mean of both eyes)");
                Assert.AreEqual(100f, smr.GetBlendShapeWeight(3), 0.01f, preset + " Blink_L");
                Assert.AreEqual(50f, smr.GetBlendShapeWeight(4), 0.01f, preset + " Joy (mean smile)");
            }
        }

        [Test]
        public void OculusPresetDrivesVisemeShapes()
        {
            FacecastClient client = ClientWithMotion(0, 0, 0);
            client.Motion.Values[client.Motion.VisemeOffset + 1] = 0.7f;   // PP
            SkinnedMeshRenderer smr = Face("viseme_sil", "viseme_PP");
            LateUpdate(Driver(client, smr, FacecastMappingPreset.OculusVisemes));
            Assert.AreEqual(70f, smr.GetBlendShapeWeight(1), 0.01f, "viseme_PP");
        }

        [Test]
        public void MappingAssetSumsGainsAndAppliesScale()
        {
            FacecastClient client = ClientWithMotion(0, 0, 0);
            client.Motion.Values[FacecastSchema.JawOpen] = 0.5f;
            client.Motion.Values[client.Motion.VisemeOffset + 10] = 0.25f;
            var mapping = ScriptableObject.CreateInstance<FacecastBlendshapeMapping>();
            _created.Add(mapping);
            mapping.entries = new[]
            {
                new FacecastMappingEntry
                {
                    target = "MouthOpen",
                    terms = new[]
                    {
                        new FacecastSourceTerm(FacecastSource.Blendshape, FacecastSchema.JawOpen, 1f),
                        new FacecastSourceTerm(FacecastSource.Viseme, 10, 0.4f),
                    },
                    scale = 0.5f,
                },
                new FacecastMappingEntry { target = "Broken", terms = new[] { new FacecastSourceTerm(FacecastSource.Viseme, 15, 1f) } },
            };
            SkinnedMeshRenderer smr = Face("Body.MouthOpen", "Broken");
            FacecastBlendshapeDriver d = Driver(client, smr, FacecastMappingPreset.ArkitNames);
            d.Mapping = mapping;
            LateUpdate(d);
            Assert.AreEqual(30f, smr.GetBlendShapeWeight(0), 0.01f, "(0.5 + 0.4 x 0.25) x 100 x 0.5, found by suffix");
            Assert.AreEqual(1, d.ResolvedCount, "an entry reading viseme 15 (of 0..14) is skipped");
        }

        [Test]
        public void ShapeLookupIsExactThenCaseInsensitiveThenSuffix()
        {
            Mesh mesh = Face("blendShape1.jawOpen", "EYEBLINKLEFT", "Fcl_MTH_A", "mouthSmileLeft").sharedMesh;
            Assert.AreEqual(3, FacecastBlendshapeDriver.FindShape(mesh, "mouthSmileLeft"), "exact");
            Assert.AreEqual(1, FacecastBlendshapeDriver.FindShape(mesh, "eyeBlinkLeft"), "case");
            Assert.AreEqual(0, FacecastBlendshapeDriver.FindShape(mesh, "jawOpen"), "after '.'");
            Assert.AreEqual(2, FacecastBlendshapeDriver.FindShape(mesh, "A"), "after '_'");
            Assert.AreEqual(-1, FacecastBlendshapeDriver.FindShape(mesh, "tongueOut"), "absent");
        }

        [Test]
        public void HeadAnglesMapToUnityAsDocumented()
        {
            Vector3 f = FacecastAxes.HeadToUnity(0, 30, 0) * Vector3.forward;
            Assert.IsTrue(f.x < -0.4f, "yaw > 0 turns the face to its own left (-X): forward " + f);
            f = FacecastAxes.HeadToUnity(20, 0, 0) * Vector3.forward;
            Assert.IsTrue(f.y < -0.3f, "pitch > 0 chin down: forward " + f);
            Vector3 u = FacecastAxes.HeadToUnity(0, 0, 15) * Vector3.up;
            Assert.IsTrue(u.x < -0.2f, "roll > 0 tips the top of the head to its own left: up " + u);
            Vector3 p = FacecastAxes.PositionToUnity(0.1f, 0.2f, 0.3f);
            Assert.AreEqual(-0.1f, p.x, 1e-6, "x > 0 own left = -X");
            Assert.AreEqual(0.2f, p.y, 1e-6, "y up");
            Assert.AreEqual(0.3f, p.z, 1e-6, "z towards the camera");
        }

        [Test]
        public void HeadDriverClampsToLimitsOnTopOfTheRestPose()
        {
            FacecastClient client = ClientWithMotion(50, 80, -5);
            Transform head = Make("head").transform;
            head.localRotation = Quaternion.Euler(-10, 0, 5);
            Quaternion rest = head.localRotation;
            FacecastHeadDriver d = head.gameObject.AddComponent<FacecastHeadDriver>();
            d.Client = client;
            d.Head = head;
            d.SmoothingS = 0f;
            d.LimitsDeg = new Vector3(30, 45, 20);
            LateUpdate(d);
            Assert.AreEqual(30f, d.AppliedAnglesDeg.x, 1e-4, "pitch clamped");
            Assert.AreEqual(45f, d.AppliedAnglesDeg.y, 1e-4, "yaw clamped");
            Assert.AreEqual(-5f, d.AppliedAnglesDeg.z, 1e-4, "roll within limits");
            float off = Quaternion.Angle(head.localRotation, rest * FacecastAxes.HeadToUnity(30, 45, -5));
            Assert.IsTrue(off < 0.05f, "bone = rest x HeadToUnity(clamped), off by " + off + " deg");
        }

        [Test]
        public void HeadDriverTurnsAboutTheCharacterRootsAxes()
        {
            FacecastClient client = ClientWithMotion(15, 25, 8);
            Transform root = Make("avatar").transform;
            root.localRotation = Quaternion.Euler(0, 180, 0);
            Transform neck = Make("neck").transform;
            neck.SetParent(root);
            neck.localRotation = Quaternion.Euler(10, 0, 0);
            Transform head = Make("head").transform;
            head.SetParent(neck);
            head.localRotation = Quaternion.Euler(-10, 0, 5);
            Quaternion rest = head.localRotation;
            FacecastHeadDriver d = head.gameObject.AddComponent<FacecastHeadDriver>();
            d.Client = client;
            d.Head = head;
            d.CharacterRoot = root;
            d.SmoothingS = 0f;
            d.LimitsDeg = new Vector3(90, 90, 90);
            LateUpdate(d);
            Quaternion toParent = Quaternion.Inverse(neck.rotation) * root.rotation;
            Quaternion want = toParent * FacecastAxes.HeadToUnity(15, 25, 8) * Quaternion.Inverse(toParent) * rest;
            Assert.IsTrue(Quaternion.Angle(head.localRotation, want) < 0.05f, "bone rotation in the root's frame");
            // independent of the formula: in the root's frame the face looks to its own left (-X) and down
            Vector3 f = Quaternion.Inverse(root.rotation) * head.forward;
            Assert.IsTrue(f.x < -0.3f && f.y < -0.15f, "face forward in the character frame " + f);
        }
    }
}
