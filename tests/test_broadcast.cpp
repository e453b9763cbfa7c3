// Broadcasting through the strided loops (autograd/op_support.hpp): binary
// ops, expand and sum_to on random shape pairs of rank 0 to 4 (sizes 0 to 3
// and 5, every pattern: scalar, row, column, a middle axis, both sides),
// float and double, against naive references written here from NumPy's rule.
// Elementwise results must be exactly equal (each element is f of the same two
// values); sum_to's too, since the reference adds each element's terms in
// row-major order of the input, as the loop promises.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

// Row-major multi-index of flat index `flat` in `shape`.
std::vector<std::size_t> unravel_index(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

// Flat index in `s` of the element that full-index `index` reads when s broadcasts to full.
std::size_t broadcast_flat(const std::vector<std::size_t>& index, const Shape& s) {
  const std::size_t lead = index.size() - s.size();
  std::size_t flat = 0;
  for (std::size_t d = 0; d < s.size(); ++d) flat = flat * s[d] + (s[d] == 1 ? 0 : index[lead + d]);
  return flat;
}

// A random pair of shapes that broadcast together, in one of several ways.
std::pair<Shape, Shape> random_pair(std::mt19937& rng) {
  const std::size_t sizes[] = {0, 1, 2, 3, 5};
  Shape full(rng() % 5);
  for (auto& d : full) d = sizes[rng() % 5];
  Shape a = full, b = full;
  for (std::size_t d = 0; d < full.size(); ++d) {
    const unsigned kind = rng() % 4;  // 0, 1: keep; 2: a broadcast here; 3: b broadcast here
    if (kind == 2) a[d] = 1;
    if (kind == 3) b[d] = 1;
  }
  // drop leading axes of one side sometimes (a row, a scalar)
  if (rng() % 3 == 0) a.erase(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(rng() % (a.size() + 1)));
  if (rng() % 3 == 0) b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(rng() % (b.size() + 1)));
  return rng() % 2 ? std::pair{a, b} : std::pair{b, a};
}

template <class T>
Tensor<T> random_tensor(const Shape& s, std::mt19937& rng) {
  xt::xarray<T> v = xt::xarray<T>::from_shape(s);
  std::uniform_real_distribution<double> dist(0.5, 2.0);  // away from 0: div
  for (auto& x : v) x = static_cast<T>(dist(rng) * (rng() % 2 ? 1 : -1));
  return Tensor<T>(std::move(v));
}

// Bitwise equality of two arrays of the same shape.
template <class T>
bool same_bits(const xt::xarray<T>& got, const xt::xarray<T>& expected) {
  return got.shape() == expected.shape() &&
         (got.size() == 0 || std::memcmp(got.data(), expected.data(), got.size() * sizeof(T)) == 0);
}

template <class T>
xt::xarray<T> naive_binary(const Tensor<T>& a, const Tensor<T>& b, const std::function<T(T, T)>& f) {
  const Shape full = broadcast_shapes("test", a.shape(), b.shape());
  xt::xarray<T> out = xt::xarray<T>::from_shape(full);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto index = unravel_index(i, full);
    out.data()[i] = f(a.data()[broadcast_flat(index, a.shape())], b.data()[broadcast_flat(index, b.shape())]);
  }
  return out;
}

// Σ in row-major order of g, into zeros(shape).
template <class T>
xt::xarray<T> naive_sum_to(const Tensor<T>& g, const Shape& shape) {
  xt::xarray<T> out = xt::zeros<T>(shape);
  for (std::size_t i = 0; i < g.numel(); ++i)
    out.data()[broadcast_flat(unravel_index(i, g.shape()), shape)] += g.data()[i];
  return out;
}

}  // namespace

TEST_SUITE("broadcast") {
  TEST_CASE_TEMPLATE("binary ops, expand and sum_to equal naive references on random shapes", T, float, double) {
    std::mt19937 rng(26);
    const std::vector<std::pair<const char*, std::function<T(T, T)>>> fs = {
        {"add", [](T x, T y) { return x + y; }},
        {"sub", [](T x, T y) { return x - y; }},
        {"mul", [](T x, T y) { return x * y; }},
        {"div", [](T x, T y) { return x / y; }}};
    for (int trial = 0; trial < 400; ++trial) {
      const auto [sa, sb] = random_pair(rng);
      const auto a = random_tensor<T>(sa, rng), b = random_tensor<T>(sb, rng);
      const Shape full = broadcast_shapes("test", sa, sb);
      INFO("a ", format_shape(sa), ", b ", format_shape(sb));
      CHECK(same_bits(add(a, b).value(), naive_binary(a, b, fs[0].second)));
      CHECK(same_bits(sub(a, b).value(), naive_binary(a, b, fs[1].second)));
      CHECK(same_bits(mul(a, b).value(), naive_binary(a, b, fs[2].second)));
      CHECK(same_bits(div(a, b).value(), naive_binary(a, b, fs[3].second)));
      CHECK(same_bits(expand(a, full).value(), naive_binary(a, Tensor<T>(xt::zeros<T>(full)), fs[0].second)));
      const auto g = random_tensor<T>(full, rng);
      CHECK(same_bits(sum_to(g, sa).value(), naive_sum_to(g, sa)));
      CHECK(same_bits(sum_to(g, sb).value(), naive_sum_to(g, sb)));
    }
  }

  TEST_CASE_TEMPLATE("each named pattern at sizes that fill the eight-row sums", T, float, double) {
    std::mt19937 rng(7);
    const std::vector<std::pair<Shape, Shape>> patterns = {
        {{17, 33}, {}},           {{17, 33}, {33}},          {{17, 33}, {17, 1}},    {{3, 17, 9}, {3, 1, 9}},
        {{17, 1}, {1, 33}},       {{2, 17, 5, 3}, {17, 1, 1}}, {{0, 3}, {3}},         {{4, 0}, {4, 1}},
        {{9, 1, 1, 7}, {1, 8, 6, 1}}, {{}, {}},            {{1}, {}},             {{5, 1, 5}, {5, 5, 1}}};
    for (const auto& [sa, sb] : patterns) {
      INFO("a ", format_shape(sa), ", b ", format_shape(sb));
      const auto a = random_tensor<T>(sa, rng), b = random_tensor<T>(sb, rng);
      const Shape full = broadcast_shapes("test", sa, sb);
      CHECK(same_bits(sub(a, b).value(), naive_binary<T>(a, b, [](T x, T y) { return x - y; })));
      CHECK(same_bits(div(b, a).value(), naive_binary<T>(b, a, [](T x, T y) { return x / y; })));
      const auto g = random_tensor<T>(full, rng);
      CHECK(same_bits(sum_to(g, sa).value(), naive_sum_to(g, sa)));
      CHECK(same_bits(sum_to(g, sb).value(), naive_sum_to(g, sb)));
      if (!full.empty()) {  // sum over the leading axis goes through the same loop
        Shape kept = full;
        kept[0] = 1;
        CHECK(same_bits(sum(g, {0}, true).value(), naive_sum_to(g, kept)));
      }
    }
  }
}
