namespace Diffusion.ML.TorchSharp.Tests.Native;

/// <summary>
/// A thread that starts a garbage collection and waits for the finalizers, over and over, until disposed: what another
/// thread of a real program does now and then, thousands of times a second. TorchSharp code that leaves a Scalar to
/// the finalizer while libtorch reads it fails under it within seconds (docs/torchsharp-on-linux.md, "Scalars freed
/// during a native call").
/// </summary>
internal sealed class CollectingThread : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public CollectingThread()
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                GC.Collect(0);
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
