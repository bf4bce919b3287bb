using System;
using System.Diagnostics;
using System.Threading;
using UnityEngine;

namespace Facecast.Tests
{
    /// <summary>
    /// The package against a live Python runtime over libzmq: components stepped like Unity at ~60 Hz.
    /// Runtime A plays a speech file (emotion, head, jaw checks); then it is killed and runtime B starts on the
    /// same ports with --listen (reconnect and version re-check, then NPC audio pushed and played in sync).
    /// </summary>
    public static class EndToEnd
    {
        const float Dt = 1f / 60f;

        sealed class Scene
        {
            public UnityLoop Loop = new UnityLoop();
            public FacecastClient Client;
            public SkinnedMeshRenderer Face;
            public FacecastBlendshapeDriver Blend;
            public FacecastHeadDriver HeadDriver;
            public Transform Root, Neck, Head;
            public FacecastNpcAudio Npc;
            public int Jaw, SmileL;
            public float StepErrorDeg;   // worst |head rotation - expected| over all steps
            public int HeadChecks;

            /// <summary>One Unity frame in real time; checks the head bone against the motion it was given.</summary>
            public void Step()
            {
                Thread.Sleep(16);
                Loop.Step(Dt);
                if (!Client.HasMotion) return;
                FacecastMotion m = Client.Motion;
                // expected: the documented mapping, in the character root's frame (root is turned 180° in the world)
                Quaternion delta = FacecastAxes.HeadToUnity(m.PitchDeg, m.YawDeg, m.RollDeg);
                Quaternion toParent = Quaternion.Inverse(Head.parent.rotation) * Root.rotation;
                Quaternion want = toParent * delta * Quaternion.Inverse(toParent) * RestHead;
                StepErrorDeg = Math.Max(StepErrorDeg, Quaternion.Angle(Head.localRotation, want));
                HeadChecks++;
            }

            public Quaternion RestHead;

            public float Weight(int arkit) { return Face.GetBlendShapeWeight(arkit); }

            public bool WaitFor(Func<bool> cond, double seconds)
            {
                var until = DateTime.UtcNow.AddSeconds(seconds);
                while (DateTime.UtcNow < until) { Step(); if (cond()) return true; }
                return false;
            }
        }

