using Facecast;
using UnityEngine;
using UnityEngine.UI;

namespace Facecast.Samples
{
    /// <summary>Sample: status readout and buttons for emotions, head override and the NPC line; shows frames in a RawImage.</summary>
    public sealed class FacecastSampleHud : MonoBehaviour
    {
        [SerializeField] FacecastClient _client;
        [SerializeField] FacecastNpcAudio _npc;
        [SerializeField] AudioClip _line;
        [Tooltip("Optional: shows the runtime's rendered frames (enable Receive Frames on the client)")]
        [SerializeField] FacecastFrameDisplay _display;
        [SerializeField] RawImage _rawImage;

        void Start()
        {
            if (_display != null && _rawImage != null) _display.TextureChanged += tex => _rawImage.texture = tex;
        }

        void OnGUI()
        {
            if (_client == null) return;
            GUILayout.Label("facecast: " + _client.Status + "  " + _client.StatusMessage);
            GUILayout.Label("latency: receive " + _client.LatencyMs.ToString("F1") + " ms, runtime p50 " + _client.RuntimeLatencyMs.ToString("F1") + " ms");
            foreach (string emotion in FacecastSchema.Emotions)
                if (GUILayout.Button(emotion)) _client.SetEmotion(emotion, 1f, 0.3f);
            if (GUILayout.Button("look left (absolute yaw 25)")) _client.SetHead("absolute", 0f, 25f, 0f);
            if (GUILayout.Button("head: voice-driven")) _client.SetHead("off", 0f, 0f, 0f);
            if (_npc != null && _line != null && GUILayout.Button("speak NPC line (runtime with --listen)")) _npc.Speak(_line);
        }
    }
}
