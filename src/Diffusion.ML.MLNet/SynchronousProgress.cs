namespace Diffusion.ML.MLNet;

/// <summary>Reports on the caller's thread (<see cref="Progress{T}"/> posts to the thread pool, which would reorder reports).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
