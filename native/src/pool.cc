// Forward-only fine-grain scores of many (text, molecule) pairs at their real sizes, for scoring a whole
// pool (src/model/pool-scores.ts). The inputs are ragged: text rows and molecule columns of one matrix
// product (token · atom similarities, or unit multi-token · unit motif cosines) cut by offsets, so no
// pair is padded. Each pair's score is the same function as in src/model/scores.ts (groupedScores,
// midScores), computed in cache from start to end (pool_kernels.cc); the mid grain's IPOT plans are
// solved W problems at a time, bit-identical to ot.cc's kernel on each problem at its real size.
#include "engine.h"
#include "pool_kernels.h"
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

namespace orma {

namespace {

at::Tensor floats(const Napi::CallbackInfo& info, size_t i, int64_t dim, const char* name) {
  const at::Tensor& t = T(info, i);
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.dim() == dim && t.device().is_cpu(), name, " must be a float32 CPU tensor of ", dim, " dims");
  return t.detach().contiguous();
}

std::vector<int64_t> offsets(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const at::Tensor t = T(info, i).detach().to(at::kLong).contiguous();
  TORCH_CHECK(t.dim() == 1, name, " must be 1-d");
  const int64_t* p = t.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + t.numel());
}

void checkRagged(const std::vector<int64_t>& off, int64_t total, const char* name) {
  TORCH_CHECK(!off.empty() && off.front() == 0 && off.back() <= total, name, " must start at 0 and end within the rows");
  for (size_t k = 1; k < off.size(); ++k) TORCH_CHECK(off[k] >= off[k - 1], name, " must be non-decreasing");
}

// The pairs (p = a · B + b) with at least one token and one motif, in lane groups: by motif count (a group shares
// it exactly), then by token count, longest first; at most `widest` pairs to a group.
struct LaneGroups {
  struct Group { int64_t first; int count; };
  std::vector<int64_t> pairs;
  std::vector<Group> groups;
  LaneGroups(const std::vector<int64_t>& rows, const std::vector<int64_t>& cols, int widest) {
    const int64_t A = static_cast<int64_t>(rows.size()) - 1, Bm = static_cast<int64_t>(cols.size()) - 1;
    pairs.reserve(A * Bm);
    for (int64_t p = 0; p < A * Bm; ++p)
      if (rows[p / Bm + 1] > rows[p / Bm] && cols[p % Bm + 1] > cols[p % Bm]) pairs.push_back(p);
    auto nOf = [&](int64_t p) { return rows[p / Bm + 1] - rows[p / Bm]; };
    auto mOf = [&](int64_t p) { return cols[p % Bm + 1] - cols[p % Bm]; };
    std::stable_sort(pairs.begin(), pairs.end(), [&](int64_t x, int64_t y) { return mOf(x) != mOf(y) ? mOf(x) < mOf(y) : nOf(x) > nOf(y); });
    for (size_t s = 0; s < pairs.size();) {
      size_t e = s;
      while (e < pairs.size() && mOf(pairs[e]) == mOf(pairs[s])) ++e;
      for (size_t g = s; g < e; g += widest) groups.push_back({static_cast<int64_t>(g), static_cast<int>(std::min<size_t>(widest, e - g))});
      s = e;
    }
  }
};

// The SIMD lanes an op was asked for (0: the widest the CPU has), checked.
int lanesArg(int64_t lanes) {
  const int most = pool::maxLanes();
  TORCH_CHECK(lanes == 0 || lanes == 1 || lanes == 2 || lanes == 4 || lanes == 8, "lanes must be 0, 1, 2, 4 or 8");
  TORCH_CHECK(lanes <= most, "this CPU has at most ", most, " lanes");
  return lanes == 0 ? most : static_cast<int>(lanes);
}

