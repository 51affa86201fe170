using Diffusion.ML.Zoo;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>Parsing and checking zoo manifests.</summary>
[TestClass]
public sealed class ZooManifestTests
{
    private static string ValidJson() => ZooTestModels.Manifest(("model.bin", [1, 2, 3])).ToJson();

    [TestMethod]
    public void RoundTripsThroughJson()
    {
        var manifest = ZooManifest.Parse(ValidJson(), "test");
        var model = manifest.Find(ZooTestModels.Id);
        Assert.AreEqual("1.0.0", model.Version);
        Assert.AreEqual(3L, model.TotalSize);
        Assert.AreEqual("039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81", model.Files[0].Sha256);
        Assert.AreEqual(4, model.Architecture.Config.GetProperty("width").GetInt32());
        Assert.AreEqual("echo 0.5", model.Metrics[0].Command);
        Assert.AreEqual(ValidJson(), manifest.ToJson());
    }

    [TestMethod]
    [DataRow("{ \"formatVersion\": 1, \"models\": [", "manifest.json")]
    [DataRow("null", "null")]
    [DataRow("{ \"formatVersion\": 1 }", "models")]
    [DataRow("{ \"formatVersion\": 2, \"models\": [] }", "formatVersion is 2")]
    [DataRow("{ \"formatVersion\": 1, \"models\": [] }", "lists no models")]
    public void RejectsACorruptManifestClearly(string json, string expected)
    {
        var e = Assert.ThrowsExactly<ZooException>(() => ZooManifest.Parse(json, "/srv/zoo/manifest.json"));
        Assert.AreEqual(ZooErrorKind.CorruptManifest, e.Kind);
        StringAssert.Contains(e.Message, "/srv/zoo/manifest.json");
        StringAssert.Contains(e.Message, expected);
        StringAssert.Contains(e.Message, "docs/zoo.md");
    }

    [TestMethod]
    [DataRow("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\", \"colour\": \"red\"", "colour")]
    [DataRow("\"size\": 3", "\"size\": \"three\"", "size")]
    [DataRow("\"size\": 3", "\"size\": -3", "negative")]
    [DataRow("\"sha256\": \"039058c6", "\"sha256\": \"039058C6", "64 lower-case hex digits")]
    [DataRow("\"path\": \"model.bin\"", "\"path\": \"../model.bin\"", "'..'")]
    [DataRow("\"path\": \"model.bin\"", "\"path\": \"/etc/passwd\"", "relative")]
    [DataRow("\"path\": \"model.bin\"", "\"path\": \"model.bin.part\"", "reserved")]
    [DataRow("\"id\": \"tiny-test-model\"", "\"id\": \"Tiny Model\"", "lower-case letters")]
    [DataRow("\"version\": \"1.0.0\"", "\"version\": \"../1\"", "path")]
    [DataRow("\"command\": \"echo 0.5\"", "\"command\": \" \"", "no command")]
    [DataRow("\"license\": \"MIT\",", "", "license")]
    public void RejectsABrokenRule(string original, string replacement, string expected)
    {
        string json = ValidJson();
        Assert.Contains(original, json, "the test edits a field that exists");
        var e = Assert.ThrowsExactly<ZooException>(() => ZooManifest.Parse(json.Replace(original, replacement), "m.json"));
        Assert.AreEqual(ZooErrorKind.CorruptManifest, e.Kind);
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void FindsAModelByIdOrByIdAtItsVersion()
    {
        var manifest = ZooTestModels.Manifest(("model.bin", [1]));
        var model = manifest.Find(ZooTestModels.Id);
        Assert.AreEqual("tiny-test-model@1.0.0", model.Reference);
        Assert.AreSame(model, manifest.Find("tiny-test-model@1.0.0"));

        var e = Assert.ThrowsExactly<ZooException>(() => manifest.Find("tiny-test-model@2.0.0"));
        Assert.AreEqual(ZooErrorKind.UnknownModel, e.Kind);
        StringAssert.Contains(e.Message, "version 1.0.0");
        StringAssert.Contains(e.Message, "not 2.0.0");
        e = Assert.ThrowsExactly<ZooException>(() => manifest.Find("other-model@1.0.0"));
        StringAssert.Contains(e.Message, "Known models: tiny-test-model");
    }

    [TestMethod]
    [DataRow("fashion-mnist-unet32", true)]
    [DataRow("fashion-mnist-unet32@1.0.0", true)]
    [DataRow("model.ckpt", true)]
    [DataRow("runs/model.ckpt", false)]
    [DataRow("Model", false)]
    [DataRow("model@", false)]
    [DataRow("model@1/2", false)]
    [DataRow("model@1@2", false)]
    [DataRow("@1.0.0", false)]
    public void TellsAReferenceFromAPath(string text, bool isReference) => Assert.AreEqual(isReference, ZooManifest.IsReference(text), text);

    [TestMethod]
    public void RejectsDuplicateModels()
    {
        var one = ZooTestModels.Manifest(("model.bin", [1]));
        var twice = one with { Models = [one.Models[0], one.Models[0]] };
        var e = Assert.ThrowsExactly<ZooException>(() => ZooManifest.Parse(twice.ToJson(), "m.json"));
        StringAssert.Contains(e.Message, "appears twice");
    }

    [TestMethod]
    public void LoadNamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dml-zoo-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{\"formatVersion\": 1, \"models\": 7}");
        try
        {
            var e = Assert.ThrowsExactly<ZooException>(() => ZooManifest.Load(path));
            StringAssert.Contains(e.Message, path);
            StringAssert.Contains(e.Message, "$.models");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
