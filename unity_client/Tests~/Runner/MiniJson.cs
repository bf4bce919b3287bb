using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Facecast.Tests
{
    /// <summary>
    /// A small JSON reader for the vectors' .json files that keeps what the comparison needs: key order
    /// (objects are List of KeyValuePair) and ints apart from floats (a number with '.' or an exponent is a
    /// double; otherwise long, or ulong above long.MaxValue).
    /// </summary>
    public static class MiniJson
    {
        public static object Parse(string text)
        {
            int i = 0;
            object v = Value(text, ref i);
            Ws(text, ref i);
            if (i != text.Length) throw new FormatException("trailing JSON at " + i);
            return v;
        }

        static void Ws(string s, ref int i) { while (i < s.Length && char.IsWhiteSpace(s[i])) i++; }

        static object Value(string s, ref int i)
        {
            Ws(s, ref i);
            char c = s[i];
            if (c == '{')
            {
                i++;
                var obj = new List<KeyValuePair<string, object>>();
                Ws(s, ref i);
                if (s[i] == '}') { i++; return obj; }
                while (true)
                {
                    Ws(s, ref i);
                    string key = Str(s, ref i);
                    Ws(s, ref i);
                    Expect(s, ref i, ':');
                    obj.Add(new KeyValuePair<string, object>(key, Value(s, ref i)));
                    Ws(s, ref i);
                    if (s[i] == ',') { i++; continue; }
                    Expect(s, ref i, '}');
                    return obj;
                }
            }
            if (c == '[')
            {
                i++;
                var list = new List<object>();
                Ws(s, ref i);
                if (s[i] == ']') { i++; return list; }
                while (true)
                {
                    list.Add(Value(s, ref i));
                    Ws(s, ref i);
                    if (s[i] == ',') { i++; continue; }
                    Expect(s, ref i, ']');
                    return list;
                }
            }
            if (c == '"') return Str(s, ref i);
            if (s.Substring(i).StartsWith("true")) { i += 4; return true; }
            if (s.Substring(i).StartsWith("false")) { i += 5; return false; }
            if (s.Substring(i).StartsWith("null")) { i += 4; return null; }
            int start = i;
            bool isFloat = false;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) { if ("eE.".IndexOf(s[i]) >= 0) isFloat = true; i++; }
            string num = s.Substring(start, i - start);
            if (isFloat) return double.Parse(num, NumberStyles.Float, CultureInfo.InvariantCulture);
            long l;
            if (long.TryParse(num, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
            return ulong.Parse(num, CultureInfo.InvariantCulture);
        }

        static void Expect(string s, ref int i, char c)
        {
            if (s[i] != c) throw new FormatException("expected '" + c + "' at " + i);
            i++;
        }

        static string Str(string s, ref int i)
        {
            Expect(s, ref i, '"');
            var sb = new StringBuilder();
            while (s[i] != '"')
            {
                char c = s[i++];
                if (c != '\\') { sb.Append(c); continue; }
                char e = s[i++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u': sb.Append((char)Convert.ToInt32(s.Substring(i, 4), 16)); i += 4; break;
                    default: sb.Append(e); break;
                }
            }
            i++;
            return sb.ToString();
        }

        /// <summary>Value of key in a parsed object, or null.</summary>
        public static object Get(object obj, string key)
        {
            var o = obj as List<KeyValuePair<string, object>>;
            if (o == null) return null;
            foreach (var kv in o) if (kv.Key == key) return kv.Value;
            return null;
        }
    }
}
