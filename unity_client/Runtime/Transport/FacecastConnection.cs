using System;
using System.Collections.Generic;
using System.Threading;

namespace Facecast
{
    /// <summary>Where a connection stands.</summary>
    public enum FacecastStatus
    {
        /// <summary>Not started, or stopped.</summary>
        Stopped,
        /// <summary>Sockets open, waiting for the runtime's `info` reply.</summary>
        Connecting,
        /// <summary>`info` answered with protocol 1.x and the stream is live.</summary>
        Connected,
        /// <summary>Nothing received for a while: sockets are being reopened until the runtime is back.</summary>
        Reconnecting,
        /// <summary>The runtime speaks another major protocol version; see StatusMessage.</summary>
        VersionMismatch,
        /// <summary>No transport could be created, or it failed; see StatusMessage.</summary>
        Error,
    }

    /// <summary>
    /// A live link to one runtime session, independent of Unity (so it runs in tests). A receive thread owns
    /// the transport: it decodes the stream and copies each motion frame into a small ring guarded by a
    /// lock, swaps decoded video frames into a ready slot (newest wins), sends queued control requests and
    /// queues their replies. The main thread only takes what is there (TryGet*), never waits on a socket.
    /// </summary>
    public sealed class FacecastConnection : IDisposable
    {
        /// <summary>Motion frames kept for playback-clock lookups (about half a second at 60 Hz).</summary>
        public const int MotionHistory = 32;

        readonly string _streamEndpoint, _controlEndpoint, _session;
        readonly bool _frames;
        readonly Func<IFacecastTransport> _factory;
        readonly double _staleAfterS;
        Thread _thread;
        volatile bool _stop;

        // Shared state: every field below is touched only under _lock.
        readonly object _lock = new object();
        readonly FacecastMotion[] _ring = new FacecastMotion[MotionHistory];
        int _ringNext, _ringCount;
        long _motionVersion;
        FacecastFrame _frameReady;
        bool _frameFresh;
        readonly Queue<KeyValuePair<long, FacecastRequest>> _outbox = new Queue<KeyValuePair<long, FacecastRequest>>();
        readonly Queue<FacecastReply> _inbox = new Queue<FacecastReply>();
        FacecastEvent _lastStats;
        FacecastStatus _status = FacecastStatus.Stopped;
        string _statusMessage = "";
        MsgPackMap _info;
        long _nextId = 1;
        double _latencyMs = double.NaN;
        long _received, _refused, _framesSuperseded, _reconnects, _restarts;

        /// <param name="session">Session id to follow ("default").</param>
        /// <param name="frames">Also subscribe to video frames (costs bandwidth; off for 3D avatars).</param>
        /// <param name="staleAfterS">Reopen the sockets after this long without any stream message.</param>
        public FacecastConnection(string streamEndpoint, string controlEndpoint, string session, bool frames,
                                  Func<IFacecastTransport> factory, double staleAfterS = 3.0)
        {
            _streamEndpoint = streamEndpoint;
            _controlEndpoint = controlEndpoint;
            _session = session;
            _frames = frames;
            _factory = factory;
            _staleAfterS = staleAfterS;
            for (int i = 0; i < MotionHistory; i++) _ring[i] = new FacecastMotion();
        }

        /// <summary>Starts the receive thread.</summary>
        public void Start()
        {
            if (_thread != null) return;
            _stop = false;
            SetStatus(FacecastStatus.Connecting, "connecting to " + _streamEndpoint);
            _thread = new Thread(Run) { IsBackground = true, Name = "facecast-receive" };
            _thread.Start();
        }

        /// <summary>Stops the thread and closes the sockets (waits at most about 100 ms: sockets do not linger).</summary>
        public void Dispose()
        {
            _stop = true;
            if (_thread != null)
            {
                // The thread polls _stop between short receives; a join that times out means it was stuck (a
                // blocking call that ignored its timeout), and Unity's domain reload would hang on it, so abort.
                StoppedCleanly = _thread.Join(2000);
                if (!StoppedCleanly) _thread.Abort();
            }
            _thread = null;
            SetStatus(FacecastStatus.Stopped, "stopped");
        }

