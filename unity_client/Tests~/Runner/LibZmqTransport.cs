using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Facecast.Tests
{
    /// <summary>
    /// IFacecastTransport over Debian's libzmq5 by P/Invoke, standing in for NetMQ in tests (same socket types,
    /// same options: SUB + DEALER, linger 0). One context per transport, terminated on Dispose.
    /// </summary>
    public sealed class LibZmqTransport : IFacecastTransport
    {
        const string Lib = "libzmq.so.5";
        const int ZMQ_SUB = 2, ZMQ_DEALER = 5;
        const int ZMQ_SUBSCRIBE = 6, ZMQ_RCVMORE = 13, ZMQ_LINGER = 17, ZMQ_RCVHWM = 24, ZMQ_SNDHWM = 23;
        const int ZMQ_DONTWAIT = 1, ZMQ_SNDMORE = 2, ZMQ_POLLIN = 1;
        const int EAGAIN = 11;

        [DllImport(Lib)] static extern IntPtr zmq_ctx_new();
        [DllImport(Lib)] static extern int zmq_ctx_term(IntPtr ctx);
        [DllImport(Lib)] static extern IntPtr zmq_socket(IntPtr ctx, int type);
        [DllImport(Lib)] static extern int zmq_close(IntPtr s);
        [DllImport(Lib)] static extern int zmq_connect(IntPtr s, string addr);
        [DllImport(Lib)] static extern int zmq_setsockopt(IntPtr s, int option, byte[] value, UIntPtr len);
        [DllImport(Lib)] static extern int zmq_getsockopt(IntPtr s, int option, out int value, ref UIntPtr len);
        [DllImport(Lib)] static extern int zmq_send(IntPtr s, byte[] buf, UIntPtr len, int flags);
        [DllImport(Lib)] static extern int zmq_msg_init(IntPtr msg);
        [DllImport(Lib)] static extern int zmq_msg_recv(IntPtr msg, IntPtr s, int flags);
        [DllImport(Lib)] static extern IntPtr zmq_msg_data(IntPtr msg);
        [DllImport(Lib)] static extern UIntPtr zmq_msg_size(IntPtr msg);
        [DllImport(Lib)] static extern int zmq_msg_close(IntPtr msg);
        [DllImport(Lib)] static extern int zmq_errno();
        [DllImport(Lib)] static extern int zmq_poll([In, Out] ZmqPollItem[] items, int n, long timeoutMs);

        [StructLayout(LayoutKind.Sequential)]
        struct ZmqPollItem
        {
            public IntPtr socket;
            public int fd;
            public short events;
            public short revents;
        }

        IntPtr _ctx, _sub, _dealer, _msg;
        readonly ZmqPollItem[] _poll = new ZmqPollItem[1];

        public void Open(string streamEndpoint, string controlEndpoint, IList<string> topicPrefixes)
        {
            _ctx = zmq_ctx_new();
            _msg = Marshal.AllocHGlobal(64); // sizeof(zmq_msg_t)
            _sub = zmq_socket(_ctx, ZMQ_SUB);
            SetInt(_sub, ZMQ_LINGER, 0);
            SetInt(_sub, ZMQ_RCVHWM, 64);
            foreach (string p in topicPrefixes)
            {
                byte[] b = Encoding.ASCII.GetBytes(p);
                Check(zmq_setsockopt(_sub, ZMQ_SUBSCRIBE, b, (UIntPtr)b.Length), "subscribe");
            }
            Check(zmq_connect(_sub, streamEndpoint), "connect " + streamEndpoint);
            _dealer = zmq_socket(_ctx, ZMQ_DEALER);
            SetInt(_dealer, ZMQ_LINGER, 0);
            SetInt(_dealer, ZMQ_SNDHWM, 64);
            Check(zmq_connect(_dealer, controlEndpoint), "connect " + controlEndpoint);
        }

        public bool TryReceiveStream(FacecastMultipart parts, int timeoutMs)
        {
            if (timeoutMs > 0)
            {
                _poll[0] = new ZmqPollItem { socket = _sub, events = ZMQ_POLLIN };
                if (zmq_poll(_poll, 1, timeoutMs) <= 0) return false;
            }
            return Receive(_sub, parts);
        }

        public bool TrySendControl(byte[] request, int requestLength, byte[] payload, int payloadLength)
        {
            bool more = payload != null;
            byte[] head = request;
            if (request.Length != requestLength) { head = new byte[requestLength]; Buffer.BlockCopy(request, 0, head, 0, requestLength); }
            if (zmq_send(_dealer, head, (UIntPtr)requestLength, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0) return false;
            if (more)
            {
                byte[] body = payload;
                if (payload.Length != payloadLength) { body = new byte[payloadLength]; Buffer.BlockCopy(payload, 0, body, 0, payloadLength); }
                zmq_send(_dealer, body, (UIntPtr)payloadLength, 0);
            }
            return true;
        }

        public bool TryReceiveControl(FacecastMultipart parts)
        {
            return Receive(_dealer, parts);
        }

        bool Receive(IntPtr socket, FacecastMultipart parts)
        {
            parts.Clear();
            zmq_msg_init(_msg);
            if (zmq_msg_recv(_msg, socket, ZMQ_DONTWAIT) < 0)
            {
                zmq_msg_close(_msg);
                return false;
            }
            while (true)
            {
                int n = (int)(ulong)zmq_msg_size(_msg);
                byte[] dst = parts.Append(n);
                if (dst != null && n > 0) Marshal.Copy(zmq_msg_data(_msg), dst, 0, n);
                zmq_msg_close(_msg);
                int more;
                var len = (UIntPtr)4;
                zmq_getsockopt(socket, ZMQ_RCVMORE, out more, ref len);
                if (more == 0) return true;
                zmq_msg_init(_msg);
                zmq_msg_recv(_msg, socket, 0); // the rest of a message is already here
            }
        }

        public void Dispose()
        {
            if (_ctx == IntPtr.Zero) return;
            zmq_close(_sub);
            zmq_close(_dealer);
            zmq_ctx_term(_ctx);
            Marshal.FreeHGlobal(_msg);
            _ctx = IntPtr.Zero;
        }

        static void SetInt(IntPtr s, int option, int value)
        {
            Check(zmq_setsockopt(s, option, BitConverter.GetBytes(value), (UIntPtr)4), "setsockopt " + option);
        }

        static void Check(int rc, string what)
        {
            if (rc != 0) throw new InvalidOperationException("libzmq " + what + " failed, errno " + zmq_errno());
        }
    }
}
