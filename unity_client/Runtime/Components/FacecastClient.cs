using System;
using System.Collections.Generic;
using UnityEngine;

namespace Facecast
{
    /// <summary>Gives the audio time being heard, so motion can be shown in step with it (see FacecastNpcAudio).</summary>
    public interface IFacecastAudioClock
    {
        /// <summary>Seconds of the session's audio stream now audible; false when nothing is playing.</summary>
        bool TryGetAudioTime(out double tAudioS);
    }

    /// <summary>
    /// Connects to a facecast runtime and hands its newest motion (and optionally video frames) to the driver
    /// components once per frame. Runs before them (execution order -100); Update never waits on a socket.
    /// </summary>
    [DefaultExecutionOrder(-100)]
    [AddComponentMenu("Facecast/Facecast Client")]
    [DisallowMultipleComponent]
    public sealed class FacecastClient : MonoBehaviour
    {
        [Tooltip("The runtime's stream (PUB) endpoint")]
        [SerializeField] string _streamEndpoint = "tcp://127.0.0.1:5555";
        [Tooltip("The runtime's control (ROUTER) endpoint")]
        [SerializeField] string _controlEndpoint = "tcp://127.0.0.1:5556";
        [Tooltip("Session id to follow")]
        [SerializeField] string _session = "default";
        [Tooltip("Also receive rendered video frames (for FacecastFrameDisplay)")]
        [SerializeField] bool _receiveFrames;
        [Tooltip("Reopen the sockets after this many seconds without data (runtime restarted)")]
        [SerializeField] float _reconnectAfterS = 3f;
        [Tooltip("Log status changes to the console")]
        [SerializeField] bool _logStatus = true;

        /// <summary>Overrides the transport for this component (tests, other ZeroMQ bindings); null uses FacecastTransports.Factory.</summary>
        public static Func<IFacecastTransport> TransportOverride;

        FacecastConnection _connection;
        readonly FacecastMotion _motion = new FacecastMotion();
        long _seenMotionVersion = -1;
        bool _hasMotion;
        FacecastFrame _frame;
        long _frameVersion;
        FacecastStatus _lastStatus = FacecastStatus.Stopped;
        readonly Dictionary<long, Action<FacecastReply>> _pending = new Dictionary<long, Action<FacecastReply>>();

        /// <summary>Stream endpoint (takes effect on the next enable).</summary>
        public string StreamEndpoint { get { return _streamEndpoint; } set { _streamEndpoint = value; } }
        /// <summary>Control endpoint (takes effect on the next enable).</summary>
        public string ControlEndpoint { get { return _controlEndpoint; } set { _controlEndpoint = value; } }
        /// <summary>Session id (takes effect on the next enable).</summary>
        public string Session { get { return _session; } set { _session = value; } }
        /// <summary>Whether video frames are received (takes effect on the next enable).</summary>
        public bool ReceiveFrames { get { return _receiveFrames; } set { _receiveFrames = value; } }
        /// <summary>Seconds of silence before reconnecting (takes effect on the next enable).</summary>
        public float ReconnectAfterS { get { return _reconnectAfterS; } set { _reconnectAfterS = value; } }

        /// <summary>Connection state, updated every frame.</summary>
        public FacecastStatus Status { get; private set; }
        /// <summary>Human-readable state (names the fix when something is wrong).</summary>
        public string StatusMessage { get; private set; }
        /// <summary>Receive time minus publish time of the newest motion frame, ms (NaN before any).</summary>
        public double LatencyMs { get; private set; }
        /// <summary>The runtime's own audio-to-publish latency p50 from its stats events, ms (NaN before any).</summary>
        public double RuntimeLatencyMs { get; private set; }
        /// <summary>The `info` result of the connected runtime, or null.</summary>
        public MsgPackMap Info { get { return _connection == null ? null : _connection.Info; } }
        /// <summary>The underlying connection (counters: Received, Refused, Reconnects, Restarts).</summary>
        public FacecastConnection Connection { get { return _connection; } }

