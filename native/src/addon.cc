// Module entry: installs the caching allocator and registers every op.
#include "engine.h"
#include <c10/util/Logging.h>
#include <cstdlib>

namespace orma {

void registerOt(Napi::Env env, Napi::Object exports);  // ot.cc
void registerPool(Napi::Env env, Napi::Object exports);  // pool.cc
void registerGrouped(Napi::Env env, Napi::Object exports);  // grouped.cc
void registerAllocator(Napi::Env env, Napi::Object exports);  // allocator.cc
void registerProfiler(Napi::Env env, Napi::Object exports);  // profiler.cc
void registerDropout(Napi::Env env, Napi::Object exports);  // dropout.cc
void registerMid(Napi::Env env, Napi::Object exports);  // mid.cc
void registerLocal(Napi::Env env, Napi::Object exports);  // local.cc

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installCachingAllocator();
  // Every c10::Error captured and symbolized a C++ backtrace (docs/engine.md, "Failed ops"); our messages
  // use what_without_backtrace(), so skip it. ORMA_CPP_STACKTRACES=1 keeps it for debugging the addon.
  const char* st = std::getenv("ORMA_CPP_STACKTRACES");
  if (!st || std::string(st) != "1") c10::SetStackTraceFetcher([] { return std::string(); });
  setEnvForMemoryReports(env);
  registerRuntime(env, exports);
  registerCreation(env, exports);
  registerTensorOps(env, exports);
  registerAutograd(env, exports);
  registerOptim(env, exports);
  registerOt(env, exports);
  registerPool(env, exports);
  registerGrouped(env, exports);
  registerAllocator(env, exports);
  registerProfiler(env, exports);
  registerDropout(env, exports);
  registerMid(env, exports);
  registerLocal(env, exports);
  return exports;
}

NODE_API_MODULE(orma_native, Init)

}  // namespace orma
