// Autograd: requires-grad flags, backward, gradients, grad mode.
#include "engine.h"

namespace orma {

void registerAutograd(Napi::Env env, Napi::Object exports) {
  using Info = Napi::CallbackInfo;
  registerOp(env, exports, "setRequiresGrad", [](const Info& info) -> Napi::Value {
    T(info, 0).requires_grad_(B(info, 1));
    return info.Env().Undefined();
  });
  registerOp(env, exports, "requiresGrad", [](const Info& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad());
  });
  registerOp(env, exports, "isLeaf", [](const Info& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf());
  });
  // backward(h, gradHandle | -1, retainGraph)
  registerOp(env, exports, "backward", [](const Info& info) -> Napi::Value {
    at::Tensor& t = T(info, 0);
    double gh = D(info, 1);
    at::Tensor grad = gh >= 0 ? T(info, 1) : at::Tensor();
    if (!grad.defined() && t.numel() != 1) {
      throw std::invalid_argument("a non-scalar output of shape " + c10::str(t.sizes()) + " needs an explicit gradient");
    }
    t.backward(grad, B(info, 2), false);
    return info.Env().Undefined();
  });
  // grad(h) -> handle of the accumulated gradient, or -1 when there is none
  registerOp(env, exports, "grad", [](const Info& info) -> Napi::Value {
    const at::Tensor& g = T(info, 0).grad();
    if (!g.defined()) return Napi::Number::New(info.Env(), -1);
    return wrap(info.Env(), at::Tensor(g));
  });
  registerOp(env, exports, "zeroGrad", [](const Info& info) -> Napi::Value {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) tensorAt(a.Get(k).As<Napi::Number>().Uint32Value()).mutable_grad().reset();
    return info.Env().Undefined();
  });
  registerOp(env, exports, "detach", [](const Info& info) -> Napi::Value {
    return wrap(info.Env(), T(info, 0).detach());
  });
  registerOp(env, exports, "setGradEnabled", [](const Info& info) -> Napi::Value {
    bool prev = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(B(info, 0));
    return Napi::Boolean::New(info.Env(), prev);
  });
  registerOp(env, exports, "isGradEnabled", [](const Info& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
  });
}

}  // namespace orma