        /// <summary>
        /// transport "libzmq": the test's P/Invoke transport; "netmq": the package's own default (FacecastTransports.Factory,
        /// NetMqTransport when Facecast.Runtime was built with FACECAST_NETMQ against the real NetMQ.dll).
        /// </summary>
        public static void Register(Runner r, string facecast, string wav, int pubPort, int controlPort, string transport)
        {
            string pub = "tcp://127.0.0.1:" + pubPort, control = "tcp://127.0.0.1:" + controlPort;
            string e2e = "e2e[" + transport + "]: ";
            if (transport == "libzmq") FacecastClient.TransportOverride = () => new LibZmqTransport();
            else
            {
                FacecastClient.TransportOverride = null;
                r.Check(e2e + "the package's default transport is NetMqTransport", () =>
                {
                    IFacecastTransport t = FacecastTransports.Factory();
                    Assert.True(t != null, FacecastTransports.MissingTransportMessage);
                    Assert.Equal("NetMqTransport", t.GetType().Name, "transport type");
                    t.Dispose();
                    // the real library, not the compile-only stub (which declares a handful of types, no NetMQPoller)
                    Type config = Type.GetType("NetMQ.NetMQConfig, NetMQ");
                    Assert.True(config != null, "NetMQ.dll not loaded");
                    System.Reflection.Assembly netmq = config.Assembly;
                    Console.WriteLine("     " + netmq.GetName().Name + " (" + netmq.GetTypes().Length + " types) from " + netmq.Location);
                    Assert.True(netmq.GetType("NetMQ.NetMQPoller") != null, "the real NetMQ.dll (the stub has no NetMQPoller)");
                });
            }
            Process a = null, b = null;
            Scene s = null;
            try
            {
                a = StartRuntime(facecast, "--audio " + wav, pub, control, 20);
                s = Build(pub, control);
                Scene sc = s;

                r.Check(e2e + "client connects, `info` checks protocol 1.x", () =>
                {
                    Assert.True(sc.WaitFor(() => sc.Client.Status == FacecastStatus.Connected && sc.Client.HasMotion, 20),
                        "status " + sc.Client.Status + ": " + sc.Client.StatusMessage);
                    Assert.True(((string)sc.Client.Info.Get("protocol")).StartsWith("1."), "protocol");
                    Assert.True(sc.Client.LatencyMs >= 0 && sc.Client.LatencyMs < 500, "latency readout " + sc.Client.LatencyMs);
                    Assert.True(sc.Blend.ResolvedCount == 52, "52 ARKit shapes resolved, got " + sc.Blend.ResolvedCount);
                });

                r.Check(e2e + "jawOpen follows speech; set_emotion happy raises mouthSmileLeft (0..100)", () =>
                {
                    float jawMin = 100, jawMax = 0, smileBefore = 0;
                    for (int i = 0; i < 60; i++)
                    {
                        sc.Step();
                        jawMin = Math.Min(jawMin, sc.Weight(sc.Jaw));
                        jawMax = Math.Max(jawMax, sc.Weight(sc.Jaw));
                        smileBefore = Math.Max(smileBefore, sc.Weight(sc.SmileL));
                    }
                    bool ok = false;
                    sc.Client.Send(FacecastRequest.SetEmotion("default", "happy", 1f, 0.2f), rep => ok = rep.Ok);
                    Assert.True(sc.WaitFor(() => ok, 5), "set_emotion reply");
                    float smileAfter = 0;
                    for (int i = 0; i < 60; i++)
                    {
                        sc.Step();
                        jawMin = Math.Min(jawMin, sc.Weight(sc.Jaw));
                        jawMax = Math.Max(jawMax, sc.Weight(sc.Jaw));
                        if (i > 30) smileAfter = Math.Max(smileAfter, sc.Weight(sc.SmileL));
                    }
                    Console.WriteLine("     jawOpen range " + jawMin.ToString("F1") + ".." + jawMax.ToString("F1")
                        + ", mouthSmileLeft " + smileBefore.ToString("F1") + " -> " + smileAfter.ToString("F1"));
                    Assert.True(jawMax - jawMin > 10, "jawOpen moved " + jawMin + ".." + jawMax);
                    Assert.True(smileAfter > smileBefore + 20, "mouthSmileLeft " + smileBefore + " -> " + smileAfter);
                    Assert.True(Math.Abs(sc.Weight(sc.SmileL) - sc.Client.Motion.Blendshape(FacecastSchema.MouthSmileLeft) * 100) < 0.01f, "weight = value x 100");
                });

                r.Check(e2e + "head bone = received pitch/yaw/roll via (pitch, -yaw, roll) in the character frame", () =>
                {
                    bool ok = false;
                    sc.Client.Send(FacecastRequest.SetHead("default", "absolute", 15f, 25f, 8f, 0.1f), rep => ok = rep.Ok);
                    Assert.True(sc.WaitFor(() => ok, 5), "set_head reply");
                    Assert.True(sc.WaitFor(() => Math.Abs(sc.Client.Motion.YawDeg - 25) < 1.5f, 5), "yaw reached 25, got " + sc.Client.Motion.YawDeg);
                    for (int i = 0; i < 10; i++) sc.Step();
                    FacecastMotion m = sc.Client.Motion;
                    Console.WriteLine("     received pitch " + m.PitchDeg.ToString("F2") + " yaw " + m.YawDeg.ToString("F2") + " roll " + m.RollDeg.ToString("F2")
                        + "; worst bone error over " + sc.HeadChecks + " frames " + sc.StepErrorDeg.ToString("F4") + " deg");
                    Assert.True(sc.HeadChecks > 100 && sc.StepErrorDeg < 0.05f, "bone error " + sc.StepErrorDeg + " deg");
                    // independent of the formula: in the root's frame the face looks to its own left (-X) and down
                    Vector3 f = Quaternion.Inverse(sc.Root.rotation) * sc.Head.forward;
                    Vector3 u = Quaternion.Inverse(sc.Root.rotation) * sc.Head.up;
                    Assert.True(f.x < -0.3f && f.y < -0.15f, "face forward in character frame " + f);
                    Assert.True(u.x < -0.05f, "roll tips the top of the head to its own left: up " + u);
                });

                r.Check(e2e + "runtime restart (killed, new one on the same ports with --listen): reconnect, info again", () =>
                {
                    a.Kill();
                    a.WaitForExit();
                    b = StartRuntime(facecast, "--listen", pub, control, 25);
                    // Silence longer than ReconnectAfterS may reopen the sockets first; either way the new runtime's
                    // motion shows as seq going back, which forgets the old clock and re-asks `info`.
                    // Every runtime announces push_audio (create_session makes push sessions), so the restart itself
                    // must have been seen before the connection counts as the new runtime's.
                    Assert.True(sc.WaitFor(() => sc.Client.Connection != null
                        && sc.Client.Connection.Restarts >= 1
                        && sc.Client.Status == FacecastStatus.Connected && HasCapability(sc.Client, "push_audio"), 25),
                        "reconnected: " + sc.Client.Status + " " + sc.Client.StatusMessage);
                    Console.WriteLine("     reconnects " + sc.Client.Connection.Reconnects + ", restarts seen " + sc.Client.Connection.Restarts);
                    Assert.True(sc.Client.Connection.Restarts >= 1, "restart noticed");
                });

                r.Check(e2e + "NPC audio pushed, played once its motion is back, mouth in step with playback", () =>
                {
                    AudioClip clip = Speech(16000, 1.6f);
                    sc.Npc.Speak(clip);
                    Assert.True(sc.WaitFor(() => sc.Npc.Current == FacecastNpcAudio.State.Playing, 5), "started playing: " + sc.Npc.Current);
                    // on a loaded machine the component may start playing on its max-wait fallback before the
                    // first push_audio reply; the reply must still arrive
                    Assert.True(sc.WaitFor(() => !double.IsNaN(sc.Npc.TAudioStartS), 10), "t_audio_start from push_audio");
                    Console.WriteLine("     t_audio_start " + sc.Npc.TAudioStartS.ToString("F3") + " s, newest motion "
                        + sc.Client.Connection.NewestMotionTAudioS.ToString("F3") + " s");
                    int frames = 0, inStep = 0;
                    float jawMax = 0;
                    double worst = 0;
                    while (sc.Npc.Current == FacecastNpcAudio.State.Playing && frames < 200)
                    {
                        sc.Step();
                        frames++;
                        double t;
                        if (!sc.Npc.TryGetAudioTime(out t)) continue;
                        double lag = t - sc.Client.Motion.TAudioS; // >= 0: the frame shown depicts audio at or just before the sample heard
                        if (lag >= -0.001 && lag < 0.05) inStep++;
                        worst = Math.Max(worst, Math.Abs(lag));
                        jawMax = Math.Max(jawMax, sc.Weight(sc.Jaw));
                    }
                    Console.WriteLine("     newest motion at the end " + sc.Client.Connection.NewestMotionTAudioS.ToString("F3") + " s");
                    Console.WriteLine("     played " + frames + " frames, " + inStep + " with motion within 50 ms of the audio clock (worst "
                        + (worst * 1000).ToString("F0") + " ms); jawOpen peak " + jawMax.ToString("F1"));
                    Assert.Equal(0, sc.Npc.Errors, "push_audio errors");
                    Assert.True(frames > 60 && inStep > frames * 8 / 10, inStep + " of " + frames + " frames in step");
                    Assert.True(jawMax > 15, "jaw opened for the NPC line: " + jawMax);
                    Assert.True(sc.Npc.Current == FacecastNpcAudio.State.Idle, "line finished");
                });

                r.Check(e2e + "disable/quit stops the receive thread by itself", () =>
                {
                    var connection = sc.Client.Connection;
                    sc.Loop.Quit();
                    // the thread saw the stop flag and returned (no abort needed): quit cannot hang Unity
                    Assert.True(connection != null && connection.StoppedCleanly, "receive thread ended without an abort");
                    Assert.Equal(FacecastStatus.Stopped, sc.Client.Status, "status");
                    Assert.True(sc.Client.Connection == null, "connection released");
                });
            }
            finally
            {
                foreach (var p in new[] { a, b })
                    if (p != null && !p.HasExited) { p.Kill(); p.WaitForExit(); }
            }
        }

