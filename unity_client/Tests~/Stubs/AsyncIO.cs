// Compile-only stand-in for AsyncIO.dll (NetMQ's dependency, its own assembly "AsyncIO"). Not shipped.
namespace AsyncIO
{
    public static class ForceDotNet { public static void Force() { } }
}
