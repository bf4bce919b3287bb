// Stand-in for nunit.framework.dll, the NUnit 3 build Unity's Test Runner uses (package com.unity.ext.nunit,
// net35/unity-custom/nunit.framework.dll, assembly "nunit.framework"; test asmdefs name it in
// precompiledReferences). Only the attributes and asserts the package's Tests/ use, with NUnit's signatures, so a
// test that compiles here compiles in Unity. Tests~/Runner/NUnitRunner.cs runs them by reflection. Not shipped.
using System;
using System.Collections.Generic;

namespace NUnit.Framework
{
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = true)]
    public class TestFixtureAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
    public class TestAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
    public class TestCaseAttribute : Attribute
    {
        public TestCaseAttribute(params object[] arguments) { Arguments = arguments ?? new object[] { null }; }
        public object[] Arguments { get; private set; }
    }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
    public class SetUpAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
    public class TearDownAttribute : Attribute { }

    public delegate void TestDelegate();

    public class AssertionException : Exception
    {
        public AssertionException(string message) : base(message) { }
    }

    public class Assert
    {
        public static void AreEqual(object expected, object actual) { AreEqual(expected, actual, null); }

        public static void AreEqual(object expected, object actual, string message, params object[] args)
        {
            if (!Same(expected, actual)) Fail(Describe("Expected: " + Show(expected) + "  But was: " + Show(actual), message, args));
        }

        public static void AreEqual(double expected, double actual, double delta) { AreEqual(expected, actual, delta, null); }

        public static void AreEqual(double expected, double actual, double delta, string message, params object[] args)
        {
            if (double.IsNaN(expected) ? !double.IsNaN(actual) : !(Math.Abs(expected - actual) <= delta))
                Fail(Describe("Expected: " + expected.ToString("R") + " +/- " + delta + "  But was: " + actual.ToString("R"), message, args));
        }

        public static void IsTrue(bool condition) { IsTrue(condition, null); }

        public static void IsTrue(bool condition, string message, params object[] args)
        {
            if (!condition) Fail(Describe("Expected: True  But was: False", message, args));
        }

        public static void IsFalse(bool condition) { IsFalse(condition, null); }

        public static void IsFalse(bool condition, string message, params object[] args)
        {
            if (condition) Fail(Describe("Expected: False  But was: True", message, args));
        }

        public static void IsNull(object anObject, string message, params object[] args)
        {
            if (anObject != null) Fail(Describe("Expected: null  But was: " + Show(anObject), message, args));
        }

        public static void IsNotNull(object anObject, string message, params object[] args)
        {
            if (anObject == null) Fail(Describe("Expected: not null  But was: null", message, args));
        }

        public static TActual Throws<TActual>(TestDelegate code) where TActual : Exception
        {
            try { code(); }
            catch (TActual e) { if (e.GetType() == typeof(TActual)) return e; Fail("Expected: " + typeof(TActual) + "  But was: " + e.GetType()); }
            catch (Exception e) { Fail("Expected: " + typeof(TActual) + "  But was: " + e.GetType() + ": " + e.Message); }
            Fail("Expected: " + typeof(TActual) + "  But was: no exception thrown");
            return null;
        }

        public static void Fail(string message) { throw new AssertionException(message ?? ""); }

        static string Describe(string what, string message, object[] args)
        {
            string m = message == null ? "" : args == null || args.Length == 0 ? message : string.Format(message, args);
            return m.Length == 0 ? what : m + "\n  " + what;
        }

        static string Show(object o) { return o == null ? "null" : o is string ? "\"" + o + "\"" : o.ToString(); }

        // NUnit compares numbers by value across types (1 == 1L == 1.0) and collections element by element.
        static bool Same(object a, object b)
        {
            if (a == null || b == null) return a == null && b == null;
            if (IsNumber(a) && IsNumber(b))
            {
                if (a is double || a is float || b is double || b is float) return Convert.ToDouble(a) == Convert.ToDouble(b);
                return Convert.ToDecimal(a) == Convert.ToDecimal(b);
            }
            var ea = a as System.Collections.IEnumerable;
            var eb = b as System.Collections.IEnumerable;
            if (ea != null && eb != null && !(a is string) && !(b is string))
            {
                var la = new List<object>(); foreach (object x in ea) la.Add(x);
                var lb = new List<object>(); foreach (object x in eb) lb.Add(x);
                if (la.Count != lb.Count) return false;
                for (int i = 0; i < la.Count; i++) if (!Same(la[i], lb[i])) return false;
                return true;
            }
            return a.Equals(b);
        }

        static bool IsNumber(object o)
        {
            return o is sbyte || o is byte || o is short || o is ushort || o is int || o is uint || o is long || o is ulong
                || o is float || o is double || o is decimal;
        }
    }
}
