// Generic tensor ops: views, indexing, math, reductions and the nn functions.
// Each export takes and returns handles (see engine.h); scalars and dims are plain JS numbers.
#include "engine.h"
#include <iterator>

namespace orma {
namespace {

using Info = Napi::CallbackInfo;

// An optional tensor argument: a handle, or -1 / undefined for none.
c10::optional<at::Tensor> OT(const Info& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  double h = info[i].As<Napi::Number>().DoubleValue();
  if (h < 0) return c10::nullopt;
  return T(info, i);
}
c10::optional<at::Scalar> OS(const Info& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  return at::Scalar(D(info, i));
}
Napi::Value pair(const Info& info, std::tuple<at::Tensor, at::Tensor>&& r) {
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, wrap(info.Env(), std::move(std::get<0>(r))));
  a.Set(1u, wrap(info.Env(), std::move(std::get<1>(r))));
  return a;
}

// The code tables of `unary` and `compare`: a code is an index. codes() hands the names and codes to
// JS (src/tensor/native.ts builds its tables from them), so the two sides cannot drift apart.
struct UnaryOp {
  const char* name;
  at::Tensor (*fn)(const at::Tensor&);
};
const UnaryOp kUnary[] = {
    {"exp", [](const at::Tensor& x) { return x.exp(); }},
    {"log", [](const at::Tensor& x) { return x.log(); }},
    {"sqrt", [](const at::Tensor& x) { return x.sqrt(); }},
    {"rsqrt", [](const at::Tensor& x) { return x.rsqrt(); }},
    {"abs", [](const at::Tensor& x) { return x.abs(); }},
    {"neg", [](const at::Tensor& x) { return x.neg(); }},
    {"relu", [](const at::Tensor& x) { return x.relu(); }},
    {"gelu", [](const at::Tensor& x) { return at::gelu(x); }},
    {"tanh", [](const at::Tensor& x) { return x.tanh(); }},
    {"sigmoid", [](const at::Tensor& x) { return x.sigmoid(); }},
    {"sign", [](const at::Tensor& x) { return x.sign(); }},
    {"floor", [](const at::Tensor& x) { return x.floor(); }},
    {"reciprocal", [](const at::Tensor& x) { return x.reciprocal(); }},
    {"sin", [](const at::Tensor& x) { return x.sin(); }},
    {"cos", [](const at::Tensor& x) { return x.cos(); }},
    {"log1p", [](const at::Tensor& x) { return x.log1p(); }},
    {"square", [](const at::Tensor& x) { return x.square(); }},
    {"geluTanh", [](const at::Tensor& x) { return at::gelu(x, "tanh"); }},
    {"isnan", [](const at::Tensor& x) { return x.isnan(); }},
    {"ceil", [](const at::Tensor& x) { return x.ceil(); }},
    {"round", [](const at::Tensor& x) { return x.round(); }},
    {"isfinite", [](const at::Tensor& x) { return x.isfinite(); }},
};

struct CompareOp {
  const char* name;
  at::Tensor (*tensor)(const at::Tensor&, const at::Tensor&);
  at::Tensor (*scalar)(const at::Tensor&, const at::Scalar&);
};
#define COMPARE(op) {#op, [](const at::Tensor& a, const at::Tensor& b) { return a.op(b); }, \
                      [](const at::Tensor& a, const at::Scalar& b) { return a.op(b); }}
const CompareOp kCompare[] = {COMPARE(eq), COMPARE(ne), COMPARE(lt), COMPARE(le), COMPARE(gt), COMPARE(ge)};
#undef COMPARE

const CompareOp& compareOp(int64_t code) {
  if (code < 0 || code >= static_cast<int64_t>(std::size(kCompare))) throw std::invalid_argument("unknown comparison code " + std::to_string(code));
  return kCompare[code];
}

#define OP(name) registerOp(env, exports, name, [](const Info& info) -> Napi::Value
#define RET(expr) return wrap(info.Env(), expr);