        /// <summary>After Dispose: whether the receive thread ended by itself (false: it had to be aborted).</summary>
        public bool StoppedCleanly { get; private set; }

        public FacecastStatus Status { get { lock (_lock) return _status; } }
        public string StatusMessage { get { lock (_lock) return _statusMessage; } }
        /// <summary>The runtime's `info` result (protocol, server, capabilities, schema), or null.</summary>
        public MsgPackMap Info { get { lock (_lock) return _info; } }
        /// <summary>Receive time minus publish time of the newest motion frame, ms (NaN before any).</summary>
        public double LatencyMs { get { lock (_lock) return _latencyMs; } }
        /// <summary>Stream messages accepted for this session.</summary>
        public long Received { get { lock (_lock) return _received; } }
        /// <summary>Stream messages refused by the decoder (another major version, malformed).</summary>
        public long Refused { get { lock (_lock) return _refused; } }
        /// <summary>Video frames replaced by a newer one before the main thread took them.</summary>
        public long FramesSuperseded { get { lock (_lock) return _framesSuperseded; } }
        /// <summary>Times the sockets were reopened after silence.</summary>
        public long Reconnects { get { lock (_lock) return _reconnects; } }
        /// <summary>Times a runtime restart was seen (seq went back).</summary>
        public long Restarts { get { lock (_lock) return _restarts; } }
        /// <summary>Increments with every motion frame received.</summary>
        public long MotionVersion { get { lock (_lock) return _motionVersion; } }

        /// <summary>Copies the newest motion frame into `into`; false when none has arrived yet.</summary>
        public bool TryGetLatestMotion(FacecastMotion into)
        {
            lock (_lock)
            {
                if (_ringCount == 0) return false;
                into.CopyFrom(_ring[(_ringNext + MotionHistory - 1) % MotionHistory]);
                return true;
            }
        }

        /// <summary>
        /// Copies the motion frame that depicts audio time `tAudioS`: the newest with TAudioS &lt;= tAudioS, else the
        /// oldest kept. Used to show the frame matching audio being played (see FacecastNpcAudio).
        /// </summary>
        public bool TryGetMotionAt(double tAudioS, FacecastMotion into)
        {
            lock (_lock)
            {
                if (_ringCount == 0) return false;
                FacecastMotion best = null, oldest = null;
                for (int k = 0; k < _ringCount; k++)
                {
                    FacecastMotion m = _ring[(_ringNext + MotionHistory - 1 - k) % MotionHistory];
                    oldest = m;
                    if (m.TAudioS <= tAudioS) { best = m; break; }
                }
                into.CopyFrom(best ?? oldest);
                return true;
            }
        }

        /// <summary>Newest motion t_audio received, or -1.</summary>
        public double NewestMotionTAudioS
        {
            get
            {
                lock (_lock) return _ringCount == 0 ? -1 : _ring[(_ringNext + MotionHistory - 1) % MotionHistory].TAudioS;
            }
        }

        /// <summary>
        /// Swaps the newest unseen video frame into `front` (the caller's buffer goes back to the pool); false
        /// when nothing new arrived. No copy and no allocation.
        /// </summary>
        public bool TryTakeFrame(ref FacecastFrame front)
        {
            lock (_lock)
            {
                if (!_frameFresh) return false;
                FacecastFrame t = _frameReady;
                _frameReady = front ?? new FacecastFrame();
                front = t;
                _frameFresh = false;
                return true;
            }
        }

        /// <summary>The newest `stats` event, or null.</summary>
        public FacecastEvent LastStats { get { lock (_lock) return _lastStats; } }

        /// <summary>Queues a request for the receive thread to send; returns its id (echoed in the reply).</summary>
        public long Send(FacecastRequest request)
        {
            lock (_lock)
            {
                long id = _nextId++;
                _outbox.Enqueue(new KeyValuePair<long, FacecastRequest>(id, request));
                return id;
            }
        }

        /// <summary>Takes one reply if any has arrived.</summary>
        public bool TryTakeReply(out FacecastReply reply)
        {
            lock (_lock)
            {
                if (_inbox.Count == 0) { reply = null; return false; }
                reply = _inbox.Dequeue();
                return true;
            }
        }

