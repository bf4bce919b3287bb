using System;
using UnityEngine;

namespace Facecast
{
    /// <summary>
    /// Shows the runtime's rendered frames in a Texture2D: assign <see cref="Texture"/> to a RawImage (see the
    /// sample's binder), or set a Renderer to have its material's texture property set. JPEG goes through
    /// Texture2D.LoadImage; raw rgb24/rgba32/bgra32 are converted into a reused RGBA32 buffer (rows flipped:
    /// the wire sends the top row first, Unity stores the bottom row first) and uploaded with
    /// LoadRawTextureData. The texture is recreated only when the size changes. Needs the client's Receive Frames.
    /// </summary>
    [AddComponentMenu("Facecast/Facecast Frame Display")]
    public sealed class FacecastFrameDisplay : MonoBehaviour
    {
        [SerializeField] FacecastClient _client;
        [Tooltip("Optional: its material's texture property shows the frames")]
        [SerializeField] Renderer _targetRenderer;
        [SerializeField] string _textureProperty = "_MainTex";

        Texture2D _texture;
        byte[] _rgba = new byte[0];
        byte[] _jpeg = new byte[0];
        long _shownVersion = -1;

        public FacecastClient Client { get { return _client; } set { _client = value; } }
        public Renderer TargetRenderer { get { return _targetRenderer; } set { _targetRenderer = value; } }

        /// <summary>The texture frames are shown in (null until the first frame; replaced when the size changes).</summary>
        public Texture2D Texture { get { return _texture; } }

        /// <summary>Raised when <see cref="Texture"/> is created or replaced.</summary>
        public event Action<Texture2D> TextureChanged;

        /// <summary>Frames shown so far.</summary>
        public long FramesShown { get; private set; }

        void Update()
        {
            if (_client == null || _client.Frame == null || _client.FrameVersion == _shownVersion) return;
            _shownVersion = _client.FrameVersion;
            Show(_client.Frame);
        }

        /// <summary>Uploads one frame (also usable without a client).</summary>
        public void Show(FacecastFrame frame)
        {
            if (frame.Format == FacecastFrameFormat.Jpeg)
            {
                // LoadImage wants an array holding exactly the file: reuse it while the size repeats.
                if (_jpeg.Length != frame.DataLength) _jpeg = new byte[frame.DataLength];
                Buffer.BlockCopy(frame.Data, 0, _jpeg, 0, frame.DataLength);
                EnsureTexture(frame.Width, frame.Height);
                if (!_texture.LoadImage(_jpeg)) { Debug.LogWarning("facecast: a JPEG frame did not decode", this); return; }
            }
            else
            {
                int n = frame.Width * frame.Height * 4;
                if (_rgba.Length != n) _rgba = new byte[n];
                FacecastPixels.ToRgba32BottomUp(frame, _rgba);
                EnsureTexture(frame.Width, frame.Height);
                _texture.LoadRawTextureData(_rgba);
                _texture.Apply(false);
            }
            FramesShown++;
        }

        void EnsureTexture(int w, int h)
        {
            if (_texture != null && _texture.width == w && _texture.height == h) return;
            if (_texture != null) Destroy(_texture);
            _texture = new Texture2D(w, h, TextureFormat.RGBA32, false);
            _texture.name = "facecast frame";
            _texture.wrapMode = TextureWrapMode.Clamp;
            _texture.filterMode = FilterMode.Bilinear;
            if (_targetRenderer != null) _targetRenderer.material.SetTexture(_textureProperty, _texture);
            if (TextureChanged != null) TextureChanged(_texture);
        }

        void OnDestroy()
        {
            if (_texture != null) Destroy(_texture);
        }
    }
}