void views(Napi::Env env, Napi::Object exports) {
  OP("reshape") { RET(T(info, 0).reshape(dims(info, 1))); });
  OP("view") { RET(T(info, 0).view(dims(info, 1))); });
  OP("transpose") { RET(T(info, 0).transpose(I(info, 1), I(info, 2))); });
  OP("permute") { RET(T(info, 0).permute(dims(info, 1))); });
  OP("narrow") { RET(T(info, 0).narrow(I(info, 1), I(info, 2), I(info, 3))); });
  OP("slice") { RET(T(info, 0).slice(I(info, 1), I(info, 2), I(info, 3), I(info, 4))); });
  OP("select") { RET(T(info, 0).select(I(info, 1), I(info, 2))); });
  OP("unsqueeze") { RET(T(info, 0).unsqueeze(I(info, 1))); });
  OP("squeeze") { RET(T(info, 0).squeeze(I(info, 1))); });
  OP("flatten") { RET(T(info, 0).flatten(I(info, 1), I(info, 2))); });
  OP("expand") { RET(T(info, 0).expand(dims(info, 1))); });
  OP("contiguous") { RET(T(info, 0).contiguous()); });
  OP("clone") { RET(T(info, 0).clone()); });
  OP("cat") { RET(at::cat(tensorList(info, 0), I(info, 1))); });
  OP("stack") { RET(at::stack(tensorList(info, 0), I(info, 1))); });
  OP("split") {
    std::vector<at::Tensor> parts = T(info, 0).split_with_sizes(dims(info, 1), I(info, 2));
    Napi::Array a = Napi::Array::New(info.Env(), parts.size());
    for (size_t k = 0; k < parts.size(); ++k) a.Set(static_cast<uint32_t>(k), wrap(info.Env(), std::move(parts[k])));
    return a;
  });
  OP("tril") { RET(T(info, 0).tril(I(info, 1))); });
}

void indexing(Napi::Env env, Napi::Object exports) {
  OP("indexSelect") { RET(T(info, 0).index_select(I(info, 1), T(info, 2))); });
  OP("gather") { RET(T(info, 0).gather(I(info, 1), T(info, 2))); });
  OP("maskedFill") {
    // libtorch 1.13 accepts any mask dtype here and silently fills nothing for a float mask.
    const at::Tensor& mask = T(info, 1);
    if (mask.scalar_type() != at::kBool) {
      throw std::invalid_argument(std::string("the mask must be a bool tensor, got ") + c10::toString(mask.scalar_type()) + " (use .bool() or a comparison)");
    }
    RET(T(info, 0).masked_fill(mask, D(info, 2)));
  });
  OP("where") { RET(at::where(T(info, 0), T(info, 1), T(info, 2))); });
  OP("scatterAdd") { RET(T(info, 0).scatter_add(I(info, 1), T(info, 2), T(info, 3))); });
  OP("indexAdd") { RET(T(info, 0).index_add(I(info, 1), T(info, 2), T(info, 3))); });
  OP("scatterReduce") {
    RET(T(info, 0).scatter_reduce(I(info, 1), T(info, 2), T(info, 3), info[4].As<Napi::String>().Utf8Value(), B(info, 5)));
  });
  OP("maskedSelect") { RET(T(info, 0).masked_select(T(info, 1))); });
  OP("nonzero") { RET(T(info, 0).nonzero()); });
  OP("topk") { return pair(info, T(info, 0).topk(I(info, 1), I(info, 2), B(info, 3), true)); });
  OP("sort") { return pair(info, T(info, 0).sort(I(info, 1), B(info, 2))); });
  OP("argsort") { RET(T(info, 0).argsort(I(info, 1), B(info, 2))); });
  OP("oneHot") { RET(at::one_hot(T(info, 0), I(info, 1))); });
}

void math(Napi::Env env, Napi::Object exports) {
  OP("add") { RET(at::add(T(info, 0), T(info, 1), D(info, 2))); });
  OP("sub") { RET(at::sub(T(info, 0), T(info, 1), D(info, 2))); });
  OP("mul") { RET(at::mul(T(info, 0), T(info, 1))); });
  OP("div") { RET(at::div(T(info, 0), T(info, 1))); });
  OP("pow") { RET(at::pow(T(info, 0), T(info, 1))); });
  OP("maximum") { RET(at::maximum(T(info, 0), T(info, 1))); });
  OP("minimum") { RET(at::minimum(T(info, 0), T(info, 1))); });
  OP("addScalar") { RET(at::add(T(info, 0), D(info, 1))); });
  OP("mulScalar") { RET(at::mul(T(info, 0), D(info, 1))); });
  OP("divScalar") { RET(at::div(T(info, 0), D(info, 1))); });
  OP("powScalar") { RET(at::pow(T(info, 0), D(info, 1))); });
  OP("rsubScalar") { RET(at::rsub(T(info, 0), D(info, 1))); });
  OP("matmul") { RET(at::matmul(T(info, 0), T(info, 1))); });
  OP("bmm") { RET(at::bmm(T(info, 0), T(info, 1))); });
  OP("linear") { RET(at::linear(T(info, 0), T(info, 1), OT(info, 2))); });
  OP("einsum") { RET(at::einsum(info[0].As<Napi::String>().Utf8Value(), tensorList(info, 1))); });
  OP("clamp") { RET(at::clamp(T(info, 0), OS(info, 1), OS(info, 2))); });
  // Comparisons, element-wise; the code indexes kCompare (its names reach JS through codes()).
  // The second operand is a tensor or a number.
  OP("compare") {
    const at::Tensor& a = T(info, 0);
    const CompareOp& op = compareOp(I(info, 2));
    if (info[1].IsNumber() && info.Length() > 3 && B(info, 3)) RET(op.scalar(a, at::Scalar(D(info, 1))));
    RET(op.tensor(a, T(info, 1)));
  });
  OP("logicalAnd") { RET(at::logical_and(T(info, 0), T(info, 1))); });
  OP("logicalOr") { RET(at::logical_or(T(info, 0), T(info, 1))); });
  OP("logicalNot") { RET(at::logical_not(T(info, 0))); });
  // Unary element-wise ops; the code indexes kUnary (its names reach JS through codes()).
  OP("unary") {
    const int64_t code = I(info, 1);
    if (code < 0 || code >= static_cast<int64_t>(std::size(kUnary))) throw std::invalid_argument("unknown unary op code");
    RET(kUnary[code].fn(T(info, 0)));
  });
}

