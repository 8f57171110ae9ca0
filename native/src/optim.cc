// Optimizer kernels. The state tensors (moments) are owned by JavaScript, so optimizer state
// is checkpointed like any other tensor; the per-parameter update loop runs here in C++.
#include "engine.h"
#include <cmath>

namespace orma {
namespace {

// adamStep(params, expAvg, expAvgSq, steps(number[]), lr, beta1, beta2, eps, weightDecay, decoupled)
// decoupled=false is torch.optim.Adam (L2 added to the gradient); true is AdamW.
// Parameters without a gradient are skipped and their step count is not advanced by the caller.
Napi::Value adamStep(const Napi::CallbackInfo& info) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> params = tensorList(info, 0), m = tensorList(info, 1), v = tensorList(info, 2);
  Napi::Array steps = info[3].As<Napi::Array>();
  const double lr = D(info, 4), b1 = D(info, 5), b2 = D(info, 6), eps = D(info, 7), wd = D(info, 8);
  const bool decoupled = B(info, 9);
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor& p = params[i];
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    const double step = steps.Get(static_cast<uint32_t>(i)).As<Napi::Number>().DoubleValue();
    if (wd != 0) {
      if (decoupled) p.mul_(1 - lr * wd);
      else g = g.add(p, wd);
    }
    m[i].mul_(b1).add_(g, 1 - b1);
    v[i].mul_(b2).addcmul_(g, g, 1 - b2);
    const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
    at::Tensor denom = (v[i].sqrt() / std::sqrt(bc2)).add_(eps);
    p.addcdiv_(m[i], denom, -lr / bc1);
  }
  return info.Env().Undefined();
}

// clipGradNorm(params, maxNorm) -> total L2 norm of all gradients before clipping (as torch.nn.utils.clip_grad_norm_)
Napi::Value clipGradNorm(const Napi::CallbackInfo& info) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> params = tensorList(info, 0);
  const double maxNorm = D(info, 1);
  std::vector<at::Tensor> norms;
  for (auto& p : params) if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return Napi::Number::New(info.Env(), 0);
  const double total = at::stack(norms).norm(2).item<double>();
  const double coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (auto& p : params) if (p.grad().defined()) p.mutable_grad().mul_(coef);
  return Napi::Number::New(info.Env(), total);
}

}  // namespace

void registerOptim(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "adamStep", adamStep);
  registerOp(env, exports, "clipGradNorm", clipGradNorm);
}

}  // namespace orma