        static bool HasCapability(FacecastClient c, string cap)
        {
            var caps = c.Info == null ? null : c.Info.Get("capabilities") as System.Collections.IList;
            return caps != null && caps.Contains(cap);
        }

        static Process StartRuntime(string facecast, string source, string pub, string control, int durationS)
        {
            var psi = new ProcessStartInfo(facecast, "run " + source + " --lips energy --pub " + pub + " --control " + control + " --duration " + durationS)
            {
                UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            var p = Process.Start(psi);
            p.OutputDataReceived += (o, e) => { };
            p.ErrorDataReceived += (o, e) => { if (e.Data != null && e.Data.Contains("Error")) Console.WriteLine("     runtime: " + e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            return p;
        }

        static Scene Build(string pub, string control)
        {
            var s = new Scene();
            var clientGo = new GameObject("Facecast");
            s.Client = clientGo.AddComponent<FacecastClient>();
            s.Client.StreamEndpoint = pub;
            s.Client.ControlEndpoint = control;
            s.Client.ReconnectAfterS = 1.5f;
            UnityLoop.Set(s.Client, "_logStatus", true);

            // avatar: root turned to face -Z in the world, neck tilted, head bone with its own rest rotation
            s.Root = new GameObject("Avatar").transform;
            s.Root.localRotation = Quaternion.Euler(0, 180, 0);
            s.Neck = new GameObject("Neck").transform;
            s.Neck.parent = s.Root;
            s.Neck.localRotation = Quaternion.Euler(10, 0, 0);
            s.Head = new GameObject("Head").transform;
            s.Head.parent = s.Neck;
            s.Head.localRotation = Quaternion.Euler(-10, 0, 5);
            s.RestHead = s.Head.localRotation;

            s.Face = new GameObject("Face").AddComponent<SkinnedMeshRenderer>();
            var mesh = new Mesh();
            foreach (string n in FacecastSchema.Blendshapes) mesh.AddBlendShapeFrame(n, 100f, null, null, null);
            s.Face.sharedMesh = mesh;
            s.Jaw = mesh.GetBlendShapeIndex("jawOpen");
            s.SmileL = mesh.GetBlendShapeIndex("mouthSmileLeft");
            s.Blend = s.Face.gameObject.AddComponent<FacecastBlendshapeDriver>();
            s.Blend.Client = s.Client;
            s.Blend.Preset = FacecastMappingPreset.ArkitNames;

            s.HeadDriver = s.Head.gameObject.AddComponent<FacecastHeadDriver>();
            s.HeadDriver.Client = s.Client;
            s.HeadDriver.Head = s.Head;
            s.HeadDriver.CharacterRoot = s.Root;
            s.HeadDriver.SmoothingS = 0f;                          // exact check per frame
            s.HeadDriver.LimitsDeg = new Vector3(90, 90, 90);

            var npcGo = new GameObject("Npc");
            var source = npcGo.AddComponent<AudioSource>();
            s.Npc = npcGo.AddComponent<FacecastNpcAudio>();
            s.Npc.Client = s.Client;
            s.Npc.Source = source;

            // the order Unity would use for a scene: all Awake/OnEnable, then Start on the first frame
            s.Loop.Enable(s.Client);
            s.Loop.Enable(s.Blend);
            s.Loop.Enable(s.HeadDriver);
            s.Loop.Enable(s.Npc);
            return s;
        }

        /// <summary>Syllable-like bursts: a 180 Hz buzz with harmonics, opened and closed at 4 Hz.</summary>
        static AudioClip Speech(int rate, float seconds)
        {
            int n = (int)(rate * seconds);
            var data = new float[n];
            for (int i = 0; i < n; i++)
            {
                double t = (double)i / rate;
                double env = Math.Max(0, Math.Sin(2 * Math.PI * 4 * t));
                double buzz = Math.Sin(2 * Math.PI * 180 * t) + 0.5 * Math.Sin(2 * Math.PI * 360 * t) + 0.3 * Math.Sin(2 * Math.PI * 720 * t);
                data[i] = (float)(0.3 * env * buzz);
            }
            AudioClip clip = AudioClip.Create("npc line", n, 1, rate, false);
            clip.SetData(data, 0);
            return clip;
        }
    }
}