void reductions(Napi::Env env, Napi::Object exports) {
  OP("sum") { RET(T(info, 0).sum(dims(info, 1), B(info, 2))); });
  OP("sumAll") { RET(T(info, 0).sum()); });
  OP("mean") { RET(T(info, 0).mean(dims(info, 1), B(info, 2))); });
  OP("meanAll") { RET(T(info, 0).mean()); });
  OP("maxDim") { return pair(info, T(info, 0).max(I(info, 1), B(info, 2))); });
  OP("minDim") { return pair(info, T(info, 0).min(I(info, 1), B(info, 2))); });
  OP("maxAll") { RET(T(info, 0).max()); });
  OP("minAll") { RET(T(info, 0).min()); });
  OP("argmax") { RET(T(info, 0).argmax(I(info, 1), B(info, 2))); });
  OP("argmin") { RET(T(info, 0).argmin(I(info, 1), B(info, 2))); });
  OP("logsumexp") { RET(T(info, 0).logsumexp(dims(info, 1), B(info, 2))); });
  OP("norm") { RET(at::norm(T(info, 0), D(info, 1), dims(info, 2), B(info, 3))); });
  // correction must be passed as an optional<int64_t>: a bare integer picks the (dims, bool unbiased) overload,
  // so correction=2 silently meant unbiased=true (correction 1).
  OP("var") { RET(T(info, 0).var(at::OptionalIntArrayRef(dims(info, 1)), c10::optional<int64_t>(I(info, 2)), B(info, 3))); });
  OP("cumsum") { RET(T(info, 0).cumsum(I(info, 1))); });
  OP("any") { RET(T(info, 0).any()); });
  OP("all") { RET(T(info, 0).all()); });
}

void nnFunctions(Napi::Env env, Napi::Object exports) {
  OP("softmax") { RET(T(info, 0).softmax(I(info, 1))); });
  OP("logSoftmax") { RET(T(info, 0).log_softmax(I(info, 1))); });
  OP("layerNorm") { RET(at::layer_norm(T(info, 0), dims(info, 1), OT(info, 2), OT(info, 3), D(info, 4))); });
  OP("embedding") { RET(at::embedding(T(info, 0), T(info, 1), I(info, 2))); });
  // crossEntropy(logits, target, ignoreIndex, labelSmoothing, reduction 0 none / 1 mean / 2 sum, weight?)
  OP("crossEntropy") {
    RET(at::cross_entropy_loss(T(info, 0), T(info, 1), OT(info, 5), I(info, 4), I(info, 2), D(info, 3)));
  });
  OP("nllLoss") { RET(at::nll_loss_nd(T(info, 0), T(info, 1), OT(info, 4), I(info, 3), I(info, 2))); });
  OP("mseLoss") { RET(at::mse_loss(T(info, 0), T(info, 1), I(info, 2))); });
  OP("normalize") {
    // x / max(||x||_p, eps) along dim, as torch.nn.functional.normalize
    const at::Tensor& x = T(info, 0);
    at::Tensor n = at::norm(x, D(info, 1), {I(info, 2)}, true).clamp_min(D(info, 3));
    RET(x / n.expand_as(x));
  });
}

}  // namespace

void registerTensorOps(Napi::Env env, Napi::Object exports) {
  views(env, exports);
  indexing(env, exports);
  math(env, exports);
  reductions(env, exports);
  nnFunctions(env, exports);
}

Napi::Object unaryCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < std::size(kUnary); ++i) o.Set(kUnary[i].name, Napi::Number::New(env, static_cast<double>(i)));
  return o;
}

Napi::Object compareCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < std::size(kCompare); ++i) o.Set(kCompare[i].name, Napi::Number::New(env, static_cast<double>(i)));
  return o;
}

}  // namespace orma
