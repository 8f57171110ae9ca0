// Shared pieces of the addon: the tensor handle table, argument conversion and error reporting.
// JavaScript holds tensors as small integer handles into this table (no per-tensor JS wrapper
// object on the C++ side), so creating a result costs a slot, not an ObjectWrap allocation.
#pragma once
#define NAPI_CPP_EXCEPTIONS
#include <napi.h>
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <string>
#include <vector>

namespace orma {

// ---- handle table ----
at::Tensor& tensorAt(uint32_t handle);
uint32_t storeTensor(at::Tensor&& t);
void freeTensor(uint32_t handle);
size_t liveTensorCount();
void setEnvForMemoryReports(napi_env env);

// ---- errors: the JS message names the op and the shapes of the tensor arguments ----
struct ArgTrace {
  static constexpr int kMax = 8;
  const at::Tensor* seen[kMax];
  size_t arg[kMax];  // argument position, so the message lists tensors in call order
  int n = 0;
  void note(size_t i, const at::Tensor* t) {
    if (n < kMax) { arg[n] = i; seen[n++] = t; }
  }
};
extern thread_local ArgTrace g_trace;
std::string describeSeenArgs();

// ---- argument helpers ----
inline at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  at::Tensor& t = tensorAt(info[i].As<Napi::Number>().Uint32Value());
  g_trace.note(i, &t);
  return t;
}
inline int64_t I(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
inline double D(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline bool B(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Boolean>().Value(); }
std::vector<int64_t> dims(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> tensorList(const Napi::CallbackInfo& info, size_t i);
at::ScalarType dtypeOf(int64_t code);
int64_t dtypeCode(at::ScalarType t);
at::Device deviceOf(const Napi::CallbackInfo& info, size_t i);
// The code tables of dtypes (table.cc) and of the `unary` and `compare` ops (ops.cc), as {name: code},
// for the `codes` export.
Napi::Object dtypeCodes(Napi::Env env);
Napi::Object unaryCodes(Napi::Env env);
Napi::Object compareCodes(Napi::Env env);

inline Napi::Value wrap(const Napi::Env& env, at::Tensor&& t) {
  return Napi::Number::New(env, storeTensor(std::move(t)));
}

// Registers `fn` under `name`, translating libtorch errors into JS Errors that name the op.
using OpFn = Napi::Value (*)(const Napi::CallbackInfo&);
void registerOp(Napi::Env env, Napi::Object exports, const char* name, OpFn fn);

void registerTensorOps(Napi::Env env, Napi::Object exports);
void registerCreation(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerOptim(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);

// Caching CPU allocator (allocator.cc).
void installCachingAllocator();
struct AllocatorStats { size_t allocated, cached, peak, hits, misses; };
AllocatorStats allocatorStats();
void emptyAllocatorCache();
void setAllocatorCacheLimit(size_t bytes);

}  // namespace orma