// ipotPlanLanes(cost [P, n, m], a [P, n], b [P, m], beta, iterations, lanes) -> plan [P, n, m]: ot.cc's ipotPlan
// (same contract, same bits), W = lanes problems at a time (0: the widest the CPU has).
Napi::Value ipotPlanLanes(const Napi::CallbackInfo& info) {
  RECORD_FUNCTION("orma::ipotPlanLanes", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
  at::NoGradGuard noGrad;
  const at::Tensor cost = T(info, 0).detach().to(at::kFloat).contiguous();
  const at::Tensor a = T(info, 1).detach().to(at::kFloat).contiguous();
  const at::Tensor b = T(info, 2).detach().to(at::kFloat).contiguous();
  const double beta = D(info, 3);
  const int64_t iterations = I(info, 4), lanes = I(info, 5);
  TORCH_CHECK(cost.dim() == 3, "cost must be [P, n, m]");
  const int64_t P = cost.size(0), n = cost.size(1), m = cost.size(2);
  TORCH_CHECK(a.dim() == 2 && a.size(0) == P && a.size(1) == n, "a must be [P, n]");
  TORCH_CHECK(b.dim() == 2 && b.size(0) == P && b.size(1) == m, "b must be [P, m]");
  TORCH_CHECK(beta > 0, "beta must be positive");
  const int W = lanesArg(lanes);
  at::Tensor plan = at::empty({P, n, m}, cost.options());
  const float* c = cost.data_ptr<float>();
  const float* av = a.data_ptr<float>();
  const float* bv = b.data_ptr<float>();
  float* out = plan.data_ptr<float>();
  const int64_t groups = (P + W - 1) / W;
  const float fbeta = static_cast<float>(beta);
  at::parallel_for(0, groups, 1, [&](int64_t begin, int64_t end) {
    pool::Buffer<float> A, pa, pb, pl;
    pool::Buffer<double> scratch;
    for (int64_t g = begin; g < end; ++g) {
      float* Ab = A.get(n * m * W);
      float* ab = pa.get(n * W);
      float* bb = pb.get(m * W);
      float* plb = pl.get(n * m * W);
      for (int l = 0; l < W; ++l) {
        const int64_t p = std::min(g * W + l, P - 1);  // spare lanes repeat the last problem
        const float* cp = c + p * n * m;
        const float* ap = av + p * n;
        const float* bp = bv + p * m;
        for (int64_t i = 0; i < n; ++i) ab[i * W + l] = ap[i];
        for (int64_t j = 0; j < m; ++j) bb[j * W + l] = bp[j];
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < m; ++j)
            Ab[(i * m + j) * W + l] = ap[i] * bp[j] == 0 ? 0.f : std::exp(-cp[i * m + j] / fbeta);
      }
      pool::ipotLanes(W, n, m, iterations, Ab, ab, bb, plb, scratch.get((n * m + n + 2 * m) * W));
      for (int l = 0; l < W && g * W + l < P; ++l) {
        float* op = out + (g * W + l) * n * m;
        for (int64_t e = 0; e < n * m; ++e) op[e] = plb[e * W + l];
      }
    }
  });
  return wrap(info.Env(), std::move(plan));
}

