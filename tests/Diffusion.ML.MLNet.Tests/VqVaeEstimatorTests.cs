using Diffusion.ML.TorchSharp.Autoencoders;
using Microsoft.ML;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>The VQ-VAE estimator: codes as ML.NET keys equal to TorchSharp's argmin, quantised latents, decoder, save/load, schema errors.</summary>
[TestClass]
public sealed class VqVaeEstimatorTests
{
    private const int Codebook = 16;
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-mlnet-vqvae").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private VqVaeEstimator.Options Tiny(long steps = 3) => new()
    {
        Steps = steps, BatchSize = 8, LevelChannels = [8, 8], GroupNormGroups = 4, CodebookSize = Codebook, CodeDimension = 3, WarmupSteps = 1,
        QuantizedColumnName = "Quantized", CheckpointFolder = Path.Combine(_dir, "ckpt"), CheckpointEvery = 0,
    };

    [TestMethod]
    public void CodesLatentsAndDecodedImagesEqualTheTrainedTorchSharpModel()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 24);
        var vqvae = ml.Diffusion().TrainVqVae("Codes", "Pixels", Tiny()).Fit(images);
        Assert.AreEqual(Codebook, vqvae.CodebookSize);
        CollectionAssert.AreEqual(new[] { 3, 4, 4 }, vqvae.LatentShape.ToArray());

        var encoded = vqvae.Transform(images);
        var codeType = (VectorDataViewType)encoded.Schema["Codes"].Type;
        Assert.AreEqual(16, codeType.Size);
        Assert.IsInstanceOfType<KeyDataViewType>(codeType.ItemType);
        Assert.AreEqual((ulong)Codebook, ((KeyDataViewType)codeType.ItemType).Count);
        uint[] keys = encoded.GetColumn<uint[]>("Codes").SelectMany(c => c).ToArray();
        float[] quantized = TestData.Column(encoded, "Quantized").SelectMany(q => q).ToArray();

        // Independent path: the checkpoint's EMA model on TorchSharp, pixels mapped to [-1, 1] by hand.
        using var model = (VqVae)AutoencoderCheckpoint.Load(Path.Combine(_dir, "ckpt", "vqvae.ckpt")).LoadModel(useEma: true);
        using var x = tensor(TestData.Rows(24).SelectMany(r => r.Pixels.Select(p => p / 127.5f - 1f)).ToArray(), [24, 1, 8, 8]);
        using var indices = model.EncodeIndices(x);
        long[] expectedCodes = indices.data<long>().ToArray();
        CollectionAssert.AreEqual(expectedCodes.Select(c => (uint)(c + 1)).ToArray(), keys, "key k + 1 is code k = argmin_i ||z_e - e_i||^2");
        Assert.IsGreaterThan(1, expectedCodes.Distinct().Count(), "the test sees more than one code");
        using var latents = model.Encode(x);
        VaeEstimatorTests.AssertClose(latents.data<float>().ToArray(), quantized, 1e-4, "quantised latents");

        using var decodedByTorch = model.DecodeIndices(indices);
        float[] expectedPixels = decodedByTorch.data<float>().ToArray().Select(v => (v + 1f) * 127.5f).ToArray();
        var fromCodes = ml.Diffusion().VqVaeDecoder(vqvae, "Decoded", "Codes").Fit(encoded).Transform(encoded);
        VaeEstimatorTests.AssertClose(expectedPixels, TestData.Column(fromCodes, "Decoded").SelectMany(p => p).ToArray(), 2e-3, "pixels decoded from the codes, [0, 255]");
        var fromLatents = ml.Diffusion().VqVaeDecoder(vqvae, "Decoded", "Quantized", PixelRange.Unit).Fit(encoded).Transform(encoded);
        VaeEstimatorTests.AssertClose(expectedPixels.Select(p => p / 255f).ToArray(), TestData.Column(fromLatents, "Decoded").SelectMany(p => p).ToArray(), 1e-5,
            "pixels decoded from the quantised latents, [0, 1]");
    }

    [TestMethod]
    public void APipelineWithTheCodesAndTheDecoderSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 16);
        var vqvae = ml.Diffusion().TrainVqVae("Codes", "Pixels", Tiny(2)).Fit(images);
        var model = new TransformerChain<ITransformer>(vqvae).Append(ml.Diffusion().VqVaeDecoder(vqvae, "Decoded", "Codes").Fit(vqvae.Transform(images)));
        var before = model.Transform(images);
        string zip = Path.Combine(_dir, "vqvae.zip");
        ml.Model.Save(model, images.Schema, zip);

        var loaded = new MLContext().Model.Load(zip, out _);
        var after = loaded.Transform(images);
        var codeType = (VectorDataViewType)after.Schema["Codes"].Type;
        Assert.AreEqual((ulong)Codebook, ((KeyDataViewType)codeType.ItemType).Count, "the key count survives Save/Load");
        CollectionAssert.AreEqual(before.GetColumn<uint[]>("Codes").SelectMany(c => c).ToArray(), after.GetColumn<uint[]>("Codes").SelectMany(c => c).ToArray(), "codes");
        foreach (string column in new[] { "Quantized", "Decoded" })
            CollectionAssert.AreEqual(TestData.Column(before, column).SelectMany(v => v).ToArray(), TestData.Column(after, column).SelectMany(v => v).ToArray(), column);

        // The key values are the codes: MapKeyToValue gives them back as Int64.
        var values = ml.Transforms.Conversion.MapKeyToValue("Code", "Codes").Fit(after).Transform(after).GetColumn<long[]>("Code").SelectMany(c => c);
        CollectionAssert.AreEqual(after.GetColumn<uint[]>("Codes").SelectMany(c => c).Select(k => (long)k - 1).ToArray(), values.ToArray());
    }

    [TestMethod]
    public void SchemaErrorsAreClear()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 8);
        var estimator = ml.Diffusion().TrainVqVae("Codes", "Pixels", Tiny(1));
        var shape = estimator.GetOutputSchema(ImageShape(ml));
        var codes = shape.Single(c => c.Name == "Codes");
        Assert.IsTrue(codes.IsKey && codes.Kind == SchemaShape.Column.VectorKind.VariableVector, "codes: a vector of keys, its size known after Fit");
        Assert.AreEqual(NumberDataViewType.Single, shape.Single(c => c.Name == "Quantized").ItemType);
        var sized = Tiny(1);
        sized.ImageShape = [1, 8, 8];
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, ml.Diffusion().TrainVqVae("Codes", "Pixels", sized).GetOutputSchema(ImageShape(ml)).Single(c => c.Name == "Codes").Kind,
            "with ImageShape set, the code vector has a known size");
        var wrongType = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainVqVae("Codes", "Label", Tiny()).GetOutputSchema(ImageShape(ml)));
        StringAssert.Contains(wrongType.Message, "Column 'Label' must be a known-size vector of Single");

        var vqvae = estimator.Fit(images);
        var odd = ml.Data.LoadFromEnumerable(new[] { new OddRow() });
        var wrongSize = Assert.ThrowsExactly<ArgumentException>(() => vqvae.Transform(odd));
        StringAssert.Contains(wrongSize.Message, "this VQ-VAE encodes 1x8x8 = 64");

        var decoder = ml.Diffusion().VqVaeDecoder(vqvae, "Decoded", "Pixels");
        var notLatents = Assert.ThrowsExactly<ArgumentException>(() => decoder.Fit(images));
        StringAssert.Contains(notLatents.Message, "decodes quantised latents of 3x4x4 = 48");
        var labels = ml.Transforms.Conversion.MapValueToKey("Pixels", "Pixels").Fit(images).Transform(images);
        var otherKeys = Assert.ThrowsExactly<ArgumentException>(() => decoder.Fit(labels));
        StringAssert.Contains(otherKeys.Message, $"this VQ-VAE's codes are Key<UInt32, 0-{Codebook - 1}>");
        // A missing key (0) is no code: decoding it fails in ONNX Runtime instead of reading code K - 1.
        var missingKey = ml.Data.LoadFromEnumerable(new[] { new KeyRow() });
        var failure = Assert.Throws<Exception>(() => ml.Diffusion().VqVaeDecoder(vqvae, "Decoded", "Codes").Fit(missingKey).Transform(missingKey).GetColumn<float[]>("Decoded").ToList());
        while (failure.InnerException is not null) failure = failure.InnerException;
        StringAssert.Contains(failure.Message, $"idx={Codebook}");
        var scalar = Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().VqVaeDecoder(vqvae, "Decoded", "Label").GetOutputSchema(ImageShape(ml)));
        StringAssert.Contains(scalar.Message, "Column 'Label' is a scalar");
    }

    /// <summary>The shape of <see cref="TestData.ImageRow"/> (SchemaShape.Create is internal to ML.NET; a CustomMapping estimator describes the columns).</summary>
    private static SchemaShape ImageShape(MLContext ml) =>
        ml.Transforms.CustomMapping<NoInput, TestData.ImageRow>((_, _) => { }, contractName: null).GetOutputSchema(new SchemaShape([]));

    private sealed class NoInput;

    private sealed class KeyRow
    {
        [VectorType(16), KeyType(Codebook)]
        public uint[] Codes { get; set; } = new uint[16];
    }

    private sealed class OddRow
    {
        [VectorType(10)]
        public float[] Pixels { get; set; } = new float[10];
    }
}
