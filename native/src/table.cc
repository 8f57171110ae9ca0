// The tensor handle table, argument conversion, error translation and runtime settings.
#include "engine.h"
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <link.h>
#include <algorithm>
#include <cstring>
#include <iterator>
#include <sstream>

namespace orma {

thread_local ArgTrace g_trace;

namespace {
// OpenBLAS (pthread build) keeps its own thread pool, sized to the cores when it loads, and libtorch's
// set_num_threads does not reach it: with 1 thread asked for, every GEMM still ran on both cores (a 2048²
// matmul: 2.1 CPU-s in 1.1 s of wall clock). So it is set through each loaded OpenBLAS (RTLD_NOLOAD: nothing
// is loaded; libtorch's dependencies are not in the global symbol scope, so ask each library). Its kernel
// family is read the same way (blasCoreName).
template <class F> void forEachOpenBlas(const char* symbol, F&& use) {
  std::vector<std::string> paths;
  dl_iterate_phdr([](dl_phdr_info* i, size_t, void* out) {
    if (i->dlpi_name != nullptr && std::strstr(i->dlpi_name, "openblas") != nullptr) static_cast<std::vector<std::string>*>(out)->push_back(i->dlpi_name);
    return 0;
  }, &paths);
  for (const std::string& path : paths) {
    if (void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
      if (void* fn = dlsym(lib, symbol)) use(fn);
      dlclose(lib);
    }
  }
}
// Returns how many OpenBLAS libraries took the setting.
int setOpenBlasThreads(int n) {
  int set = 0;
  forEachOpenBlas("openblas_set_num_threads", [&](void* fn) { reinterpret_cast<void (*)(int)>(fn)(n); ++set; });
  return set;
}
// The first loaded OpenBLAS's thread count, or -1 without one.
int openBlasThreads() {
  int n = -1;
  forEachOpenBlas("openblas_get_num_threads", [&](void* fn) { if (n < 0) n = reinterpret_cast<int (*)()>(fn)(); });
  return n;
}

std::vector<at::Tensor> g_slots;      // slot i holds the tensor of handle i (undefined when free)
std::vector<int64_t> g_bytes;         // bytes reported to V8 for slot i (storage this handle owns alone)
napi_env g_env = nullptr;

// Tensor memory is reported to V8 so its heuristics see what JS objects keep alive, but in net
// amounts: a training step allocates and frees hundreds of MB inside one tidy scope, and reporting
// each tensor made V8 run a full garbage collection in every step (docs/engine.md, "Memory reports to V8").
// Changes accumulate here and reach V8 when a scope closes (flushExternalMemory) or when they pass 1 GiB.
int64_t g_pendingBytes = 0;
constexpr int64_t kFlushBytes = int64_t(1) << 30;

void flushExternal() {
  if (g_pendingBytes == 0 || !g_env) return;
  int64_t ignored;
  napi_adjust_external_memory(g_env, g_pendingBytes, &ignored);
  g_pendingBytes = 0;
}

void reportExternal(int64_t delta) {
  g_pendingBytes += delta;
  if (g_pendingBytes >= kFlushBytes || g_pendingBytes <= -kFlushBytes) flushExternal();
}

int64_t ownedBytes(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return 0;
  const c10::Storage& s = t.storage();
  return s.use_count() == 1 ? static_cast<int64_t>(s.nbytes()) : 0;
}
std::vector<uint32_t> g_freeSlots;    // reusable slot indices
size_t g_live = 0;
}  // namespace

at::Tensor& tensorAt(uint32_t handle) {
  if (handle >= g_slots.size() || !g_slots[handle].defined()) {
    throw std::invalid_argument("tensor handle " + std::to_string(handle) + " is not live (used after dispose?)");
  }
  return g_slots[handle];
}

uint32_t storeTensor(at::Tensor&& t) {
  uint32_t h;
  const int64_t bytes = ownedBytes(t);
  if (!g_freeSlots.empty()) {
    h = g_freeSlots.back();
    g_freeSlots.pop_back();
    g_slots[h] = std::move(t);
    g_bytes[h] = bytes;
  } else {
    h = static_cast<uint32_t>(g_slots.size());
    g_slots.push_back(std::move(t));
    g_bytes.push_back(bytes);
  }
  ++g_live;
  reportExternal(bytes);
  return h;
}

void freeTensor(uint32_t handle) {
  if (handle >= g_slots.size() || !g_slots[handle].defined()) return;  // idempotent
  g_slots[handle].reset();
  g_freeSlots.push_back(handle);
  --g_live;
  reportExternal(-g_bytes[handle]);
  g_bytes[handle] = 0;
}

size_t liveTensorCount() { return g_live; }

void setEnvForMemoryReports(napi_env env) { g_env = env; }

std::string describeSeenArgs() {
  std::ostringstream os;
  int order[ArgTrace::kMax];
  for (int i = 0; i < g_trace.n; ++i) order[i] = i;
  std::stable_sort(order, order + g_trace.n, [](int a, int b) { return g_trace.arg[a] < g_trace.arg[b]; });
  for (int k = 0; k < g_trace.n; ++k) {
    const at::Tensor& t = *g_trace.seen[order[k]];
    if (k) os << ", ";
    if (!t.defined()) { os << "undefined"; continue; }
    os << c10::toString(t.scalar_type()) << t.sizes();
  }
  return os.str();
}

std::vector<int64_t> dims(const Napi::CallbackInfo& info, size_t i) {
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) out[k] = a.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

std::vector<at::Tensor> tensorList(const Napi::CallbackInfo& info, size_t i) {
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    at::Tensor& t = tensorAt(a.Get(k).As<Napi::Number>().Uint32Value());
    g_trace.note(i, &t);  // list elements appear in error messages too (cat/stack shape errors)
    out.push_back(t);
  }
  return out;
}

