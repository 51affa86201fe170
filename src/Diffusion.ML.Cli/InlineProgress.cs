namespace Diffusion.ML.Cli;

/// <summary>An <see cref="IProgress{T}"/> that calls its handler on the reporting thread (System.Progress posts to a context instead).</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
