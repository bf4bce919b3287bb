// Stand-in for UnityEngine.UI.dll, the runtime assembly of the com.unity.ugui package (its asmdef,
// com.unity.ugui@1.0.0/Runtime/UnityEngine.UI.asmdef in Unity 2021.3, is named "UnityEngine.UI"; an asmdef
// that uses RawImage must reference that name). Only the types facecast's sample uses. Not shipped.
namespace UnityEngine.UI
{
    public class RawImage : MonoBehaviour
    {
        public Texture texture { get; set; }
    }
}
