using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Reflection;
using UnityEngine;

namespace Facecast.Tests
{
    public sealed class Runner
    {
        public int Passed, Failed;

        public void Check(string name, Action test)
        {
            var sw = Stopwatch.StartNew();
            try
            {
                test();
                Passed++;
                Console.WriteLine("PASS " + name + (sw.ElapsedMilliseconds > 500 ? " (" + sw.ElapsedMilliseconds + " ms)" : ""));
            }
            catch (Exception e)
            {
                Failed++;
                Console.WriteLine("FAIL " + name + ": " + (e is AssertException ? e.Message : e.ToString()));
            }
        }
    }

    public sealed class AssertException : Exception { public AssertException(string m) : base(m) { } }

    public static class Assert
    {
        public static void Equal<T>(T want, T got, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(want, got)) throw new AssertException(what + ": want " + want + ", got " + got);
        }

        public static void True(bool cond, string what)
        {
            if (!cond) throw new AssertException(what);
        }
    }

    /// <summary>
    /// Steps MonoBehaviours the way Unity's player loop does: Awake and OnEnable when a component starts,
    /// Start before its first Update, then Update for all (in DefaultExecutionOrder), then LateUpdate for all;
    /// OnDisable and OnApplicationQuit at the end. Private lifecycle methods are found by name, as Unity does.
    /// </summary>
    public sealed class UnityLoop
    {
        readonly List<MonoBehaviour> _all = new List<MonoBehaviour>();
        readonly HashSet<MonoBehaviour> _started = new HashSet<MonoBehaviour>();

        public void Enable(MonoBehaviour b)
        {
            Call(b, "Awake");
            Call(b, "OnEnable");
            _all.Add(b);
            _all.Sort((a, c) => Order(a).CompareTo(Order(c)));
        }

        public void Disable(MonoBehaviour b)
        {
            if (!_all.Remove(b)) return;
            b.enabled = false;
            Call(b, "OnDisable");
        }

        public void Quit()
        {
            foreach (var b in _all.ToArray()) Call(b, "OnApplicationQuit");
            foreach (var b in _all.ToArray()) Disable(b);
        }

        /// <summary>One frame of dt seconds.</summary>
        public void Step(float dt)
        {
            UnityStub.DeltaTime = dt;
            UnityStub.Time += dt;
            UnityStub.FrameCount++;
            foreach (var b in _all.ToArray()) if (_started.Add(b)) Call(b, "Start");
            foreach (var b in _all.ToArray()) Call(b, "Update");
            foreach (var b in _all.ToArray()) Call(b, "LateUpdate");
        }

        static int Order(MonoBehaviour b)
        {
            var a = (DefaultExecutionOrder)Attribute.GetCustomAttribute(b.GetType(), typeof(DefaultExecutionOrder));
            return a == null ? 0 : a.order;
        }

        static void Call(MonoBehaviour b, string method)
        {
            MethodInfo m = b.GetType().GetMethod(method, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            if (m != null && m.GetParameters().Length == 0) m.Invoke(b, null);
        }

        /// <summary>Sets a [SerializeField] private field, as the inspector would.</summary>
        public static void Set(object target, string field, object value)
        {
            FieldInfo f = target.GetType().GetField(field, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
            if (f == null) throw new MissingFieldException(target.GetType().Name, field);
            f.SetValue(target, value);
        }
    }

    public static class Program
    {
        public static int Main(string[] args)
        {
            // args: VECTORS_DIR [FACECAST_EXE AUDIO_WAV PUB_PORT CONTROL_PORT [netmq]]
            // "netmq": only the end-to-end tests, over the package's NetMqTransport (run_tests.sh builds that
            // variant against the real NetMQ.dll); otherwise everything, end to end over libzmq.
            var r = new Runner();
            bool netmq = args.Length >= 6 && args[5] == "netmq";
            if (!netmq)
            {
                UnitTests.Register(r);
                NUnitRunner.RegisterSelfCheck(r);
                NUnitRunner.Register(r, "Facecast.Editor.Tests");
                VectorTests.Register(r, args[0]);
            }
            if (args.Length >= 5) EndToEnd.Register(r, args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), netmq ? "netmq" : "libzmq");
            Console.WriteLine(r.Passed + " passed, " + r.Failed + " failed");
            return r.Failed == 0 ? 0 : 1;
        }
    }
}
