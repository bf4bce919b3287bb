#if FACECAST_NETMQ
using System;
using System.Collections.Generic;
using NetMQ;
using NetMQ.Sockets;

namespace Facecast
{
    /// <summary>
    /// IFacecastTransport over NetMQ (pure C# ZeroMQ). Sockets never linger, so closing never blocks
    /// Unity; the last transport to close, and application quit, run NetMQConfig.Cleanup so the editor
    /// does not hang on leaving play mode.
    /// </summary>
    public sealed class NetMqTransport : IFacecastTransport
    {
        static readonly object Gate = new object();
        static int _open;
        static bool _forced;

        SubscriberSocket _sub;
        DealerSocket _dealer;
        Msg _msg;

        public void Open(string streamEndpoint, string controlEndpoint, IList<string> topicPrefixes)
        {
            lock (Gate)
            {
                if (!_forced)
                {
                    // Unity's Mono lacks parts of the async socket API NetMQ's default backend uses.
                    AsyncIO.ForceDotNet.Force();
                    _forced = true;
                }
                _open++;
            }
            _msg = new Msg();
            _msg.InitEmpty();
            _sub = new SubscriberSocket();
            _sub.Options.Linger = TimeSpan.Zero;
            _sub.Options.ReceiveHighWatermark = 64;
            _sub.Connect(streamEndpoint);
            foreach (string prefix in topicPrefixes) _sub.Subscribe(prefix);
            _dealer = new DealerSocket();
            _dealer.Options.Linger = TimeSpan.Zero;
            _dealer.Options.SendHighWatermark = 64;
            _dealer.Connect(controlEndpoint);
        }

        public bool TryReceiveStream(FacecastMultipart parts, int timeoutMs)
        {
            return ReceiveMultipart(_sub, parts, TimeSpan.FromMilliseconds(timeoutMs));
        }

        public bool TrySendControl(byte[] request, int requestLength, byte[] payload, int payloadLength)
        {
            bool more = payload != null;
            if (!_dealer.TrySendFrame(TimeSpan.Zero, request, requestLength, more)) return false;
            // a DEALER that took the first part always takes the rest of the message
            if (more) _dealer.SendFrame(payload, payloadLength, false);
            return true;
        }

        public bool TryReceiveControl(FacecastMultipart parts)
        {
            return ReceiveMultipart(_dealer, parts, TimeSpan.Zero);
        }

        bool ReceiveMultipart(NetMQSocket socket, FacecastMultipart parts, TimeSpan timeout)
        {
            parts.Clear();
            if (!socket.TryReceive(ref _msg, timeout)) return false;
            while (true)
            {
                parts.Append(_msg.Data, _msg.Offset, _msg.Size);
                if (!_msg.HasMore) return true;
                // the rest of a multipart message is already here: ZeroMQ delivers messages whole
                socket.TryReceive(ref _msg, TimeSpan.FromSeconds(1));
            }
        }

        public void Dispose()
        {
            if (_sub == null) return;
            _msg.Close();
            _sub.Dispose();
            _dealer.Dispose();
            _sub = null;
            _dealer = null;
            lock (Gate)
            {
                _open--;
                if (_open == 0) NetMQConfig.Cleanup(false);
            }
        }

        /// <summary>Application quit: stop NetMQ's background threads even if a transport leaked.</summary>
        public static void CleanupAll()
        {
            lock (Gate)
            {
                NetMQConfig.Cleanup(false);
                _open = 0;
            }
        }
    }
}
#endif
