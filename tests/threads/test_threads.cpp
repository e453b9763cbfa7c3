// Thread safety (issue 14): threads that each build and train their own model
// get bitwise the results of the same runs one after the other. The models are
// built from the default generator, which is per thread (autograd/random.hpp),
// and each thread's live-node count covers its own tape only. CI also builds
// this file alone under ThreadSanitizer (scripts/test.sh, -DREWIND_TSAN=ON),
// with OpenBLAS single-threaded.
//
// What may be shared between threads: nothing mutable. Tensors, modules,
// optimizers and generators belong to one thread at a time; grad mode,
// anomaly mode, backward passes and the live-node counters are per thread;
// reading .npz files and writing different files is safe (each call owns its
// libzip handle). Two threads must not run ops on the same tensor's graph (a
// backward accumulates into shared gradients) or step one optimizer.
// Data-parallel threads (optim/data_parallel.hpp) therefore each hold their own
// copy of the model; the blocked products share the library's own pool.
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <rewind/optim/data_parallel.hpp>
#include <rewind/optim/shard.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

struct RunResult {
  std::vector<xt::xarray<double>> parameters;
  std::vector<double> losses;
  std::int64_t nodes_left = -1;  // live nodes after the run minus before it, on the running thread
};

// A small LSTM or GRU with a Linear head, built from the default generator
// seeded `seed`, trained `steps` steps with Adam and clipping (dropout between
// the layers draws from the default generator too).
RunResult train(bool lstm, std::uint64_t seed, std::size_t steps) {
  RunResult result;
  const std::int64_t nodes_before = detail::live_nodes();
  {
    manual_seed(seed);
    const nn::RecurrentOptions options{.input_size = 3, .hidden_size = 6, .num_layers = 2, .dropout = 0.2};
    std::unique_ptr<nn::Recurrent<double>> rnn;
    if (lstm)
      rnn = std::make_unique<nn::LSTM<double>>(options);
    else
      rnn = std::make_unique<nn::GRU<double>>(options);
    nn::Linear<double> head(6, 2);
    auto params = rnn->parameters();
    for (auto& p : head.parameters()) params.push_back(p);
    optim::Adam<double> adam(params, {.lr = 1e-2});
    const auto x = randn<double>({7, 4, 3}), y = randn<double>({7, 4, 2});
    for (std::size_t step = 0; step < steps; ++step) {
      adam.zero_grad();
      const auto loss = nn::mse_loss(head.forward(rnn->forward(x).output), y);
      loss.backward();
      optim::clip_grad_norm_(params, 1.0);
      adam.step();
      result.losses.push_back(loss.item());
    }
    for (const auto& p : params) result.parameters.push_back(p.value());
  }
  result.nodes_left = detail::live_nodes() - nodes_before;
  return result;
}

void check_identical(const RunResult& a, const RunResult& b) {
  REQUIRE(a.parameters.size() == b.parameters.size());
  for (std::size_t k = 0; k < a.parameters.size(); ++k) {
    INFO("parameter ", k);
    CHECK(a.parameters[k] == b.parameters[k]);  // bitwise: xtensor's == compares every element exactly
  }
  CHECK(a.losses == b.losses);
}

constexpr std::size_t kSteps = 20;

// Data-parallel training (optim/data_parallel.hpp): a GRU with a Linear head,
// built from Generator(3) `replicas` times (so all start equal), trained 4
// steps with Adam on a batch of 4 split into `replicas` shards. `threaded`:
// through DataParallel's threads; else the shards one after another on this
// thread, reduced with the functions rewind::dist uses (what N ranks compute).
struct Replica {
  explicit Replica(Generator& gen) : rnn({.input_size = 3, .hidden_size = 5}, gen), head(5, 2, true, gen) {}
  std::vector<Tensor<double>> parameters() const {
    auto params = rnn.parameters();
    for (auto& p : head.parameters()) params.push_back(p);
    return params;
  }
  nn::GRU<double> rnn;
  nn::Linear<double> head;
};

