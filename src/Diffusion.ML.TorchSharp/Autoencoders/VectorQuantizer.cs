using Diffusion.ML.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The VQ-VAE bottleneck (van den Oord et al. 2017): a codebook of K codes e_i in R^D, nearest-code quantisation
/// z_q = e_k with k = argmin_i ||z_e - e_i||^2 (eq. 1-2), the straight-through gradient, and optionally the EMA codebook
/// updates of App. A.1 with Laplace-smoothed cluster sizes, dead-code restarts and a k-means initialisation.
/// State (buffers, saved with the module): the moving-average cluster sizes N [K], the moving sums m [K, D], and whether
/// the codebook has been initialised.
/// </summary>
public sealed partial class VectorQuantizer : nn.Module<Tensor, Tensor>
{
    private const string ClusterSizeName = "clusterSize", EmbedSumName = "embedSum", InitialisedName = "initialised";
    private readonly Parameter codebook;

    /// <summary>Creates the quantizer: codes drawn from N(0, 1) (TorchSharp's global generator), N_i = 1 and m_i = e_i, so
    /// e_i = m_i / N_i holds from the start and an unused code keeps its vector while its count decays.</summary>
    /// <param name="options">Codebook options (<see cref="VqVaeOptions.CodebookSize"/>, <see cref="VqVaeOptions.CodeDimension"/>, the EMA and restart settings).</param>
    public VectorQuantizer(VqVaeOptions options) : base(nameof(VectorQuantizer))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        int k = options.CodebookSize, d = options.CodeDimension;
        codebook = new Parameter(randn(k, d), requires_grad: !options.EmaUpdates);
        RegisterComponents();
        using (no_grad())
        {
            register_buffer(ClusterSizeName, ones(k));
            register_buffer(EmbedSumName, codebook.detach().clone());
            register_buffer(InitialisedName, options.KMeansInit ? zeros(1) : ones(1));
        }
    }

    /// <summary>The options.</summary>
    public VqVaeOptions Options { get; }

    /// <summary>Number of codes K.</summary>
    public int CodebookSize => Options.CodebookSize;

    /// <summary>The codebook e, <c>[K, D]</c> (the live parameter).</summary>
    public Tensor Codebook => get_parameter("codebook")!;

    /// <summary>The moving-average cluster sizes N, <c>[K]</c> (the live buffer).</summary>
    public Tensor ClusterSize => get_buffer(ClusterSizeName)!;

    /// <summary>The moving sums m of the vectors assigned to each code, <c>[K, D]</c> (the live buffer).</summary>
    public Tensor EmbedSum => get_buffer(EmbedSumName)!;

    /// <summary>Whether the codebook has been initialised (always, unless k-means initialisation is pending).</summary>
    public bool IsInitialised => get_buffer(InitialisedName)!.item<float>() > 0;

    /// <summary>Index of the nearest code of each row, by ||z||^2 - 2 z.e + ||e||^2 (van den Oord et al. 2017, eq. 1).</summary>
    /// <param name="flat">Vectors <c>[N, D]</c>.</param>
    /// <returns>int64 <c>[N]</c>.</returns>
    public Tensor NearestCodes(Tensor flat)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var e = Codebook;
        var distances = flat.square().sum([1], keepdim: true) - 2 * flat.matmul(e.t()) + e.square().sum([1]).unsqueeze(0);
        return distances.argmin(1).MoveToOuterDisposeScope();
    }

    /// <summary>The codes of a grid of indices <c>[B, h, w]</c> as a latent grid <c>[B, D, h, w]</c>.</summary>
    /// <param name="indices">int64 code indices <c>[B, h, w]</c>.</param>
    public Tensor Lookup(Tensor indices)
    {
        using var scope = NewDisposeScope();
        var rows = Codebook.index_select(0, indices.reshape(-1));
        return rows.reshape(indices.shape[0], indices.shape[1], indices.shape[2], -1).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Quantises without training side effects (same as <see cref="Quantize"/> with no noise): z_q, <c>[B, D, h, w]</c>.</summary>
    /// <param name="z">Encoder outputs <c>[B, D, h, w]</c>.</param>
    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        return Lookup(Indices(z)).MoveToOuterDisposeScope();
    }

    /// <summary>The nearest-code indices of a latent grid <c>[B, D, h, w]</c>: int64 <c>[B, h, w]</c>.</summary>
    /// <param name="z">Encoder outputs.</param>
    public Tensor Indices(Tensor z)
    {
        using var scope = NewDisposeScope();
        long b = z.shape[0], h = z.shape[2], w = z.shape[3];
        return NearestCodes(Flatten(z)).reshape(b, h, w).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Quantises encoder outputs. In training mode with a <paramref name="noise"/> stream it also runs the pending k-means
    /// initialisation (before quantising), then updates the cluster sizes (and, with EMA updates, the codebook) and restarts
    /// dead codes (after quantising: this batch's quantisation uses the codebook it started with).
    /// </summary>
    /// <param name="z">Encoder outputs z_e <c>[B, D, h, w]</c>.</param>
    /// <param name="noise">The step's random stream; null for no state updates.</param>
    public Quantization Quantize(Tensor z, SampleNoise? noise)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.dim() != 4 || z.shape[1] != Options.CodeDimension)
            throw new ArgumentException($"The quantizer takes [batch, {Options.CodeDimension}, h, w]; got [{string.Join(", ", z.shape)}].", nameof(z));
        bool update = training && noise is not null;
        var flat = Flatten(z);
        if (update && !IsInitialised) KMeansInitialise(flat.detach(), noise!);
        var indices = NearestCodes(flat.detach());
        var quantisedFlat = Codebook.index_select(0, indices);
        var counts = nn.functional.one_hot(indices, CodebookSize).to_type(ScalarType.Float32).sum([0]);
        var codebookLoss = (quantisedFlat - flat.detach()).square().mean();    // ||sg[z_e] - e||^2, eq. 3
        var commitmentLoss = (flat - quantisedFlat.detach()).square().mean();  // ||z_e - sg[e]||^2, eq. 3
        long b = z.shape[0], h = z.shape[2], w = z.shape[3];
        var quantised = quantisedFlat.detach().reshape(b, h, w, -1).permute(0, 3, 1, 2);
        var straightThrough = z + (quantised - z).detach();                   // straight-through estimator, Sec. 3.2
        if (update)
        {
            UpdateCodebook(flat.detach(), indices);
            RestartDeadCodes(flat.detach(), noise!);
        }
        return new Quantization(straightThrough, indices.reshape(b, h, w), codebookLoss, commitmentLoss, counts);
    }

    /// <summary>
    /// One EMA step on vectors <paramref name="flat"/> assigned to codes <paramref name="indices"/> (van den Oord et al. 2017,
    /// App. A.1, eq. 6-8): N_i = gamma N_i + (1 - gamma) n_i, m_i = gamma m_i + (1 - gamma) sum_j z_ij, and with EMA updates
    /// e_i = m_i / N~_i using the Laplace-smoothed N~_i = (N_i + eps) / (n + K eps) n, n = sum_i N_i (which keeps N~_i &gt; 0 for
    /// unused codes). Without EMA updates only N is tracked (to find dead codes).
    /// </summary>
    /// <param name="flat">Vectors <c>[N, D]</c> (no gradient).</param>
    /// <param name="indices">Their codes, int64 <c>[N]</c>.</param>
    public void UpdateCodebook(Tensor flat, Tensor indices)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double gamma = Options.EmaDecay;
        var oneHot = nn.functional.one_hot(indices, CodebookSize).to_type(flat.dtype);   // [N, K]
        var n = oneHot.sum([0]);                                                          // n_i
        ClusterSize.mul_(gamma).add_(n, alpha: 1 - gamma);                                // eq. 6
        if (!Options.EmaUpdates) return;
        EmbedSum.mul_(gamma).add_(oneHot.t().matmul(flat), alpha: 1 - gamma);            // eq. 7
        var total = ClusterSize.sum();
        double eps = Options.LaplaceEpsilon;
        var smoothed = (ClusterSize + eps) / (total + CodebookSize * eps) * total;         // Laplace smoothing
        Codebook.copy_(EmbedSum / smoothed.unsqueeze(1));                                  // eq. 8
    }

    /// <summary>
    /// Restarts every code with N_i below <see cref="VqVaeOptions.DeadCodeThreshold"/> at a random row of
    /// <paramref name="flat"/> (Jukebox, Dhariwal et al. 2020, Sec. 3.3): e_i = z, and with EMA m_i = z; N_i = 1.
    /// </summary>
    /// <param name="flat">Recent encoder outputs <c>[N, D]</c>.</param>
    /// <param name="noise">Chooses the rows.</param>
    /// <returns>How many codes were restarted.</returns>
    public int RestartDeadCodes(Tensor flat, SampleNoise noise)
    {
        if (Options.DeadCodeThreshold <= 0) return 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        float[] sizes = ClusterSize.cpu().data<float>().ToArray();
        var dead = Enumerable.Range(0, sizes.Length).Where(i => sizes[i] < Options.DeadCodeThreshold).ToArray();
        if (dead.Length == 0) return 0;
        long rows = flat.shape[0];
        var chosen = dead.Select(_ => (long)Math.Min(rows - 1, noise.NextUniform() * rows)).ToArray();
        var deadIndex = tensor(dead.Select(i => (long)i).ToArray(), device: flat.device);
        var replacements = flat.index_select(0, tensor(chosen, device: flat.device));
        Codebook.index_copy_(0, deadIndex, replacements);
        EmbedSum.index_copy_(0, deadIndex, replacements);
        ClusterSize.index_fill_(0, deadIndex, 1.0);
        return dead.Length;
    }

    /// <summary>
    /// Lloyd's k-means on <paramref name="flat"/> (centres started at K random rows, <see cref="VqVaeOptions.KMeansIterations"/>
    /// iterations; an empty cluster keeps its centre), then e = centres, N_i = max(1, cluster size), m_i = N_i e_i.
    /// </summary>
    /// <param name="flat">Encoder outputs <c>[N, D]</c>.</param>
    /// <param name="noise">Chooses the starting rows.</param>
    public void KMeansInitialise(Tensor flat, SampleNoise noise)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long rows = flat.shape[0];
        var start = Enumerable.Range(0, CodebookSize).Select(_ => (long)Math.Min(rows - 1, noise.NextUniform() * rows)).ToArray();
        Codebook.copy_(flat.index_select(0, tensor(start, device: flat.device)));
        Tensor counts = zeros(CodebookSize, device: flat.device);
        for (int iteration = 0; iteration < Options.KMeansIterations; iteration++)
        {
            var oneHot = nn.functional.one_hot(NearestCodes(flat), CodebookSize).to_type(flat.dtype); // [N, K]
            counts = oneHot.sum([0]);
            var sums = oneHot.t().matmul(flat);
            var used = (counts > 0).unsqueeze(1);
            Codebook.copy_(where(used, sums / counts.clamp_min(1).unsqueeze(1), Codebook));
        }
        var sizes = counts.clamp_min(1);
        ClusterSize.copy_(sizes);
        EmbedSum.copy_(Codebook * sizes.unsqueeze(1));
        get_buffer(InitialisedName)!.fill_(1.0);
    }

    /// <summary><c>[B, D, h, w]</c> to rows <c>[B h w, D]</c>.</summary>
    private Tensor Flatten(Tensor z) => z.permute(0, 2, 3, 1).reshape(-1, Options.CodeDimension);
}
