// Dropout masks from a counter-based hash, in parallel.
//
// Why: libtorch's CPU dropout draws its mask with bernoulli_, which without MKL (Debian's libtorch) is a
// serial loop over one locked mt19937 generator: 23 ms for a [32, 80, 1024] float mask (1.2 ms here), and
// about 50 ms of every ORMA training step in the steady state (its 18 dropouts; docs/engine.md). Here each element's draw is a hash of
// (one 64-bit seed, its index): any chunking gives the same mask, so it is deterministic given the seed
// whatever the thread count, and it runs at memory speed on every core.
// The seed is one draw from libtorch's default generator, so manualSeed and the generator's state decide the
// masks as they decided bernoulli_'s (the stream differs from libtorch's own dropout).
//
// dropoutMask(x, p) -> a tensor shaped and typed as x: 0 with probability p, else 1 / (1 - p).
#include "engine.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <cmath>
#include <cstring>
#include <mutex>

// Vectors wider than the baseline's pass through always-inlined helpers only: no call passes them by value.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace orma {
namespace {

// MurmurHash3's finaliser: every input bit reaches every output bit. U: uint32_t, or 8 of them (u8x below).
template <class U> __attribute__((always_inline)) inline U fmix32(U h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// Two rounds keyed by the two halves of the seed, over the index's low and high words
inline uint32_t draw(uint64_t i, uint32_t k0, uint32_t k1) {
  return fmix32(fmix32(static_cast<uint32_t>(i) * 0x9e3779b9u ^ k0) ^ k1 ^ static_cast<uint32_t>(i >> 32));
}

template <class S> void fillScalar(S* out, int64_t begin, int64_t end, uint32_t k0, uint32_t k1, uint32_t threshold, S keep) {
  for (int64_t i = begin; i < end; ++i) out[i] = draw(static_cast<uint64_t>(i), k0, k1) < threshold ? S(0) : keep;
}

// Float masks 8 lanes at a time (GCC vector extensions: AVX2 in the avx2 build below, SSE pairs otherwise); a
// block of 8 from a multiple of 8 never crosses a 2³² boundary, so the index's high word is the block's.
typedef uint32_t u8x __attribute__((vector_size(32)));
__attribute__((always_inline)) inline void fillFloat8(float* out, int64_t begin, int64_t end, uint32_t k0, uint32_t k1, uint32_t threshold, float keep) {
  int64_t i = begin;
  for (; i < end && i % 8 != 0; ++i) out[i] = draw(static_cast<uint64_t>(i), k0, k1) < threshold ? 0.f : keep;
  uint32_t keepBits;
  std::memcpy(&keepBits, &keep, sizeof keepBits);
  const u8x lane = {0, 1, 2, 3, 4, 5, 6, 7};
  for (; i + 8 <= end; i += 8) {
    const u8x idx = static_cast<uint32_t>(i) + lane;
    const u8x h = fmix32(fmix32(idx * 0x9e3779b9u ^ k0) ^ (k1 ^ static_cast<uint32_t>(static_cast<uint64_t>(i) >> 32)));
    const u8x bits = reinterpret_cast<u8x>(h >= threshold) & keepBits;   // the comparison is -1 where kept
    std::memcpy(out + i, &bits, sizeof bits);
  }
  for (; i < end; ++i) out[i] = draw(static_cast<uint64_t>(i), k0, k1) < threshold ? 0.f : keep;
}
__attribute__((target("avx2"))) void fillFloatAvx2(float* out, int64_t b, int64_t e, uint32_t k0, uint32_t k1, uint32_t t, float keep) { fillFloat8(out, b, e, k0, k1, t, keep); }
void fillFloatBase(float* out, int64_t b, int64_t e, uint32_t k0, uint32_t k1, uint32_t t, float keep) { fillFloat8(out, b, e, k0, k1, t, keep); }

void fill(float* out, int64_t b, int64_t e, uint32_t k0, uint32_t k1, uint32_t t, float keep) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  (avx2 ? fillFloatAvx2 : fillFloatBase)(out, b, e, k0, k1, t, keep);
}
void fill(double* out, int64_t b, int64_t e, uint32_t k0, uint32_t k1, uint32_t t, double keep) { fillScalar(out, b, e, k0, k1, t, keep); }

uint64_t seedFromDefaultGenerator() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

at::Tensor dropoutMask(const at::Tensor& x, double p) {
  RECORD_FUNCTION("orma::dropoutMask", std::vector<c10::IValue>{});
  TORCH_CHECK(p >= 0 && p < 1, "dropoutMask: p must be in [0, 1), got ", p);
  at::Tensor mask = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  const uint64_t seed = seedFromDefaultGenerator();
  const uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  // drop when the 32-bit draw is below p · 2³²
  const uint32_t threshold = static_cast<uint32_t>(std::min(std::llround(p * 4294967296.0), 4294967295LL));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "dropoutMask", [&] {
    const scalar_t keep = static_cast<scalar_t>(1.0 / (1.0 - p));
    scalar_t* out = mask.data_ptr<scalar_t>();
    at::parallel_for(0, mask.numel(), 1 << 15, [&](int64_t begin, int64_t end) { fill(out, begin, end, k0, k1, threshold, keep); });
  });
  return mask;
}

}  // namespace

void registerDropout(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "dropoutMask", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return wrap(info.Env(), dropoutMask(T(info, 0), D(info, 1)));
  });
}

}  // namespace orma
