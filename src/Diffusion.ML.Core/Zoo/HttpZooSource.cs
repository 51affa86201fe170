using System.Net;
using System.Net.Http.Headers;

namespace Diffusion.ML.Zoo;

/// <summary>Zoo files on an HTTP server (a hub's <c>resolve/main</c> URL or any static server), with Range requests for resume.</summary>
internal sealed class HttpZooSource(HttpClient client, Uri baseUri) : IZooSource
{
    private readonly Uri _base = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");

    public string Locate(string relativePath) => new Uri(_base, string.Join('/', relativePath.Split('/').Select(Uri.EscapeDataString))).AbsoluteUri;

    public async Task<ZooReadStream> OpenAsync(string relativePath, long offset, CancellationToken cancellationToken)
    {
        string url = Locate(relativePath);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            var status = response.StatusCode;
            if (status is HttpStatusCode.NotFound or HttpStatusCode.Gone)
                throw new ZooException(ZooErrorKind.NotFound,
                    $"The zoo server has no {url} (HTTP {(int)status} {response.ReasonPhrase}). Check the base URL (it must be the folder that holds " +
                    "manifest.json and one folder per model) and that the mirror is complete; retrying does not help.");
            if (offset > 0 && (status == HttpStatusCode.RequestedRangeNotSatisfiable ||
                               status == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != offset))
            {
                response.Dispose(); // the partial file does not fit the server's copy: start again from byte 0
                return await OpenAsync(relativePath, 0, cancellationToken).ConfigureAwait(false);
            }
            if (status is >= HttpStatusCode.InternalServerError or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
                throw new HttpRequestException($"HTTP {(int)status} {response.ReasonPhrase} from {url}", null, status);
            if (!response.IsSuccessStatusCode)
                throw new ZooException(ZooErrorKind.HttpError,
                    $"The zoo server refused {url} (HTTP {(int)status} {response.ReasonPhrase}). Check the base URL and that the files are public; retrying does not help.");
            long start = status == HttpStatusCode.PartialContent ? offset : 0;
            var content = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ZooReadStream(content, start, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