// dtype codes: a code is an index into kDtypes; codes() hands the names to JS (src/tensor/dtype.ts checks
// its table against them when the addon loads).
struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};
static const DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"int64", at::kLong}, {"bool", at::kBool},
    {"int32", at::kInt}, {"bfloat16", at::kBFloat16}, {"float16", at::kHalf}, {"uint8", at::kByte},
};

at::ScalarType dtypeOf(int64_t code) {
  if (code < 0 || code >= static_cast<int64_t>(std::size(kDtypes))) throw std::invalid_argument("unknown dtype code " + std::to_string(code));
  return kDtypes[code].type;
}

int64_t dtypeCode(at::ScalarType t) {
  for (size_t i = 0; i < std::size(kDtypes); ++i) if (kDtypes[i].type == t) return static_cast<int64_t>(i);
  throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(t));
}

Napi::Object dtypeCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < std::size(kDtypes); ++i) o.Set(kDtypes[i].name, Napi::Number::New(env, static_cast<double>(i)));
  return o;
}

at::Device deviceOf(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return at::Device(at::kCPU);
  return at::Device(info[i].As<Napi::String>().Utf8Value());
}

namespace {
struct OpEntry {
  OpFn fn;
  const char* name;
};

Napi::Error opError(const Napi::CallbackInfo& info, const OpEntry* op, const char* what) {
  std::string msg = std::string(op->name) + ": " + what;
  if (g_trace.n) msg += " (tensor arguments: " + describeSeenArgs() + ")";
  return Napi::Error::New(info.Env(), msg);
}

Napi::Value callOp(const Napi::CallbackInfo& info) {
  auto* op = static_cast<const OpEntry*>(info.Data());
  g_trace.n = 0;
  try {
    return op->fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw opError(info, op, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw opError(info, op, e.what());
  }
}
}  // namespace

void registerOp(Napi::Env env, Napi::Object exports, const char* name, OpFn fn) {
  auto* entry = new OpEntry{fn, name};  // lives as long as the process: ops are registered once
  exports.Set(name, Napi::Function::New(env, callOp, name, entry));
}

// ---- runtime: threads, seeds, memory, build facts ----
void registerRuntime(Napi::Env env, Napi::Object exports) {
  // The code tables shared with JS: {unary: {name: code}, dtype: {...}, compare: {...}}.
  registerOp(env, exports, "codes", [](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("unary", unaryCodes(info.Env()));
    o.Set("dtype", dtypeCodes(info.Env()));
    o.Set("compare", compareCodes(info.Env()));
    return o;
  });
  registerOp(env, exports, "free", [](const Napi::CallbackInfo& info) -> Napi::Value {
    freeTensor(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  });
  registerOp(env, exports, "freeMany", [](const Napi::CallbackInfo& info) -> Napi::Value {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) freeTensor(a.Get(k).As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  });
  registerOp(env, exports, "flushExternalMemory", [](const Napi::CallbackInfo& info) -> Napi::Value {
    flushExternal();
    return info.Env().Undefined();
  });
  registerOp(env, exports, "liveTensors", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(liveTensorCount()));
  });
  registerOp(env, exports, "setNumThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const int n = static_cast<int>(I(info, 0));
    at::set_num_threads(n);
    return Napi::Number::New(info.Env(), setOpenBlasThreads(n));
  });
  registerOp(env, exports, "setOpenBlasThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), setOpenBlasThreads(static_cast<int>(I(info, 0))));
  });
  registerOp(env, exports, "openBlasThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), openBlasThreads());
  });
  registerOp(env, exports, "getNumThreads", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
  registerOp(env, exports, "manualSeed", [](const Napi::CallbackInfo& info) -> Napi::Value {
    at::manual_seed(static_cast<uint64_t>(I(info, 0)));
    return info.Env().Undefined();
  });
  registerOp(env, exports, "parallelInfo", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), at::get_parallel_info());
  });
  // OpenBLAS's kernel family (Haswell, SkylakeX, ...), from the first loaded OpenBLAS; empty without one.
  registerOp(env, exports, "blasCoreName", [](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string name;
    forEachOpenBlas("openblas_get_corename", [&](void* fn) { if (name.empty()) name = reinterpret_cast<char* (*)()>(fn)(); });
    return Napi::String::New(info.Env(), name);
  });
  registerOp(env, exports, "cudaAvailable", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), at::hasCUDA());
  });
  registerOp(env, exports, "allocatorStats", [](const Napi::CallbackInfo& info) -> Napi::Value {
    AllocatorStats s = allocatorStats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("allocatedBytes", static_cast<double>(s.allocated));
    o.Set("cachedBytes", static_cast<double>(s.cached));
    o.Set("peakBytes", static_cast<double>(s.peak));
    o.Set("cacheHits", static_cast<double>(s.hits));
    o.Set("cacheMisses", static_cast<double>(s.misses));
    return o;
  });
  registerOp(env, exports, "emptyCache", [](const Napi::CallbackInfo& info) -> Napi::Value {
    emptyAllocatorCache();
    return info.Env().Undefined();
  });
  registerOp(env, exports, "setCacheLimit", [](const Napi::CallbackInfo& info) -> Napi::Value {
    setAllocatorCacheLimit(static_cast<size_t>(D(info, 0)));
    return info.Env().Undefined();
  });
}

}  // namespace orma