// localPoolScores(sim [R, C], rowOffsets [A+1], colOffsets [B+1], keys [C, D], grams, gramOffsets [B], u [A, D], cosine)
// -> [A, B]: text a's tokens are sim rows rowOffsets[a]..rowOffsets[a+1], molecule b's atoms the columns (and
// keys rows) colOffsets[b]..colOffsets[b+1]; its k × k atom gram starts at grams[gramOffsets[b]]; u[a] is the
// text's pooled vector LN₀(Σ norm(token)). The score is u · v, or their cosine.
Napi::Value localPoolScores(const Napi::CallbackInfo& info) {
  RECORD_FUNCTION("orma::localPoolScores", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
  at::NoGradGuard noGrad;
  const at::Tensor sim = floats(info, 0, 2, "sim");
  const std::vector<int64_t> rows = offsets(info, 1, "rowOffsets"), cols = offsets(info, 2, "colOffsets");
  const at::Tensor keys = floats(info, 3, 2, "keys");
  const at::Tensor grams = floats(info, 4, 1, "grams");
  const std::vector<int64_t> gramAt = offsets(info, 5, "gramOffsets");
  const at::Tensor u = floats(info, 6, 2, "u");
  const bool cosine = B(info, 7);
  const int64_t R = sim.size(0), C = sim.size(1), A = static_cast<int64_t>(rows.size()) - 1, Bm = static_cast<int64_t>(cols.size()) - 1;
  const int64_t Dm = keys.size(1);
  checkRagged(rows, R, "rowOffsets");
  checkRagged(cols, C, "colOffsets");
  TORCH_CHECK(keys.size(0) == C, "keys must have one row per sim column");
  TORCH_CHECK(u.size(0) == A && u.size(1) == Dm, "u must be [texts, D]");
  TORCH_CHECK(static_cast<int64_t>(gramAt.size()) == Bm, "gramOffsets must have one entry per molecule");
  for (int64_t j = 0; j < Bm; ++j) {
    const int64_t k = cols[j + 1] - cols[j];
    TORCH_CHECK(gramAt[j] >= 0 && gramAt[j] + k * k <= grams.numel(), "molecule ", j, "'s gram is out of range");
  }
  at::Tensor out = at::empty({A, Bm}, sim.options());
  const float* S = sim.data_ptr<float>();
  const float* K = keys.data_ptr<float>();
  const float* G = grams.data_ptr<float>();
  const float* U = u.data_ptr<float>();
  float* o = out.data_ptr<float>();
  // molecule-major, so that a run of pairs shares its molecule's padded gram
  at::parallel_for(0, A * Bm, 16, [&](int64_t begin, int64_t end) {
    pool::localPairs(begin, end, A, Bm, S, C, rows.data(), cols.data(), K, Dm, G, gramAt.data(), U, cosine, o);
  });
  return wrap(info.Env(), std::move(out));
}

// midPoolScores(cosT [C, R], rowOffsets [A+1], colOffsets [B+1], X [R, D], motifs [C, D], grams, gramOffsets [B],
// beta, iterations, argmin, tieTolerance, cosine, lanes) -> [A, B]: cosT holds unit motif · unit multi-token products, motif
// rows by token columns (the OT cost is 1 − cos; a motif's tokens are contiguous); X the multi-token vectors,
// motifs the motif vectors, grams their k × k grams. A pair with no motif (or no token) scores 0. Pairs are
// grouped by motif count, then by token count, W to a lane group.
Napi::Value midPoolScores(const Napi::CallbackInfo& info) {
  RECORD_FUNCTION("orma::midPoolScores", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
  at::NoGradGuard noGrad;
  const at::Tensor cosines = floats(info, 0, 2, "cosT");
  const std::vector<int64_t> rows = offsets(info, 1, "rowOffsets"), cols = offsets(info, 2, "colOffsets");
  const at::Tensor X = floats(info, 3, 2, "tokens");
  const at::Tensor motifs = floats(info, 4, 2, "motifs");
  const at::Tensor grams = floats(info, 5, 1, "grams");
  const std::vector<int64_t> gramAt = offsets(info, 6, "gramOffsets");
  const double beta = D(info, 7);
  const int64_t iterations = I(info, 8);
  const bool argmin = B(info, 9);
  const double tolerance = D(info, 10);
  const bool cosine = B(info, 11);
  const int64_t lanes = I(info, 12);
  const int64_t C = cosines.size(0), R = cosines.size(1), A = static_cast<int64_t>(rows.size()) - 1, Bm = static_cast<int64_t>(cols.size()) - 1;
  const int64_t Dm = X.size(1);
  checkRagged(rows, R, "rowOffsets");
  checkRagged(cols, C, "colOffsets");
  TORCH_CHECK(X.size(0) == R, "tokens must have one row per cosT column");
  TORCH_CHECK(motifs.size(0) == C && motifs.size(1) == Dm, "motifs must be [cosT rows, D]");
  TORCH_CHECK(static_cast<int64_t>(gramAt.size()) == Bm, "gramOffsets must have one entry per molecule");
  for (int64_t j = 0; j < Bm; ++j) {
    const int64_t k = cols[j + 1] - cols[j];
    TORCH_CHECK(gramAt[j] >= 0 && gramAt[j] + k * k <= grams.numel(), "molecule ", j, "'s gram is out of range");
  }
  TORCH_CHECK(beta > 0, "beta must be positive");
  TORCH_CHECK(tolerance >= 0 && tolerance < 1, "tieTolerance must be in [0, 1)");
  const int widest = lanesArg(lanes);
  at::Tensor out = at::zeros({A, Bm}, cosines.options());
  const LaneGroups lg(rows, cols, widest);
  const float* S = cosines.data_ptr<float>();
  const float* Xp = X.data_ptr<float>();
  const float* Mp = motifs.data_ptr<float>();
  const float* G = grams.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const float fbeta = static_cast<float>(beta);
  at::parallel_for(0, static_cast<int64_t>(lg.groups.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t gi = begin; gi < end; ++gi) {
      const LaneGroups::Group g = lg.groups[gi];
      pool::midGroup(std::min(widest, pool::lanesFor(g.count)), lg.pairs.data() + g.first, g.count, Bm, rows.data(), cols.data(), S, R, Xp, Mp, Dm,
                     G, gramAt.data(), fbeta, iterations, argmin, static_cast<float>(tolerance), cosine, o);
    }
  });
  return wrap(info.Env(), std::move(out));
}

// midAssignments(cosT [C, R], rowOffsets [A+1], colOffsets [B+1], beta, iterations, argmin, tieTolerance, lanes)
// -> int32 [A · B, N]: for pair p = a · B + b, row p holds the motif (0 .. m_b − 1, molecule b's own) of each of
// text a's real tokens, then −1; N is the longest text. The IPOT plans and the tie rule of midPoolScores
// (cosT as there), for the training op of the mid grain (mid.cc), which takes the assignments as given.
Napi::Value midAssignments(const Napi::CallbackInfo& info) {
  RECORD_FUNCTION("orma::midAssignments", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
  at::NoGradGuard noGrad;
  const at::Tensor cosines = floats(info, 0, 2, "cosT");
  const std::vector<int64_t> rows = offsets(info, 1, "rowOffsets"), cols = offsets(info, 2, "colOffsets");
  const double beta = D(info, 3);
  const int64_t iterations = I(info, 4);
  const bool argmin = B(info, 5);
  const double tolerance = D(info, 6);
  const int widest = lanesArg(I(info, 7));
  const int64_t C = cosines.size(0), R = cosines.size(1), A = static_cast<int64_t>(rows.size()) - 1, Bm = static_cast<int64_t>(cols.size()) - 1;
  checkRagged(rows, R, "rowOffsets");
  checkRagged(cols, C, "colOffsets");
  TORCH_CHECK(beta > 0, "beta must be positive");
  TORCH_CHECK(tolerance >= 0 && tolerance < 1, "tieTolerance must be in [0, 1)");
  int64_t N = 0;
  for (int64_t a = 0; a < A; ++a) N = std::max(N, rows[a + 1] - rows[a]);
  at::Tensor out = at::full({A * Bm, N}, -1, cosines.options().dtype(at::kInt));
  const LaneGroups lg(rows, cols, widest);
  const float* S = cosines.data_ptr<float>();
  int32_t* o = out.data_ptr<int32_t>();
  at::parallel_for(0, static_cast<int64_t>(lg.groups.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t gi = begin; gi < end; ++gi) {
      const LaneGroups::Group g = lg.groups[gi];
      pool::midAssignGroup(std::min(widest, pool::lanesFor(g.count)), lg.pairs.data() + g.first, g.count, Bm, rows.data(), cols.data(), S, R,
                           static_cast<float>(beta), iterations, argmin, static_cast<float>(tolerance), o, N);
    }
  });
  return wrap(info.Env(), std::move(out));
}

Napi::Value poolLanes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pool::maxLanes()); }

}  // namespace

void registerPool(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "ipotPlanLanes", ipotPlanLanes);
  registerOp(env, exports, "localPoolScores", localPoolScores);
  registerOp(env, exports, "midPoolScores", midPoolScores);
  registerOp(env, exports, "midAssignments", midAssignments);
  registerOp(env, exports, "poolLanes", poolLanes);
}

}  // namespace orma
