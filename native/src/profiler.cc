// Op-level profiling: libtorch's legacy autograd profiler (torch::autograd::profiler::RecordProfile),
// which records every dispatched op (and every backward node) on the calling thread and writes a Chrome
// trace when it ends. Exposed as start(path) / stop() so a benchmark can profile a few steps; the
// aggregation into a self-time table is in TypeScript (src/tensor/profiler.ts).
#include "engine.h"
#include <torch/csrc/autograd/profiler_legacy.h>
#include <memory>

namespace orma {

static std::unique_ptr<torch::autograd::profiler::RecordProfile> g_profile;

void registerProfiler(Napi::Env env, Napi::Object exports) {
  using Info = Napi::CallbackInfo;
  registerOp(env, exports, "profilerStart", [](const Info& info) -> Napi::Value {
    if (g_profile) throw std::invalid_argument("the profiler is already running");
    g_profile = std::make_unique<torch::autograd::profiler::RecordProfile>(info[0].As<Napi::String>().Utf8Value());
    return info.Env().Undefined();
  });
  // stop(): the trace is written when the guard is destroyed
  registerOp(env, exports, "profilerStop", [](const Info& info) -> Napi::Value {
    if (!g_profile) throw std::invalid_argument("the profiler is not running");
    g_profile.reset();
    return info.Env().Undefined();
  });
}

}  // namespace orma
