// A minimal stand-in for UnityEngine.dll: only the API surface facecast's package uses, with the same
// names and signatures (get-only where Unity's are), so a misspelt or misused Unity call fails to compile.
// Behaviour is simulated just enough for tests (blendshape weights stored, quaternions computed the way
// Unity does). Test-only controls live in UnityStub, never in Unity's own types. Not shipped.
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object
    {
        public string name = "";
        public static void Destroy(Object obj) { if (obj != null) obj.destroyed = true; }
        public static void DestroyImmediate(Object obj) { Destroy(obj); }
        internal bool destroyed;
        public override string ToString() { return name; }
    }

    public class GameObject : Object
    {
        readonly List<Component> _components = new List<Component>();
        public readonly Transform transform;
        public GameObject(string name)
        {
            this.name = name;
            transform = new Transform();
            Attach(transform);
        }
        void Attach(Component c) { c.gameObject = this; _components.Add(c); }
        public T AddComponent<T>() where T : Component, new()
        {
            var c = new T();
            Attach(c);
            UnityStub.OnAdded(c);
            return c;
        }
        public T GetComponent<T>() where T : class
        {
            foreach (var c in _components) { var t = c as T; if (t != null) return t; }
            return null;
        }
        public bool activeInHierarchy { get { return true; } }
    }

    public class Component : Object
    {
        public GameObject gameObject { get; internal set; }
        public Transform transform { get { return gameObject.transform; } }
        public T GetComponent<T>() where T : class { return gameObject.GetComponent<T>(); }
    }

    public class Behaviour : Component
    {
        public bool enabled = true;
        public bool isActiveAndEnabled { get { return enabled; } }
    }

    public class MonoBehaviour : Behaviour
    {
        public void print(object message) { Debug.Log(message); }
    }

    public class ScriptableObject : Object
    {
        public static T CreateInstance<T>() where T : ScriptableObject, new() { return new T(); }
    }

    public sealed class Transform : Component
    {
        Transform _parent;
        public Quaternion localRotation = Quaternion.identity;
        public Vector3 localPosition;
        public Transform parent
        {
            get { return _parent; }
            set { _parent = value; }
        }
        public void SetParent(Transform p) { _parent = p; }
        public Quaternion rotation
        {
            get { return _parent == null ? localRotation : _parent.rotation * localRotation; }
            set { localRotation = _parent == null ? value : Quaternion.Inverse(_parent.rotation) * value; }
        }
        public Vector3 forward { get { return rotation * Vector3.forward; } }
        public Vector3 up { get { return rotation * Vector3.up; } }
    }

    public class Mesh : Object
    {
        readonly List<string> _shapes = new List<string>();
        Vector3[] _vertices = new Vector3[0];
        public Vector3[] vertices { get { return (Vector3[])_vertices.Clone(); } set { _vertices = (Vector3[])value.Clone(); } }
        public int vertexCount { get { return _vertices.Length; } }
        public int blendShapeCount { get { return _shapes.Count; } }
        public string GetBlendShapeName(int shapeIndex) { return _shapes[shapeIndex]; }
        public int GetBlendShapeIndex(string blendShapeName) { return _shapes.IndexOf(blendShapeName); }
        public void AddBlendShapeFrame(string shapeName, float frameWeight, Vector3[] deltaVertices, Vector3[] deltaNormals, Vector3[] deltaTangents)
        {
            if (_shapes.Contains(shapeName)) throw new ArgumentException("blendshape " + shapeName + " exists");
            // Unity's documented rule: the delta arrays have one entry per vertex
            if (deltaVertices != null && deltaVertices.Length != vertexCount)
                throw new ArgumentException("deltaVertices has " + deltaVertices.Length + " entries, the mesh " + vertexCount + " vertices");
            _shapes.Add(shapeName);
        }
    }

    public class Renderer : Component
    {
        Material _material;
        public Material material { get { return _material ?? (_material = new Material()); } set { _material = value; } }
        public Material sharedMaterial { get { return material; } set { _material = value; } }
    }

    public sealed class SkinnedMeshRenderer : Renderer
    {
        readonly Dictionary<int, float> _weights = new Dictionary<int, float>();
        public Mesh sharedMesh;
        public void SetBlendShapeWeight(int index, float value)
        {
            if (sharedMesh == null || index < 0 || index >= sharedMesh.blendShapeCount)
                throw new IndexOutOfRangeException("blendshape index " + index); // Unity logs an error here
            _weights[index] = value;
        }
        public float GetBlendShapeWeight(int index) { float w; return _weights.TryGetValue(index, out w) ? w : 0f; }
    }

    public class Material : Object
    {
        readonly Dictionary<string, Texture> _textures = new Dictionary<string, Texture>();
        public Texture mainTexture { get { return GetTexture("_MainTex"); } set { SetTexture("_MainTex", value); } }
        public void SetTexture(string name, Texture value) { _textures[name] = value; }
        public Texture GetTexture(string name) { Texture t; return _textures.TryGetValue(name, out t) ? t : null; }
        public bool HasProperty(string name) { return true; }
    }

    public enum TextureFormat { RGB24 = 3, RGBA32 = 4, ARGB32 = 5, BGRA32 = 14 }
    public enum FilterMode { Point, Bilinear, Trilinear }
    public enum TextureWrapMode { Repeat, Clamp, Mirror, MirrorOnce }

    public class Texture : Object
    {
        public virtual int width { get; set; }
        public virtual int height { get; set; }
        public FilterMode filterMode;
        public TextureWrapMode wrapMode;
    }

    public sealed class Texture2D : Texture
    {
        public TextureFormat format { get; private set; }
        /// <summary>Stub state: the bytes last uploaded (raw pixels or the encoded image) and how often Apply ran.</summary>
        internal byte[] stubData;
        internal int stubApplyCount;
        public Texture2D(int width, int height) : this(width, height, TextureFormat.RGBA32, true) { }
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain)
        {
            this.width = width;
            this.height = height;
            format = textureFormat;
        }
        public void LoadRawTextureData(byte[] data)
        {
            int need = width * height * (format == TextureFormat.RGB24 ? 3 : 4);
            if (data.Length < need) throw new ArgumentException("LoadRawTextureData: not enough data provided (will result in overread).");
            stubData = (byte[])data.Clone();
        }
        public void Apply() { Apply(true, false); }
        public void Apply(bool updateMipmaps) { Apply(updateMipmaps, false); }
        public void Apply(bool updateMipmaps, bool makeNoLongerReadable) { stubApplyCount++; }
        public bool Reinitialize(int width, int height) { this.width = width; this.height = height; return true; }
    }

    public static class ImageConversion
    {
        public static bool LoadImage(this Texture2D tex, byte[] data) { return LoadImage(tex, data, false); }
        public static bool LoadImage(this Texture2D tex, byte[] data, bool markNonReadable)
        {
            // The stub cannot decode: it keeps the bytes and reads the JPEG SOF0 size as Unity would resize to.
            if (data == null || data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8) return false;
            for (int i = 2; i + 8 < data.Length; i++)
                if (data[i] == 0xFF && data[i + 1] == 0xC0)
                {
                    tex.height = (data[i + 5] << 8) | data[i + 6];
                    tex.width = (data[i + 7] << 8) | data[i + 8];
                    break;
                }
            tex.stubData = (byte[])data.Clone();
            return true;
        }
    }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3 zero { get { return new Vector3(0, 0, 0); } }
        public static Vector3 one { get { return new Vector3(1, 1, 1); } }
        public static Vector3 forward { get { return new Vector3(0, 0, 1); } }
        public static Vector3 up { get { return new Vector3(0, 1, 0); } }
        public static Vector3 right { get { return new Vector3(1, 0, 0); } }
        public static Vector3 operator +(Vector3 a, Vector3 b) { return new Vector3(a.x + b.x, a.y + b.y, a.z + b.z); }
        public static Vector3 operator -(Vector3 a, Vector3 b) { return new Vector3(a.x - b.x, a.y - b.y, a.z - b.z); }
        public static Vector3 operator *(Vector3 a, float d) { return new Vector3(a.x * d, a.y * d, a.z * d); }
        public static Vector3 Lerp(Vector3 a, Vector3 b, float t) { t = Mathf.Clamp01(t); return a + (b - a) * t; }
        public override string ToString() { return "(" + x.ToString("F3") + ", " + y.ToString("F3") + ", " + z.ToString("F3") + ")"; }
    }

    public struct Quaternion
    {
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Quaternion identity { get { return new Quaternion(0, 0, 0, 1); } }

        /// <summary>Unity's order: rotate about z, then x, then y (all in degrees).</summary>
        public static Quaternion Euler(float x, float y, float z)
        {
            return AngleAxis(y, Vector3.up) * AngleAxis(x, Vector3.right) * AngleAxis(z, Vector3.forward);
        }
        public static Quaternion Euler(Vector3 euler) { return Euler(euler.x, euler.y, euler.z); }

        public static Quaternion AngleAxis(float angle, Vector3 axis)
        {
            double h = angle * Math.PI / 360.0, s = Math.Sin(h);
            double n = Math.Sqrt(axis.x * axis.x + axis.y * axis.y + axis.z * axis.z);
            return new Quaternion((float)(axis.x / n * s), (float)(axis.y / n * s), (float)(axis.z / n * s), (float)Math.Cos(h));
        }

        public static Quaternion operator *(Quaternion a, Quaternion b)
        {
            return new Quaternion(
                a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
                a.w * b.y + a.y * b.w + a.z * b.x - a.x * b.z,
                a.w * b.z + a.z * b.w + a.x * b.y - a.y * b.x,
                a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z);
        }

        public static Vector3 operator *(Quaternion q, Vector3 v)
        {
            var p = q * new Quaternion(v.x, v.y, v.z, 0) * Inverse(q);
            return new Vector3(p.x, p.y, p.z);
        }

        public static Quaternion Inverse(Quaternion q) { return new Quaternion(-q.x, -q.y, -q.z, q.w); }

        public static float Dot(Quaternion a, Quaternion b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }

        public static float Angle(Quaternion a, Quaternion b)
        {
            float d = Math.Min(Math.Abs(Dot(a, b)), 1f);
            return d > 0.999999f ? 0f : (float)(Math.Acos(d) * 2.0 * 180.0 / Math.PI);
        }

        public static Quaternion Slerp(Quaternion a, Quaternion b, float t)
        {
            t = Mathf.Clamp01(t);
            float d = Dot(a, b);
            if (d < 0) { b = new Quaternion(-b.x, -b.y, -b.z, -b.w); d = -d; }
            double wa, wb;
            if (d > 0.9995f) { wa = 1 - t; wb = t; }
            else
            {
                double th = Math.Acos(d), s = Math.Sin(th);
                wa = Math.Sin((1 - t) * th) / s;
                wb = Math.Sin(t * th) / s;
            }
            var q = new Quaternion((float)(wa * a.x + wb * b.x), (float)(wa * a.y + wb * b.y), (float)(wa * a.z + wb * b.z), (float)(wa * a.w + wb * b.w));
            float n = (float)Math.Sqrt(Dot(q, q));
            return new Quaternion(q.x / n, q.y / n, q.z / n, q.w / n);
        }

        public override string ToString() { return "(" + x.ToString("F4") + ", " + y.ToString("F4") + ", " + z.ToString("F4") + ", " + w.ToString("F4") + ")"; }
    }

    public static class Mathf
    {
        public const float Deg2Rad = (float)(Math.PI / 180.0);
        public const float Rad2Deg = (float)(180.0 / Math.PI);
        public static float Clamp(float value, float min, float max) { return value < min ? min : value > max ? max : value; }
        public static int Clamp(int value, int min, int max) { return value < min ? min : value > max ? max : value; }
        public static float Clamp01(float value) { return Clamp(value, 0f, 1f); }
        public static float Lerp(float a, float b, float t) { return a + (b - a) * Clamp01(t); }
        public static float Exp(float power) { return (float)Math.Exp(power); }
        public static float Abs(float f) { return Math.Abs(f); }
        public static float Max(float a, float b) { return Math.Max(a, b); }
        public static float Min(float a, float b) { return Math.Min(a, b); }
        public static int Max(int a, int b) { return Math.Max(a, b); }
        public static int Min(int a, int b) { return Math.Min(a, b); }
        public static int CeilToInt(float f) { return (int)Math.Ceiling(f); }
        public static int RoundToInt(float f) { return (int)Math.Round(f); }
        public static bool Approximately(float a, float b) { return Math.Abs(b - a) < Math.Max(1E-06f * Math.Max(Math.Abs(a), Math.Abs(b)), 1.1E-44f); }
    }

    public static class Time
    {
        public static float deltaTime { get { return UnityStub.DeltaTime; } }
        public static float unscaledDeltaTime { get { return UnityStub.DeltaTime; } }
        public static float time { get { return (float)UnityStub.Time; } }
        public static double timeAsDouble { get { return UnityStub.Time; } }
        public static float realtimeSinceStartup { get { return (float)UnityStub.Time; } }
        public static int frameCount { get { return UnityStub.FrameCount; } }
    }

    public static class Debug
    {
        public static void Log(object message) { UnityStub.Logged("log", message); }
        public static void Log(object message, Object context) { Log(message); }
        public static void LogWarning(object message) { UnityStub.Logged("warning", message); }
        public static void LogWarning(object message, Object context) { LogWarning(message); }
        public static void LogError(object message) { UnityStub.Logged("error", message); }
        public static void LogError(object message, Object context) { LogError(message); }
    }

    public static class Application
    {
        public static bool isPlaying { get { return true; } }
        public static string persistentDataPath { get { return "/tmp"; } }
    }

    public sealed class AudioClip : Object
    {
        float[] _data;
        public int samples { get; private set; }
        public int channels { get; private set; }
        public int frequency { get; private set; }
        public float length { get { return (float)samples / frequency; } }
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream)
        {
            return new AudioClip { name = name, samples = lengthSamples, channels = channels, frequency = frequency, _data = new float[lengthSamples * channels] };
        }
        public bool SetData(float[] data, int offsetSamples) { Array.Copy(data, 0, _data, offsetSamples * channels, Math.Min(data.Length, _data.Length - offsetSamples * channels)); return true; }
        public bool GetData(float[] data, int offsetSamples)
        {
            int start = offsetSamples * channels;
            Array.Copy(_data, start, data, 0, Math.Min(data.Length, _data.Length - start));
            return true;
        }
    }

    public sealed class AudioSource : Behaviour
    {
        internal double stubStartDsp = -1;
        public AudioClip clip;
        public float volume = 1f;
        public bool playOnAwake = true;
        public bool loop;
        public bool isPlaying { get { return stubStartDsp >= 0 && AudioSettings.dspTime >= stubStartDsp && time < (clip == null ? 0 : clip.length); } }
        public float time
        {
            get { return stubStartDsp < 0 || AudioSettings.dspTime < stubStartDsp ? 0f : (float)(AudioSettings.dspTime - stubStartDsp); }
            set { }
        }
        public int timeSamples { get { return clip == null ? 0 : (int)(time * clip.frequency); } set { } }
        public void Play() { stubStartDsp = AudioSettings.dspTime; }
        public void PlayScheduled(double time) { stubStartDsp = time; }
        public void Stop() { stubStartDsp = -1; }
    }

    public static class AudioSettings
    {
        public static double dspTime { get { return UnityStub.Time; } }
        public static int outputSampleRate { get { return 48000; } }
    }

    public static class GUILayout
    {
        public static void Label(string text, params GUILayoutOption[] options) { }
        public static bool Button(string text, params GUILayoutOption[] options) { return false; }
    }
    public sealed class GUILayoutOption { }

    [AttributeUsage(AttributeTargets.Field)] public sealed class SerializeField : Attribute { }
    [AttributeUsage(AttributeTargets.Field)] public sealed class HideInInspector : Attribute { }
    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)] public class PropertyAttribute : Attribute { }
    public sealed class HeaderAttribute : PropertyAttribute { public HeaderAttribute(string header) { } }
    public sealed class TooltipAttribute : PropertyAttribute { public TooltipAttribute(string tooltip) { } }
    public sealed class RangeAttribute : PropertyAttribute { public RangeAttribute(float min, float max) { } }
    public sealed class MinAttribute : PropertyAttribute { public MinAttribute(float min) { } }
    public sealed class TextAreaAttribute : PropertyAttribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class CreateAssetMenuAttribute : Attribute { public string fileName { get; set; } public string menuName { get; set; } public int order { get; set; } }
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)] public sealed class RequireComponent : Attribute { public RequireComponent(Type requiredComponent) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class DisallowMultipleComponent : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class DefaultExecutionOrder : Attribute { public DefaultExecutionOrder(int order) { this.order = order; } public int order { get; private set; } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class HelpURLAttribute : Attribute { public HelpURLAttribute(string url) { } }
}

/// <summary>Test-side controls of the stub (clock, logs, component registry); not part of Unity's API.</summary>
public static class UnityStub
{
    public static float DeltaTime = 1f / 60f;
    public static double Time;
    public static int FrameCount;
    public static readonly List<string> Logs = new List<string>();
    public static readonly List<UnityEngine.Component> Components = new List<UnityEngine.Component>();
    public static bool Echo;

    internal static void OnAdded(UnityEngine.Component c) { Components.Add(c); }

    internal static void Logged(string level, object message)
    {
        lock (Logs) Logs.Add(level + ": " + message);
        if (Echo) Console.WriteLine("  [unity " + level + "] " + message);
    }

    public static byte[] TextureData(UnityEngine.Texture2D t) { return t.stubData; }
    public static int TextureApplyCount(UnityEngine.Texture2D t) { return t.stubApplyCount; }
}
