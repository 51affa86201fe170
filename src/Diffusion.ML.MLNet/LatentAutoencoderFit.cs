using Diffusion.ML.TorchSharp.Autoencoders;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The Fit that <see cref="VaeEstimator"/> and <see cref="VqVaeEstimator"/> share: check the options and the image column,
/// read the images, train with the library's <see cref="AutoencoderTrainer"/> (resuming from the checkpoint folder,
/// reporting progress to the options and <c>MLContext.Log</c>, stopping on cancellation), and hand the weights to export
/// (the EMA's when kept) to the estimator while they are alive.
/// </summary>
internal static class LatentAutoencoderFit
{
    /// <summary>Trains an autoencoder on <paramref name="input"/> and returns what <paramref name="export"/> makes of the trained model.</summary>
    /// <typeparam name="TModel">The autoencoder type.</typeparam>
    /// <typeparam name="TTransformer">The estimator's transformer.</typeparam>
    /// <param name="mlContext">The context (its log receives the messages).</param>
    /// <param name="options">The estimator's options.</param>
    /// <param name="component">"vae" or "vqvae": the log source suffix, the progress component and the checkpoint file name.</param>
    /// <param name="displayName">The model's name in messages ("VAE", "VQ-VAE").</param>
    /// <param name="input">The training rows.</param>
    /// <param name="inputColumnName">The image column.</param>
    /// <param name="configure">Builds and validates the model options for a backbone, and returns the constructor of a fresh model.</param>
    /// <param name="export">Makes the transformer from the model to export.</param>
    public static TTransformer Run<TModel, TTransformer>(MLContext mlContext, LatentAutoencoderOptions options, string component, string displayName,
        IDataView input, string inputColumnName, Func<ConvBackboneOptions, Func<TModel>> configure, Func<TModel, TTransformer> export)
        where TModel : ImageAutoencoder
    {
        ArgumentNullException.ThrowIfNull(input);
        options.ValidateCommon();
        options.PixelRange.Validate(nameof(options.PixelRange));
        int[] shape = ImageColumns.ResolveShape(input.Schema, inputColumnName, options.ImageShape, nameof(options.ImageShape));
        var create = configure(options.Backbone(shape));
        var trainerOptions = new AutoencoderTrainerOptions
        {
            BatchSize = options.BatchSize,
            LearningRate = options.LearningRate ?? 1e-3,
            WarmupSteps = options.WarmupSteps,
            EmaDecay = options.EmaDecay,
            Seed = options.Seed,
        };
        trainerOptions.Validate();
        var data = ImageColumns.Read(input, inputColumnName, shape, options.PixelRange, labelColumnName: null, options.CancellationToken);

        var device = TorchSharpFit.Device(options);
        string? checkpoint = TorchSharpFit.CheckpointPath(options, component + ".ckpt");
        using var reporter = new TrainingReporter(mlContext, component, options);
        AutoencoderTrainer trainer;
        if (checkpoint is not null && File.Exists(checkpoint))
        {
            trainer = AutoencoderTrainer.Resume(checkpoint, data, device);
            reporter.Info($"resumed from {checkpoint} at step {trainer.Step}");
        }
        else
        {
            torch.random.manual_seed(options.Seed); // the initial weights (and a VQ-VAE's initial codebook)
            trainer = new AutoencoderTrainer(create(), data, trainerOptions, device);
        }
        using (trainer)
        using (trainer.Model)
        {
            if (trainer.Model is not TModel)
                throw new InvalidDataException($"Checkpoint '{checkpoint}' holds a '{trainer.Model.Kind}' autoencoder, not a {displayName}; use another CheckpointFolder.");
            reporter.Info($"training a {displayName} ({trainer.Model.ParameterCount:N0} parameters) on {data.Count} images of {string.Join("x", shape)} " +
                $"for {options.Steps} steps on {device}");
            trainer.Train(options.Steps, checkpoint, options.CheckpointEvery,
                new SynchronousProgress<AutoencoderProgress>(p => reporter.Report(p.Step, p.TotalSteps, p.Loss, p.Remaining)), options.CancellationToken);
            return export((TModel)(trainer.Ema?.Model ?? trainer.Model));
        }
    }

    /// <summary>
    /// The schema check of GetOutputSchema before Fit: the image column is present and a vector of Single (the size is
    /// checked at Fit, as a <see cref="SchemaShape"/> does not carry it).
    /// </summary>
    public static void RequireImageColumn(SchemaShape inputSchema, string columnName)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = FindColumn(inputSchema, columnName)
            ?? throw new ArgumentException($"The input has no column '{columnName}'; its columns are {string.Join(", ", inputSchema.Select(c => $"'{c.Name}'"))}.");
        if (column.Kind != SchemaShape.Column.VectorKind.Vector || column.IsKey || column.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{columnName}' must be a known-size vector of Single (e.g. from ExtractPixels); it is {Describe(column)}. " +
                "Convert it with ConvertType or ExtractPixels first.");
    }

    /// <summary>The column named <paramref name="columnName"/>, or null.</summary>
    public static SchemaShape.Column? FindColumn(SchemaShape schema, string columnName)
    {
        foreach (var column in schema)
            if (column.Name == columnName) return column;
        return null;
    }

    /// <summary>A column of a <see cref="SchemaShape"/> in words, e.g. "a variable-size vector of Single".</summary>
    public static string Describe(SchemaShape.Column column) => column.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => $"a scalar {(column.IsKey ? "key" : column.ItemType.ToString())}",
        SchemaShape.Column.VectorKind.VariableVector => $"a variable-size vector of {(column.IsKey ? "keys" : column.ItemType.ToString())}",
        _ => $"a vector of {(column.IsKey ? "keys" : column.ItemType.ToString())}",
    };
}
