// Tensor creation, conversion to and from JS typed arrays, and metadata.
#include "engine.h"
#include <cstring>

namespace orma {
namespace {

at::TensorOptions opts(const Napi::CallbackInfo& info, size_t dtypeArg) {
  return at::TensorOptions().dtype(dtypeOf(I(info, dtypeArg))).device(deviceOf(info, dtypeArg + 1));
}

Napi::Value shapeOf(const Napi::CallbackInfo& info) {
  const at::Tensor& t = T(info, 0);
  Napi::Array a = Napi::Array::New(info.Env(), t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
  return a;
}

// fromArray(typedArray, shape, dtypeCode, device?) copies the JS data into a new tensor.
Napi::Value fromArray(const Napi::CallbackInfo& info) {
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = dims(info, 1);
  at::ScalarType dt = dtypeOf(I(info, 2));
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dt);
  if (arr.ByteLength() != bytes) {
    throw std::invalid_argument("shape " + c10::str(c10::IntArrayRef(shape)) + " of " + c10::toString(dt) + " needs " +
                                std::to_string(bytes) + " bytes, the array has " + std::to_string(arr.ByteLength()));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  const uint8_t* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  if (bytes) std::memcpy(t.data_ptr(), src, bytes);
  at::Device dev = deviceOf(info, 3);
  if (!dev.is_cpu()) t = t.to(dev);
  return wrap(info.Env(), std::move(t));
}

// toArray(h) returns an ArrayBuffer with a contiguous CPU copy of the data.
Napi::Value toArray(const Napi::CallbackInfo& info) {
  at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
  size_t bytes = t.numel() * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  return buf;
}

}  // namespace

void registerCreation(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "fromArray", fromArray);
  registerOp(env, exports, "toArray", toArray);
  registerOp(env, exports, "shape", shapeOf);
  registerOp(env, exports, "dtype", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(dtypeCode(T(info, 0).scalar_type())));
  });
  registerOp(env, exports, "device", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), T(info, 0).device().str());
  });
  registerOp(env, exports, "numel", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(T(info, 0).numel()));
  });
  registerOp(env, exports, "item", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), T(info, 0).item<double>());
  });
  registerOp(env, exports, "isContiguous", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous());
  });
  registerOp(env, exports, "zeros", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::zeros(dims(info, 0), opts(info, 1)));
  });
  registerOp(env, exports, "ones", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::ones(dims(info, 0), opts(info, 1)));
  });
  registerOp(env, exports, "empty", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::empty(dims(info, 0), opts(info, 1)));
  });
  registerOp(env, exports, "full", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::full(dims(info, 0), D(info, 1), opts(info, 2)));
  });
  registerOp(env, exports, "arange", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::arange(D(info, 0), D(info, 1), D(info, 2), opts(info, 3)));
  });
  registerOp(env, exports, "eye", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::eye(I(info, 0), opts(info, 1)));
  });
  registerOp(env, exports, "randn", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::randn(dims(info, 0), opts(info, 1)));
  });
  registerOp(env, exports, "rand", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::rand(dims(info, 0), opts(info, 1)));
  });
  registerOp(env, exports, "randint", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::randint(I(info, 0), I(info, 1), dims(info, 2), opts(info, 3)));
  });
  registerOp(env, exports, "randperm", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), at::randperm(I(info, 0), opts(info, 1)));
  });
  // In-place initialisers (used by parameter init; run without recording autograd history).
  registerOp(env, exports, "normal_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard g;
    T(info, 0).normal_(D(info, 1), D(info, 2));
    return info.Env().Undefined();
  });
  registerOp(env, exports, "uniform_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard g;
    T(info, 0).uniform_(D(info, 1), D(info, 2));
    return info.Env().Undefined();
  });
  registerOp(env, exports, "fill_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard g;
    T(info, 0).fill_(D(info, 1));
    return info.Env().Undefined();
  });
  registerOp(env, exports, "copy_", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::NoGradGuard g;
    T(info, 0).copy_(T(info, 1));
    return info.Env().Undefined();
  });
  registerOp(env, exports, "to", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), T(info, 0).to(deviceOf(info, 2), dtypeOf(I(info, 1))));
  });
  // moveTo(h, device): moves the tensor's data to `device` in place (as PyTorch's `param.data =
  // param.data.to(device)`): the handle, requires_grad and autograd identity stay, so optimizers built on
  // the parameter keep working; its gradient, if any, moves too.
  registerOp(env, exports, "moveTo", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::Tensor& t = T(info, 0);
    const at::Device device = deviceOf(info, 1);
    if (t.device() == device) return info.Env().Undefined();
    at::NoGradGuard g;
    t.set_data(t.data().to(device));
    if (t.grad().defined()) t.mutable_grad() = t.grad().to(device);
    return info.Env().Undefined();
  });
}

}  // namespace orma
