namespace Diffusion.ML.Zoo;

/// <summary>What went wrong in a zoo operation; each kind has its own remedy (see docs/zoo.md).</summary>
public enum ZooErrorKind
{
    /// <summary>The manifest is not valid JSON or breaks a rule of the format.</summary>
    CorruptManifest,

    /// <summary>No model with the requested id is in the manifest.</summary>
    UnknownModel,

    /// <summary>The server or mirror answered 404/410 or the file is missing from the mirror folder.</summary>
    NotFound,

    /// <summary>The server answered with an error status that retrying does not fix (e.g. 401, 403).</summary>
    HttpError,

    /// <summary>The downloaded bytes do not have the size or SHA-256 the manifest records.</summary>
    ChecksumMismatch,

    /// <summary>The disk of the cache is full.</summary>
    DiskFull,

    /// <summary>Writing into the cache failed for another reason (permissions, a read-only file system).</summary>
    CacheWriteFailed,

    /// <summary>The download kept failing (connection dropped, timeouts, server errors) after every retry.</summary>
    NetworkFailure,

    /// <summary>Offline mode, and neither the cache nor the in-repository zoo holds the file.</summary>
    OfflineNotCached,

    /// <summary>Another process held the cache lock longer than the configured wait.</summary>
    LockTimeout,

    /// <summary>The base URL is neither http(s)://, file:// nor an existing folder.</summary>
    InvalidBaseUrl,
}

/// <summary>A zoo operation failed; <see cref="Exception.Message"/> says what was wrong and how to fix it.</summary>
public sealed class ZooException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="message">What was wrong and what to do about it.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public ZooException(ZooErrorKind kind, string message, Exception? innerException = null) : base(message, innerException) => Kind = kind;

    /// <summary>What went wrong.</summary>
    public ZooErrorKind Kind { get; }
}
