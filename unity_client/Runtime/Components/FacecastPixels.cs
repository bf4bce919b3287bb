namespace Facecast
{
    /// <summary>Pixel conversion for raw frames: wire layout (top row first, padded rows) to Unity's RGBA32 (bottom row first).</summary>
    public static class FacecastPixels
    {
        /// <summary>
        /// Writes frame's pixels into dst as RGBA32, w×h×4 bytes, rows flipped for Texture2D (row 0 = bottom).
        /// Alpha is 255 for rgb24. dst must hold Width*Height*4 bytes.
        /// </summary>
        public static void ToRgba32BottomUp(FacecastFrame frame, byte[] dst)
        {
            int w = frame.Width, h = frame.Height, stride = frame.Stride;
            byte[] src = frame.Data;
            for (int y = 0; y < h; y++)
            {
                int s = y * stride;
                int d = (h - 1 - y) * w * 4;
                switch (frame.Format)
                {
                    case FacecastFrameFormat.Rgba32:
                        System.Buffer.BlockCopy(src, s, dst, d, w * 4);
                        break;
                    case FacecastFrameFormat.Bgra32:
                        for (int x = 0; x < w; x++, s += 4, d += 4)
                        {
                            dst[d] = src[s + 2];
                            dst[d + 1] = src[s + 1];
                            dst[d + 2] = src[s];
                            dst[d + 3] = src[s + 3];
                        }
                        break;
                    case FacecastFrameFormat.Rgb24:
                        for (int x = 0; x < w; x++, s += 3, d += 4)
                        {
                            dst[d] = src[s];
                            dst[d + 1] = src[s + 1];
                            dst[d + 2] = src[s + 2];
                            dst[d + 3] = 255;
                        }
                        break;
                }
            }
        }
    }
}
