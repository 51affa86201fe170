using Diffusion.ML.Sampling;
using Diffusion.ML.ScoreSde;

namespace Diffusion.ML.Core.Tests.Sampling;

[TestClass]
public sealed class SamplerSettingsTests
{
    [TestMethod]
    public void EveryNameBuildsWithItsDefaults()
    {
        foreach (string name in Samplers.Names)
            Assert.IsNotNull(Samplers.Create(name), name);
        Assert.AreEqual(0.0, ((DdimSampler)Samplers.Create("ddim")).Eta);
        Assert.AreEqual(1.0, ((EulerAncestralSampler)Samplers.Create("euler-ancestral")).Eta, "ancestral sampling by default");
    }

    [TestMethod]
    public void OptionsReachTheSampler()
    {
        Assert.AreEqual(0.5, ((DdimSampler)Samplers.Create("ddim", new SamplerSettings { Eta = 0.5 })).Eta);
        Assert.AreEqual(3, ((UniPcSampler)Samplers.Create("unipc", new SamplerSettings { Order = 3 })).Order);
        var heun = (HeunSampler)Samplers.Create("heun", new SamplerSettings { SChurn = 40, UseKarrasSigmas = false, Rho = 5 });
        Assert.AreEqual(40.0, heun.SChurn);
        Assert.IsFalse(heun.UseKarrasSigmas);
        Assert.AreEqual(5.0, heun.Rho);
        Assert.AreEqual(0.01, ((PredictorCorrectorSampler)Samplers.Create("sde-pc", new SamplerSettings { Snr = 0.01 })).Snr);
        Assert.AreEqual(1e-3, ((ProbabilityFlowOdeSampler)Samplers.Create("pf-ode-rk45", new SamplerSettings { RelativeTolerance = 1e-3 })).RelativeTolerance);
        Assert.AreEqual(0.3, ((DdimSampler)Samplers.Create("ddim", 0.3)).Eta, "the eta overload");
    }

    [TestMethod]
    public void AnOptionTheSamplerDoesNotHaveIsRefused()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Samplers.Create("ddim", new SamplerSettings { SChurn = 1 }));
        StringAssert.Contains(ex.Message, "has no option SChurn");
        StringAssert.Contains(ex.Message, "Eta");
        Assert.ThrowsExactly<ArgumentException>(() => Samplers.Create("plms", new SamplerSettings { Order = 2 }));
        Assert.ThrowsExactly<ArgumentException>(() => Samplers.Create("no-such-sampler"));
    }
}
