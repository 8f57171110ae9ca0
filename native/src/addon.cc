// Module entry: installs the caching allocator and registers every op.
#include "engine.h"

namespace orma {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installCachingAllocator();
  setEnvForMemoryReports(env);
  registerRuntime(env, exports);
  registerCreation(env, exports);
  registerTensorOps(env, exports);
  registerAutograd(env, exports);
  registerOptim(env, exports);
  return exports;
}

NODE_API_MODULE(orma_native, Init)

}  // namespace orma
