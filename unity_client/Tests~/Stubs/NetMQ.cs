// Compile-only stand-in for the few NetMQ 4.x types NetMqTransport uses (signatures as in NetMQ 4.0.x; AsyncIO
// is its own assembly, Stubs/AsyncIO.cs). run_tests.sh also compiles and runs the transport against the real
// NetMQ.dll where ../shared/netmq/ holds it. Not shipped.
using System;

namespace NetMQ
{
    public struct Msg
    {
        public int Size { get { return 0; } }
        public int Offset { get { return 0; } }
        public byte[] Data { get { return null; } }
        public bool HasMore { get { return false; } }
        public void InitEmpty() { }
        public void Close() { }
    }

    public interface IOutgoingSocket { bool TrySend(ref Msg msg, TimeSpan timeout, bool more); }
    public interface IReceivingSocket { bool TryReceive(ref Msg msg, TimeSpan timeout); }

    public sealed class SocketOptions
    {
        public TimeSpan Linger { get; set; }
        public int ReceiveHighWatermark { get; set; }
        public int SendHighWatermark { get; set; }
    }

    public abstract class NetMQSocket : IOutgoingSocket, IReceivingSocket, IDisposable
    {
        public SocketOptions Options { get; } = new SocketOptions();
        public void Connect(string address) { }
        public void Close() { }
        public void Dispose() { }
        public bool TrySend(ref Msg msg, TimeSpan timeout, bool more) { return true; }
        public bool TryReceive(ref Msg msg, TimeSpan timeout) { return false; }
    }

    public static class OutgoingSocketExtensions
    {
        public static bool TrySendFrame(this IOutgoingSocket socket, TimeSpan timeout, byte[] data, int length, bool more = false) { return true; }
        public static void SendFrame(this IOutgoingSocket socket, byte[] data, int length, bool more = false) { }
    }

    public static class NetMQConfig
    {
        public static void Cleanup(bool block = true) { }
    }
}

namespace NetMQ.Sockets
{
    public class SubscriberSocket : NetMQSocket
    {
        public virtual void Subscribe(string topic) { }
    }

    public class DealerSocket : NetMQSocket { }
}
