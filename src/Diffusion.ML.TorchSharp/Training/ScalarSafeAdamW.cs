using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>Optimizers whose steps own the libtorch scalars they use (see <see cref="AdamW"/>).</summary>
internal static class ScalarSafe
{
    /// <summary>
    /// TorchSharp's AdamW (Loshchilov and Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2) with a step that
    /// owns every <see cref="Scalar"/> it passes to libtorch. TorchSharp 0.107's own step converts doubles to
    /// <see cref="Scalar"/>s implicitly and leaves them to the finalizer; the callee reads only the native handle, so a
    /// garbage collection started by another thread during the native call can free the scalar while libtorch still uses it
    /// ("Expected false to be true ... toFloat", or a wrong update). Reproduced by <c>ScalarSafeAdamWTests</c> with a thread
    /// that forces collections; see docs/torchsharp-on-linux.md. The state (step, exp_avg, exp_avg_sq) and its
    /// serialization are TorchSharp's, so checkpoints written with TorchSharp's <c>optim.AdamW</c>
    /// load unchanged; the class is named AdamW because TorchSharp's saved state starts with the optimizer's class name and
    /// refuses another.
    /// </summary>
    internal sealed class AdamW : global::TorchSharp.Modules.AdamW
    {
        /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
        public AdamW(IEnumerable<Parameter> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
            : base(parameters, lr, beta1, beta2, eps, weightDecay)
        {
        }

        /// <inheritdoc />
        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = (Options)group.Options;
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, lr = options.LearningRate!.Value;
            bool amsgrad = options.amsgrad!.Value, maximize = options.maximize!.Value;
            using Scalar decay = (1 - lr * options.weight_decay!.Value).ToScalar();
            using Scalar beta1Scalar = beta1.ToScalar(), oneMinusBeta1 = (1 - beta1).ToScalar();
            using Scalar beta2Scalar = beta2.ToScalar(), oneMinusBeta2 = (1 - beta2).ToScalar();
            using Scalar eps = options.eps!.Value.ToScalar(), one = 1.ToScalar(); // add_(Scalar) would convert its alpha of 1 implicitly
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null) continue;
                if (maximize) grad = grad.neg();
                var state = (State)_state[param.Handle];
                state.step += 1;
                double biasCorrection1 = 1 - Math.Pow(beta1, state.step), biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                using Scalar sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
                using Scalar negativeStepSize = (-lr / biasCorrection1).ToScalar();

                param.mul_(decay); // theta <- (1 - lr lambda) theta, decoupled weight decay
                state.exp_avg.mul_(beta1Scalar).add_(grad, oneMinusBeta1); // m <- beta1 m + (1 - beta1) g
                state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad, oneMinusBeta2); // v <- beta2 v + (1 - beta2) g^2
                Tensor secondMoment = state.exp_avg_sq;
                if (amsgrad)
                {
                    var previous = state.max_exp_avg_sq;
                    state.max_exp_avg_sq = maximum(previous, state.exp_avg_sq).DetachFromDisposeScope();
                    previous.Dispose();
                    secondMoment = state.max_exp_avg_sq;
                }
                // theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
                var denominator = secondMoment.sqrt().div_(sqrtBiasCorrection2).add_(eps, one);
                param.addcdiv_(state.exp_avg, denominator, negativeStepSize);
            }
        }, closure);
    }
}
