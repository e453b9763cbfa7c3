// rewind::dist under `mpiexec -n 2`: the fixed-order sum, gradient averaging,
// broadcast, the start-up model check, agreement on errors, batch shards, and
// data-parallel training equal to one process on the whole batch.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

#include "dist_test_support.hpp"

using namespace rwd;
using dist::CollectiveError;

namespace {

// True on every rank when every rank holds exactly these bytes.
template <class T>
bool same_bits_everywhere(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  const auto all = dist::allgather_strings(mpi(), bytes);
  for (const auto& other : all)
    if (other != all[0]) return false;
  return true;
}

// The message of the CollectiveError `f` throws ("" if it throws none or another kind).
template <class F>
std::string collective_error(F&& f) {
  try {
    f();
  } catch (const CollectiveError& e) {
    return e.what();
  } catch (...) {
    return "another exception";
  }
  return "";
}

std::vector<double> flat(const std::vector<Tensor<double>>& tensors, bool grads) {
  std::vector<double> out;
  for (const auto& t : tensors) {
    const auto& v = grads ? t.grad().value() : t.value();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

TEST_SUITE("dist") {
  TEST_CASE("the job has two ranks (the tests below assume it)") { CHECK(mpi().size() == 2); }

  TEST_CASE("sum_in_rank_order: rank order, left to right, the same bits on every rank, any length") {
    const int rank = mpi().rank(), size = mpi().size();
    for (std::size_t n : {0u, 1u, 2u, 5u, 7u}) {
      // rank r contributes 0.1·(r+1)·(i+1) + 1e-3 r: sums that round, so bits matter
      auto value = [](int r, std::size_t i) { return 0.1 * (r + 1) * double(i + 1) + 1e-3 * r; };
      std::vector<double> mine(n);
      for (std::size_t i = 0; i < n; ++i) mine[i] = value(rank, i);
      dist::sum_in_rank_order(mpi(), mine);
      for (std::size_t i = 0; i < n; ++i) {
        double expected = value(0, i);
        for (int r = 1; r < size; ++r) expected += value(r, i);
        CHECK(mine[i] == expected);
      }
      CHECK(same_bits_everywhere(mine));
    }
    const double mean = dist::mean_over_ranks(mpi(), 1.0 + rank);
    CHECK(mean == 1.5);
  }

  TEST_CASE("allreduce_gradients: the mean over ranks; a gradient missing on some ranks counts as zero") {
    const int rank = mpi().rank();
    auto a = Tensor<double>(xt::xarray<double>{{1, 2}, {3, 4}}, true);
    auto b = Tensor<double>(xt::xarray<double>{5, 6, 7}, true);
    auto none = Tensor<double>(xt::xarray<double>{0}, true);  // no rank has a gradient
    auto only1 = Tensor<float>(xt::xarray<float>{1}, true);    // float, gradient on rank 1 only
    a.set_grad(Tensor<double>(xt::xarray<double>{{1. + rank, 2}, {3, 4. * rank}}));
    b.set_grad(Tensor<double>(xt::xarray<double>{0.1 * rank, 1, -1}));
    if (rank == 1) only1.set_grad(Tensor<float>(xt::xarray<float>{3}));
    dist::allreduce_gradients(mpi(), std::vector<Tensor<double>>{a, b, none});
    dist::allreduce_gradients(mpi(), std::vector<Tensor<float>>{only1});
    CHECK(a.grad().value() == xt::xarray<double>{{1.5, 2}, {3, 2}});
    CHECK(b.grad().value() == xt::xarray<double>{0.05, 1, -1});
    CHECK_FALSE(none.grad().defined());
    CHECK(only1.grad().defined());
    if (only1.grad().defined()) CHECK(only1.grad().value()(0) == 1.5f);
  }

  TEST_CASE("broadcast_parameters: root's values everywhere, in place; a bad root fails on every rank") {
    Generator gen(100 + std::uint64_t(mpi().rank()));  // different weights on each rank
    nn::Linear<double> layer(3, 2, true, gen);
    const auto before = layer.parameters()[0];
    dist::broadcast_parameters(mpi(), layer, 1);
    CHECK(layer.parameters()[0].id() == before.id());  // same tensors, new values
    CHECK(same_bits_everywhere(flat(layer.parameters(), false)));
    Generator gen1(101);
    nn::Linear<double> rank1(3, 2, true, gen1);
    CHECK(flat(layer.parameters(), false) == flat(rank1.parameters(), false));
    CHECK_THROWS_WITH_AS(dist::broadcast_parameters(mpi(), layer, 2), doctest::Contains("root 2 is not a rank"),
                         Error);
  }

  TEST_CASE("check_same_parameters: a model that differs on one rank is the same error on every rank") {
    const int rank = mpi().rank();
    Generator gen(1);
    nn::LSTM<double> same({.input_size = 3, .hidden_size = 4}, gen);
    CHECK(collective_error([&] { dist::check_same_parameters(mpi(), same); }).empty());

    nn::LSTM<double> wider({.input_size = 3, .hidden_size = rank == 1 ? 5u : 4u}, gen);
    const std::string shape = collective_error([&] { dist::check_same_parameters(mpi(), wider); });
    CHECK(shape.find("models differ") != std::string::npos);
    CHECK(shape.find("'weight_ih_l0 float64 [20, 3]' on rank 1 but 'weight_ih_l0 float64 [16, 3]' on rank 0") !=
          std::string::npos);
    CHECK(same_bits_everywhere(std::vector<char>(shape.begin(), shape.end())));

    nn::LSTM<double> deeper({.input_size = 3, .hidden_size = 4, .num_layers = rank == 1 ? 2u : 1u}, gen);
    const std::string count = collective_error([&] { dist::check_same_parameters(mpi(), deeper); });
    CHECK(count.find("rank 1 has 8 parameters, rank 0 has 4") != std::string::npos);

    // dtypes: float32 on rank 1, float64 on rank 0
    std::string dtype;
    if (rank == 1)
      dtype = collective_error([&] {
        dist::check_same_parameters(mpi(), std::vector<std::pair<std::string, Tensor<float>>>{{"w", zeros<float>({2})}});
      });
    else
      dtype = collective_error([&] {
        dist::check_same_parameters(mpi(),
                                    std::vector<std::pair<std::string, Tensor<double>>>{{"w", zeros<double>({2})}});
      });
    CHECK(dtype.find("'w float32 [2]' on rank 1 but 'w float64 [2]' on rank 0") != std::string::npos);
  }

  TEST_CASE("agree: one rank's error stops every rank, naming it; the same error everywhere is just that error") {
    const int rank = mpi().rank();
    const std::string one = collective_error([&] {
      dist::agree_on(mpi(), [&] {
        if (rank == 1) throw Error("bad input here");
      });
    });
    CHECK(one == "rank 1 of 2: bad input here");
    const std::string all = collective_error([&] { dist::agree(mpi(), std::string("the same problem")); });
    CHECK(all == "the same problem");
    CHECK(collective_error([&] { dist::agree(mpi(), std::nullopt); }).empty());
  }

  TEST_CASE("shard_of / shard_rows: rank r takes rows [r·B/N, (r+1)·B/N); B not divisible by N is an error") {
    CHECK(dist::shard_of(8, 0, 2).begin == 0);
    CHECK(dist::shard_of(8, 1, 2).begin == 4);
    CHECK(dist::shard_of(8, 1, 2).end == 8);
    CHECK(dist::shard_of(9, 2, 3).size() == 3);
    CHECK_THROWS_WITH_AS(dist::shard_of(3, 0, 2), doctest::Contains("batch of 3 sequences cannot be split evenly over 2"),
                         Error);
    CHECK_THROWS_AS(dist::shard_of(4, 2, 2), Error);
    const xt::xarray<double> x = {{{1, 2}, {3, 4}, {5, 6}, {7, 8}}};  // [T=1, B=4, 2]
    CHECK(dist::shard_rows(x, 1, dist::shard_of(4, 1, 2)) == xt::xarray<double>{{{5, 6}, {7, 8}}});
    CHECK_THROWS_AS(dist::shard_rows(x, 3, dist::Shard{0, 1}), Error);
  }

  TEST_CASE("data-parallel training equals one process on the whole batch (LSTM + Linear, Adam, clipping)") {
    // Each rank trains twice from the same weights: alone on the whole batch of
    // 8, and as one of two ranks on its 4 sequences with the gradients averaged.
    const std::size_t T = 5, B = 8, I = 3, H = 4;
    Generator data(7);
    const auto x = randn<double>({T, B, I}, data), y = randn<double>({T, B, 1}, data);
    auto train = [&](bool parallel) {
      Generator gen(3);
      nn::LSTM<double> lstm({.input_size = I, .hidden_size = H}, gen);
      nn::Linear<double> head(H, 1, true, gen);
      auto params = lstm.parameters();
      for (auto& p : head.parameters()) params.push_back(p);
      optim::Adam<double> adam(params, {.lr = 0.05});
      const dist::Shard shard = parallel ? dist::shard_of(B, mpi()) : dist::Shard{0, B};
      const auto xs = dist::shard_batch(x, 1, shard), ys = dist::shard_batch(y, 1, shard);
      if (parallel) {
        dist::check_same_parameters(mpi(), lstm);
        dist::broadcast_parameters(mpi(), params);
      }
      for (int step = 0; step < 4; ++step) {
        adam.zero_grad();
        auto [out, h, c] = lstm.forward(xs);
        nn::mse_loss(head.forward(out), ys).backward();
        if (parallel) dist::allreduce_gradients(mpi(), params);
        optim::clip_grad_norm_(params, 0.5);
        adam.step();
      }
      return flat(params, false);
    };
    const auto alone = train(false), together = train(true);
    CHECK(same_bits_everywhere(together));
    double worst = 0;
    for (std::size_t i = 0; i < alone.size(); ++i)
      worst = std::max(worst, std::abs(together[i] - alone[i]) / std::max(std::abs(alone[i]), 1e-300));
    CHECK(worst < 1e-12);
    CHECK(alone != std::vector<double>(alone.size(), 0.0));
  }
}
