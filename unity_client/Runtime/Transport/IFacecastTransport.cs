using System;
using System.Collections.Generic;

namespace Facecast
{
    /// <summary>
    /// The two ZeroMQ sockets a client needs: a SUB on the stream and a DEALER on control. Every method is
    /// called from one thread (the connection's receive thread) between Open and Dispose; implementations
    /// need no locking. Dispose closes both sockets without lingering.
    /// </summary>
    public interface IFacecastTransport : IDisposable
    {
        /// <summary>Connects the SUB to `streamEndpoint` subscribed to each prefix, and the DEALER to `controlEndpoint`.</summary>
        void Open(string streamEndpoint, string controlEndpoint, IList<string> topicPrefixes);

        /// <summary>Waits up to timeoutMs for one whole stream message and fills `parts`; false on timeout.</summary>
        bool TryReceiveStream(FacecastMultipart parts, int timeoutMs);

        /// <summary>Queues a request ([request] or [request, payload]) without blocking; false when it cannot be queued now.</summary>
        bool TrySendControl(byte[] request, int requestLength, byte[] payload, int payloadLength);

        /// <summary>Takes one control reply if one is waiting (never blocks).</summary>
        bool TryReceiveControl(FacecastMultipart parts);
    }

    /// <summary>
    /// Where transports come from. <see cref="Factory"/> defaults to NetMQ when the package is compiled with
    /// FACECAST_NETMQ (set automatically by the editor script when NetMQ.dll is in the project); tests and
    /// other ZeroMQ bindings replace it.
    /// </summary>
    public static class FacecastTransports
    {
        /// <summary>Creates a transport for a new connection; null when none is available.</summary>
        public static Func<IFacecastTransport> Factory = CreateDefault;

        /// <summary>Why Factory returned null, for the status readout.</summary>
        public const string MissingTransportMessage =
            "no ZeroMQ transport: install NetMQ (NuGetForUnity: NetMQ 4.x, or copy NetMQ.dll + AsyncIO.dll into Assets/Plugins); "
            + "the Facecast editor script then defines FACECAST_NETMQ";

        static IFacecastTransport CreateDefault()
        {
#if FACECAST_NETMQ
            return new NetMqTransport();
#else
            return null;
#endif
        }

        /// <summary>Releases global transport state at application quit (NetMQConfig.Cleanup for NetMQ).</summary>
        public static void Shutdown()
        {
#if FACECAST_NETMQ
            NetMqTransport.CleanupAll();
#endif
        }
    }
}
