using System;
using System.Collections.Generic;
using System.Reflection;
using NUnit.Framework;

namespace Facecast.Tests
{
    /// <summary>
    /// Runs the package's own NUnit tests (Tests/Editor, what Unity's Test Runner runs) by reflection, the way NUnit
    /// does: every [Test] and [TestCase] of every [TestFixture] on a fresh fixture instance, [SetUp] before and
    /// [TearDown] after each. Finding no tests is a failure, so a broken discovery cannot pass silently.
    /// </summary>
    public static class NUnitRunner
    {
        const BindingFlags Methods = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

        public static void Register(Runner r, string assemblyName)
        {
            Assembly asm = Assembly.Load(assemblyName);
            int found = 0;
            foreach (Type t in asm.GetTypes())
            {
                if (!t.IsDefined(typeof(TestFixtureAttribute), true)) continue;
                List<MethodInfo> setUp = Marked(t, typeof(SetUpAttribute)), tearDown = Marked(t, typeof(TearDownAttribute));
                foreach (MethodInfo m in t.GetMethods(Methods))
                {
                    var cases = new List<object[]>();
                    if (m.IsDefined(typeof(TestAttribute), true)) cases.Add(new object[0]);
                    foreach (TestCaseAttribute c in m.GetCustomAttributes(typeof(TestCaseAttribute), false)) cases.Add(c.Arguments);
                    foreach (object[] args in cases)
                    {
                        found++;
                        string name = "nunit " + t.Name + "." + m.Name + (args.Length == 0 ? "" : "(" + string.Join(", ", Array.ConvertAll(args, a => "" + a)) + ")");
                        MethodInfo method = m;
                        r.Check(name, () => Run(t, method, args, setUp, tearDown));
                    }
                }
            }
            int total = found;
            r.Check("nunit: " + assemblyName + " holds tests (" + total + ")", () => Assert.True(total > 0, "no [Test] found in " + assemblyName));
        }

        /// <summary>The stub's asserts fail as NUnit's do (otherwise every NUnit test above would pass vacuously).</summary>
        public static void RegisterSelfCheck(Runner r)
        {
            r.Check("nunit stub: a false assert throws AssertionException", () =>
            {
                foreach (TestDelegate failing in new TestDelegate[]
                {
                    () => NUnit.Framework.Assert.AreEqual(1, 2, "int"),
                    () => NUnit.Framework.Assert.AreEqual(1.0, 1.5, 0.1, "delta"),
                    () => NUnit.Framework.Assert.AreEqual((ulong)3, (ulong)4, "ulong"),
                    () => NUnit.Framework.Assert.IsTrue(false, "false"),
                    () => NUnit.Framework.Assert.AreEqual("a", "b", "string"),
                })
                {
                    bool threw = false;
                    try { failing(); } catch (AssertionException) { threw = true; }
                    if (!threw) throw new AssertException("an assert that should fail passed");
                }
                NUnit.Framework.Assert.AreEqual(2, 2L, "numbers compare by value across types, as in NUnit");
            });
        }

        static List<MethodInfo> Marked(Type t, Type attribute)
        {
            var list = new List<MethodInfo>();
            foreach (MethodInfo m in t.GetMethods(Methods)) if (m.IsDefined(attribute, true)) list.Add(m);
            return list;
        }

        static void Run(Type t, MethodInfo m, object[] args, List<MethodInfo> setUp, List<MethodInfo> tearDown)
        {
            object fixture = Activator.CreateInstance(t, true);
            try
            {
                foreach (MethodInfo s in setUp) Invoke(s, fixture, null);
                Invoke(m, fixture, args);
            }
            finally
            {
                foreach (MethodInfo s in tearDown) Invoke(s, fixture, null);
            }
        }

        static void Invoke(MethodInfo m, object target, object[] args)
        {
            try { m.Invoke(target, args); }
            catch (TargetInvocationException e)
            {
                if (e.InnerException is AssertionException) throw new AssertException(e.InnerException.Message);
                throw e.InnerException;
            }
        }
    }
}