        void SetStatus(FacecastStatus status, string message)
        {
            lock (_lock)
            {
                _status = status;
                _statusMessage = message;
            }
        }

        static double NowUnixS()
        {
            return (DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds;
        }

        // ------------------------------------------------------------------ receive thread

        void Run()
        {
            var parts = new FacecastMultipart();
            var replyParts = new FacecastMultipart();
            var decoder = new FacecastStreamDecoder();
            var motion = new FacecastMotion();
            var frame = new FacecastFrame();
            var ev = new FacecastEvent();
            var writer = new MsgPackWriter();
            var topics = new List<string> { "motion/" + _session, "event/" + _session };
            if (_frames) topics.Add("frame/" + _session);
            IFacecastTransport transport = null;
            long infoId = 0;
            double infoSentAt = 0, lastRx = 0, openedAt = 0;
            ulong lastSeq = 0;
            bool anyMotion = false;
            try
            {
                while (!_stop)
                {
                    double now = NowUnixS();
                    if (transport == null)
                    {
                        transport = OpenTransport(topics);
                        if (transport == null) { Thread.Sleep(500); continue; }
                        openedAt = lastRx = now;
                        infoId = 0;
                        // lastSeq and anyMotion are kept: a new runtime behind the reopened sockets still shows as
                        // seq going back, so its clock replaces the old one
                    }
                    if (infoId == 0 || (Status != FacecastStatus.Connected && now - infoSentAt > 2.0))
                    {
                        // `info` first: it checks the version; resent until the runtime answers.
                        lock (_lock) infoId = _nextId++;
                        FacecastControlCodec.EncodeRequest(writer, infoId, new FacecastRequest("info"));
                        transport.TrySendControl(writer.Buffer, writer.Length, null, 0);
                        infoSentAt = now;
                    }

                    if (transport.TryReceiveStream(parts, 10))
                    {
                        lastRx = NowUnixS();
                        HandleStream(decoder, parts, motion, ref frame, ev, lastRx, ref lastSeq, ref anyMotion, ref infoId);
                        // drain what is already queued before doing anything else: newest wins
                        int burst = 0;
                        while (burst++ < 256 && transport.TryReceiveStream(parts, 0))
                            HandleStream(decoder, parts, motion, ref frame, ev, NowUnixS(), ref lastSeq, ref anyMotion, ref infoId);
                    }
                    SendQueued(transport, writer);
                    while (transport.TryReceiveControl(replyParts)) HandleReply(replyParts, infoId);

                    if (NowUnixS() - lastRx > _staleAfterS && NowUnixS() - openedAt > _staleAfterS)
                    {
                        // Silence: the runtime stopped or restarted. Fresh sockets also drop requests queued for it.
                        transport.Dispose();
                        transport = null;
                        // the runtime may come back with another audio clock: motion kept from before would be
                        // matched against new playback times, so the history starts again with the new stream
                        lock (_lock) { _reconnects++; _ringCount = 0; }
                        SetStatus(FacecastStatus.Reconnecting, "no data from " + _streamEndpoint + " for " + _staleAfterS + " s; reconnecting");
                    }
                }
            }
            catch (Exception e)
            {
                SetStatus(FacecastStatus.Error, "receive thread failed: " + e.Message);
            }
            finally
            {
                if (transport != null) transport.Dispose();
            }
        }

        IFacecastTransport OpenTransport(List<string> topics)
        {
            IFacecastTransport t = null;
            try
            {
                t = _factory == null ? null : _factory();
                if (t == null) { SetStatus(FacecastStatus.Error, FacecastTransports.MissingTransportMessage); return null; }
                t.Open(_streamEndpoint, _controlEndpoint, topics);
                if (Status != FacecastStatus.Reconnecting) SetStatus(FacecastStatus.Connecting, "waiting for the runtime at " + _controlEndpoint);
                return t;
            }
            catch (Exception e)
            {
                if (t != null) t.Dispose();
                SetStatus(FacecastStatus.Error, "cannot open " + _streamEndpoint + ": " + e.Message);
                return null;
            }
        }

        void HandleStream(FacecastStreamDecoder decoder, FacecastMultipart parts, FacecastMotion motion, ref FacecastFrame frame,
                          FacecastEvent ev, double recvWallS, ref ulong lastSeq, ref bool anyMotion, ref long infoId)
        {
            FacecastStreamKind kind;
            try
            {
                kind = decoder.Decode(parts, motion, frame, ev);
            }
            catch (FacecastProtocolException e)
            {
                lock (_lock) _refused++;
                if (e.Code == "version") SetStatus(FacecastStatus.VersionMismatch, e.Message);
                return;
            }
            if (kind == FacecastStreamKind.Motion)
            {
                // a prefix subscription also matches longer ids ("default2")
                if (motion.Session != _session) return;
                motion.ReceivedWallS = recvWallS;
                if (anyMotion && motion.Seq < lastSeq)
                {
                    // the runtime restarted: forget the old clock and ask `info` again (its version may differ)
                    lock (_lock) { _restarts++; _ringCount = 0; }
                    infoId = 0;
                }
                anyMotion = true;
                lastSeq = motion.Seq;
                lock (_lock)
                {
                    _ring[_ringNext].CopyFrom(motion);
                    _ringNext = (_ringNext + 1) % MotionHistory;
                    if (_ringCount < MotionHistory) _ringCount++;
                    _motionVersion++;
                    _received++;
                    _latencyMs = (recvWallS - motion.TWallS) * 1000.0;
                }
            }
            else if (kind == FacecastStreamKind.Frame)
            {
                if (frame.Session != _session) return;
                frame.ReceivedWallS = recvWallS;
                lock (_lock)
                {
                    if (_frameFresh) _framesSuperseded++;
                    FacecastFrame t = _frameReady ?? new FacecastFrame();
                    _frameReady = frame;
                    frame = t; // the decoder writes the next frame into the buffer just released
                    _frameFresh = true;
                    _received++;
                }
            }
            else if (kind == FacecastStreamKind.Event)
            {
                if (ev.Session != _session) return;
                lock (_lock)
                {
                    _received++;
                    if (ev.Name == "stats")
                    {
                        var copy = new FacecastEvent();
                        copy.CopyFrom(ev);
                        _lastStats = copy;
                    }
                }
            }
        }

        void SendQueued(IFacecastTransport transport, MsgPackWriter writer)
        {
            while (true)
            {
                KeyValuePair<long, FacecastRequest> item;
                lock (_lock)
                {
                    if (_outbox.Count == 0) return;
                    item = _outbox.Peek();
                }
                FacecastRequest req = item.Value;
                FacecastControlCodec.EncodeRequest(writer, item.Key, req);
                if (!transport.TrySendControl(writer.Buffer, writer.Length, req.Payload, req.Payload == null ? 0 : req.PayloadLength))
                    return; // the runtime is not reading; try again next loop
                lock (_lock) _outbox.Dequeue();
            }
        }

        void HandleReply(FacecastMultipart parts, long infoId)
        {
            FacecastReply reply;
            try
            {
                reply = FacecastControlCodec.DecodeReply(parts);
            }
            catch (FacecastProtocolException e)
            {
                if (e.Code == "version") SetStatus(FacecastStatus.VersionMismatch, e.Message);
                lock (_lock) _refused++;
                return;
            }
            if (reply.Id != infoId)
            {
                lock (_lock) _inbox.Enqueue(reply);
                return;
            }
            if (!reply.Ok) { SetStatus(FacecastStatus.Error, "info failed: " + reply.ErrorCode + ": " + reply.ErrorMessage); return; }
            var protocol = reply.Result.Get("protocol") as string;
            try
            {
                FacecastControlCodec.CheckVersion(protocol ?? "");
            }
            catch (FacecastProtocolException e)
            {
                SetStatus(FacecastStatus.VersionMismatch, "runtime protocol " + protocol + ": " + e.Message);
                return;
            }
            lock (_lock) _info = reply.Result;
            SetStatus(FacecastStatus.Connected, "connected to " + (reply.Result.Get("server") as string ?? "facecast") + ", protocol " + protocol);
        }
    }
}
