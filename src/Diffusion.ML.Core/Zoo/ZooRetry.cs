namespace Diffusion.ML.Zoo;

/// <summary>Runs an attempt again after transient failures, with exponential back-off bounded by the client's options.</summary>
internal static class ZooRetry
{
    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, a <see cref="ZooException"/> (permanent) escapes, or
    /// <see cref="ZooClientOptions.MaxRetries"/> retries have failed, which becomes a <see cref="ZooErrorKind.NetworkFailure"/>
    /// naming <paramref name="what"/> and ending with <paramref name="advice"/>.
    /// </summary>
    public static async Task<T> RunAsync<T>(ZooClientOptions options, string what, string advice,
        Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var delay = options.RetryDelay;
        for (int failures = 0; ; failures++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                if (failures >= options.MaxRetries)
                    throw new ZooException(ZooErrorKind.NetworkFailure,
                        $"{what} failed {failures + 1} times; the last error: {e.Message}. {advice}", e);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRetryDelay.Ticks));
            }
        }
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        ZooException => false,
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // a timeout, not the caller's cancellation
        HttpRequestException or IOException or TimeoutException => true,
        _ => false,
    };
}
