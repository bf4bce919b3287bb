using System;
using UnityEngine;

namespace Facecast
{
    /// <summary>
    /// Lip-syncs an NPC line: streams an AudioClip to the runtime with `push_audio` (float32 chunks, kept a
    /// little ahead of playback), starts the AudioSource once the motion for its first samples has arrived, and
    /// while it plays makes the client show the motion frame whose t_audio matches the sample being heard.
    /// The runtime must run with --listen (it then announces the push_audio capability).
    /// </summary>
    [RequireComponent(typeof(AudioSource))]
    [AddComponentMenu("Facecast/Facecast NPC Audio")]
    public sealed class FacecastNpcAudio : MonoBehaviour, IFacecastAudioClock
    {
        /// <summary>Where a line stands.</summary>
        public enum State { Idle, Streaming, Playing }

        [SerializeField] FacecastClient _client;
        [SerializeField] AudioSource _source;
        [Tooltip("Clip spoken on Start (optional)")]
        [SerializeField] AudioClip _speakOnStart;
        [Tooltip("Audio per push_audio request, seconds")]
        [Range(0.02f, 0.5f)] [SerializeField] float _chunkS = 0.1f;
        [Tooltip("How far sending runs ahead of playback, seconds")]
        [Range(0.1f, 2f)] [SerializeField] float _leadS = 0.4f;
        [Tooltip("Start playing after this long even if no motion arrived (runtime slow or gone)")]
        [SerializeField] float _maxWaitS = 1.0f;

        float[] _samples = new float[0];   // the whole clip, interleaved
        AudioClip _clip;
        int _sentFrames;
        double _tAudioStart = double.NaN;  // stream seconds where the clip's first sample landed
        float _waited;

        public FacecastClient Client { get { return _client; } set { _client = value; } }
        public AudioSource Source { get { return _source; } set { _source = value; } }

        /// <summary>Current state of the line.</summary>
        public State Current { get; private set; }
        /// <summary>Stream time of the clip's first sample (NaN until the runtime answered).</summary>
        public double TAudioStartS { get { return _tAudioStart; } }
        /// <summary>push_audio requests answered with an error.</summary>
        public int Errors { get; private set; }

        void Awake()
        {
            if (_source == null) _source = GetComponent<AudioSource>();
        }

        void Start()
        {
            if (_speakOnStart != null) Speak(_speakOnStart);
        }

        /// <summary>Starts streaming `clip`; playback begins when its motion is back (or after Max Wait).</summary>
        public void Speak(AudioClip clip)
        {
            if (_client == null) { Debug.LogWarning("FacecastNpcAudio needs a FacecastClient", this); return; }
            _clip = clip;
            int n = clip.samples * clip.channels;
            if (_samples.Length < n) _samples = new float[n];
            clip.GetData(_samples, 0);
            _sentFrames = 0;
            _tAudioStart = double.NaN;
            _waited = 0f;
            _source.Stop();
            _source.clip = clip;
            Current = State.Streaming;
            SendAhead(0);
        }

        /// <summary>Stops the line (already pushed audio still animates the face on the runtime).</summary>
        public void Stop()
        {
            _source.Stop();
            Current = State.Idle;
            if (_client != null && ReferenceEquals(_client.AudioClock, this)) _client.AudioClock = null;
        }

        void Update()
        {
            if (Current == State.Idle || _clip == null) return;
            int playedFrames = Current == State.Playing ? _source.timeSamples : 0;
            SendAhead(playedFrames);
            if (Current == State.Streaming)
            {
                _waited += Time.deltaTime;
                bool motionBack = !double.IsNaN(_tAudioStart) && _client.Connection != null
                                  && _client.Connection.NewestMotionTAudioS >= _tAudioStart;
                if (motionBack || _waited > _maxWaitS)
                {
                    _source.Play();
                    Current = State.Playing;
                    _client.AudioClock = this;
                }
            }
            else if (!_source.isPlaying && _sentFrames >= _clip.samples)
            {
                Current = State.Idle;
                if (ReferenceEquals(_client.AudioClock, this)) _client.AudioClock = null;
            }
        }

        void SendAhead(int playedFrames)
        {
            int freq = _clip.frequency, ch = _clip.channels;
            int chunkFrames = Mathf.Max(1, (int)(_chunkS * freq));
            int aheadFrames = playedFrames + (int)(_leadS * freq);
            while (_sentFrames < _clip.samples && _sentFrames < aheadFrames)
            {
                int frames = Math.Min(chunkFrames, _clip.samples - _sentFrames);
                int bytes = frames * ch * 4;
                // the request keeps a reference to its payload until the receive thread sends it
                var payload = new byte[bytes];
                Buffer.BlockCopy(_samples, _sentFrames * ch * 4, payload, 0, bytes);
                bool first = _sentFrames == 0;
                _client.Send(FacecastRequest.PushAudioF32(_client.Session, freq, ch, payload, bytes), reply => OnPushed(reply, first));
                _sentFrames += frames;
            }
        }

        void OnPushed(FacecastReply reply, bool first)
        {
            if (!reply.Ok)
            {
                Errors++;
                Debug.LogWarning("facecast: push_audio failed: " + reply.ErrorCode + ": " + reply.ErrorMessage
                    + (reply.ErrorCode == "unsupported" ? " (start the runtime with --listen)" : ""), this);
                return;
            }
            if (!first) return;
            object start = reply.Result.Get("t_audio_start");
            if (start is double) _tAudioStart = (double)start;
            else if (start is long) _tAudioStart = (long)start;
        }

        /// <summary>Stream time of the sample being heard: start of the clip on the runtime's clock + playback position.</summary>
        public bool TryGetAudioTime(out double tAudioS)
        {
            tAudioS = 0;
            if (Current != State.Playing || double.IsNaN(_tAudioStart) || _clip == null) return false;
            tAudioS = _tAudioStart + (double)_source.timeSamples / _clip.frequency;
            return true;
        }

        void OnDisable()
        {
            if (Current != State.Idle) Stop();
        }
    }
}
