using System;

namespace Facecast
{
    /// <summary>
    /// A message that does not follow protocol v1. <see cref="Code"/> is one of the protocol's error codes
    /// (malformed, version, too_large, ...), the same code the Python decoder reports.
    /// </summary>
    public sealed class FacecastProtocolException : Exception
    {
        /// <summary>Protocol error code, e.g. "malformed".</summary>
        public readonly string Code;

        public FacecastProtocolException(string code, string message) : base(code + ": " + message)
        {
            Code = code;
        }

        internal static FacecastProtocolException Malformed(string message)
        {
            return new FacecastProtocolException("malformed", message);
        }
    }
}