std::vector<xt::xarray<double>> train_data_parallel(std::size_t replicas, bool threaded) {
  std::vector<std::unique_ptr<Replica>> models;
  std::vector<std::vector<Tensor<double>>> params;
  for (std::size_t i = 0; i < replicas; ++i) {
    Generator gen(3);
    models.push_back(std::make_unique<Replica>(gen));
    params.push_back(models.back()->parameters());
  }
  Generator data(4);
  const auto x = randn<double>({6, 4, 3}, data), y = randn<double>({6, 4, 2}, data);
  auto shard_step = [&](std::size_t i) {
    const auto shard = optim::shard_of(4, int(i), int(replicas), "threads");
    Replica& m = *models[i];
    const auto loss = nn::mse_loss(m.head.forward(m.rnn.forward(optim::shard_batch(x, 1, shard)).output),
                                   optim::shard_batch(y, 1, shard));
    loss.backward();
    return loss.item();
  };
  optim::DataParallel<double> parallel(params);
  optim::Adam<double> adam(params[0], {.lr = 1e-2});
  for (int step = 0; step < 4; ++step) {
    if (threaded) {
      parallel.step(shard_step);
    } else {
      std::vector<double> sum;
      for (std::size_t i = 0; i < replicas; ++i) {
        shard_step(i);
        const auto packed = optim::pack_gradients(params[i]);
        if (i == 0) sum = packed;
        else for (std::size_t k = 0; k < sum.size(); ++k) sum[k] += packed[k];
        if (i > 0) for (auto& p : params[i]) p.zero_grad();
      }
      optim::set_mean_gradients(params[0], sum, replicas);
    }
    adam.step();
    adam.zero_grad();
    parallel.copy_parameters();
  }
  std::vector<xt::xarray<double>> values;
  for (const auto& p : params[0]) values.push_back(p.value());
  return values;
}

}  // namespace

TEST_SUITE("threads") {
  TEST_CASE("two threads training their own models give bitwise the sequential results") {
    const RunResult lstm_alone = train(true, 11, kSteps);
    const RunResult gru_alone = train(false, 12, kSteps);
    RunResult lstm_threaded, gru_threaded;
    std::thread first([&] { lstm_threaded = train(true, 11, kSteps); });
    std::thread second([&] { gru_threaded = train(false, 12, kSteps); });
    first.join();
    second.join();
    check_identical(lstm_threaded, lstm_alone);
    check_identical(gru_threaded, gru_alone);
    // Each thread's count saw its own tape come and go, untouched by the other's.
    CHECK(lstm_threaded.nodes_left == 0);
    CHECK(gru_threaded.nodes_left == 0);
    // The runs differ from each other (the comparison above is not of two empty things).
    CHECK(lstm_alone.losses != gru_alone.losses);
  }

  TEST_CASE("the same run on four threads at once gives four identical results") {
    const RunResult alone = train(true, 5, kSteps);
    std::vector<RunResult> results(4);
    std::vector<std::thread> threads;
    for (auto& r : results) threads.emplace_back([&r] { r = train(true, 5, kSteps); });
    for (auto& t : threads) t.join();
    for (const auto& r : results) check_identical(r, alone);
  }

  TEST_CASE("data-parallel threads: the bits of the same shards reduced in rank order, and the full batch to 1e-12") {
    const auto threaded = train_data_parallel(2, true);
    const auto in_turn = train_data_parallel(2, false);
    const auto whole = train_data_parallel(1, true);
    REQUIRE(threaded.size() == whole.size());
    bool any_difference = false;  // the shards' rounding differs from the whole batch's somewhere
    for (std::size_t k = 0; k < threaded.size(); ++k) {
      INFO("parameter ", k);
      CHECK(threaded[k] == in_turn[k]);
      CHECK(xt::allclose(threaded[k], whole[k], 1e-12, 0));
      any_difference = any_difference || threaded[k] != whole[k];
    }
    CHECK(any_difference);
  }

  TEST_CASE("data-parallel replicas must have the same parameters") {
    Generator gen(1);
    nn::Linear<double> a(3, 2, true, gen), b(3, 4, true, gen);
    CHECK_THROWS_WITH_AS(optim::DataParallel<double>({a.parameters(), b.parameters()}),
                         "DataParallel: parameter 0 is [4, 3] in replica 1 but [2, 3] in replica 0", Error);
    CHECK_THROWS_WITH_AS(optim::DataParallel<double>({a.parameters(), {a.parameters()[0]}}),
                         "DataParallel: replica 1 has 1 parameters, replica 0 has 2", Error);
    CHECK_THROWS_WITH_AS(optim::DataParallel<double>({}), "DataParallel: no replicas", Error);
  }

  TEST_CASE("a blocked product gives the same bits on 1 and 2 threads") {
    Generator gen(2);
    const auto a = randn<float>({320, 64}, gen), b = randn<float>({64, 600}, gen);  // 12M multiply-adds: blocked
    set_num_threads(1);
    const xt::xarray<float> one = matmul(a, b).value();
    set_num_threads(2);
    const xt::xarray<float> two = matmul(a, b).value();
    set_num_threads(1);
    CHECK(one == two);
  }

  TEST_CASE("each thread has its own default generator, seeded 0 at first use") {
    manual_seed(99);  // reseeds this thread's only
    std::vector<double> in_thread;
    std::thread t([&] {
      const auto drawn = rand<double>({3});
      in_thread.assign(drawn.value().begin(), drawn.value().end());
    });
    t.join();
    Generator fresh(0);
    const auto expected = rand<double>({3}, fresh);
    CHECK(in_thread == std::vector<double>(expected.value().begin(), expected.value().end()));
  }
}