        /// <summary>This frame's motion (valid when HasMotion). Do not keep a reference across frames; copy.</summary>
        public FacecastMotion Motion { get { return _motion; } }
        /// <summary>True once any motion frame has arrived.</summary>
        public bool HasMotion { get { return _hasMotion; } }
        /// <summary>Increments whenever Motion changed.</summary>
        public long MotionVersion { get; private set; }
        /// <summary>Newest video frame, or null (see FacecastFrameDisplay).</summary>
        public FacecastFrame Frame { get { return _frame; } }
        /// <summary>Increments whenever Frame changed.</summary>
        public long FrameVersion { get { return _frameVersion; } }

        /// <summary>When set (by FacecastNpcAudio while it plays), Motion follows this clock instead of the newest frame.</summary>
        public IFacecastAudioClock AudioClock { get; set; }

        /// <summary>Raised on the main thread for every control reply.</summary>
        public event Action<FacecastReply> ReplyReceived;

        void OnEnable()
        {
            Status = FacecastStatus.Connecting;
            StatusMessage = "";
            LatencyMs = RuntimeLatencyMs = double.NaN;
            Func<IFacecastTransport> factory = TransportOverride ?? FacecastTransports.Factory;
            _connection = new FacecastConnection(_streamEndpoint, _controlEndpoint, _session, _receiveFrames, factory, _reconnectAfterS);
            _connection.Start();
        }

        void OnDisable()
        {
            if (_connection != null) _connection.Dispose();
            _connection = null;
            _pending.Clear();
            Status = FacecastStatus.Stopped;
        }

        void OnApplicationQuit()
        {
            OnDisable();
            FacecastTransports.Shutdown(); // NetMQConfig.Cleanup: otherwise the editor can hang on leaving play mode
        }

        void Update()
        {
            if (_connection == null) return;
            Status = _connection.Status;
            StatusMessage = _connection.StatusMessage;
            if (Status != _lastStatus)
            {
                if (_logStatus) Debug.Log("facecast: " + Status + " (" + StatusMessage + ")", this);
                _lastStatus = Status;
            }
            LatencyMs = _connection.LatencyMs;

            double tAudio;
            if (AudioClock != null && AudioClock.TryGetAudioTime(out tAudio))
            {
                if (_connection.TryGetMotionAt(tAudio, _motion)) { _hasMotion = true; MotionVersion++; }
            }
            else
            {
                long v = _connection.MotionVersion;
                if (v != _seenMotionVersion && _connection.TryGetLatestMotion(_motion))
                {
                    _seenMotionVersion = v;
                    _hasMotion = true;
                    MotionVersion++;
                }
            }

            if (_receiveFrames && _connection.TryTakeFrame(ref _frame)) _frameVersion++;

            FacecastEvent stats = _connection.LastStats;
            if (stats != null)
            {
                object p50 = stats.Data.Get("latency_ms_p50");
                if (p50 is double) RuntimeLatencyMs = (double)p50;
                else if (p50 is long) RuntimeLatencyMs = (long)p50;
            }

            FacecastReply reply;
            while (_connection.TryTakeReply(out reply))
            {
                Action<FacecastReply> callback;
                if (_pending.TryGetValue(reply.Id, out callback))
                {
                    _pending.Remove(reply.Id);
                    if (callback != null) callback(reply);
                }
                if (!reply.Ok && _logStatus) Debug.LogWarning("facecast: request " + reply.Id + " failed: " + reply.ErrorCode + ": " + reply.ErrorMessage, this);
                if (ReplyReceived != null) ReplyReceived(reply);
            }
        }

        /// <summary>Sends a control request; `onReply` runs on the main thread when the reply arrives. Returns the request id, or 0 when disabled.</summary>
        public long Send(FacecastRequest request, Action<FacecastReply> onReply = null)
        {
            if (_connection == null) return 0;
            long id = _connection.Send(request);
            _pending[id] = onReply;
            return id;
        }

        /// <summary>`set_emotion` on this client's session.</summary>
        public long SetEmotion(string emotion, float intensity = 1f, float blendS = 0.3f)
        {
            return Send(FacecastRequest.SetEmotion(_session, emotion, intensity, blendS));
        }

        /// <summary>`set_head` on this client's session (protocol signs: pitch &gt; 0 chin down, yaw &gt; 0 to the face's own left).</summary>
        public long SetHead(string mode, float pitchDeg, float yawDeg, float rollDeg, float blendS = 0.3f)
        {
            return Send(FacecastRequest.SetHead(_session, mode, pitchDeg, yawDeg, rollDeg, blendS));
        }
    }
}
